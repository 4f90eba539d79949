"""Export: a round's accepted consensus as COCO (or COCO panoptic), and work sent back to an annotation tool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session

from qc.core import ImageInfo, Segment, Task, Verdict
from qc.errors import InvalidOptionError, NotFoundError
from qc.formats import coco, cvat, labelstudio
from qc.formats import panoptic as panoptic_format
from qc.formats._regions import ReworkRegion
from qc.formats.overlaps import without_overlaps
from qc.store import models as m
from qc.store.api import get_row, list_events
from qc.store.disputes import assignment_regions
from qc.store.ingest import latest_submissions
from qc.store.results import list_image_results
from qc.store.rounds import images_by_id, list_people, person_named, rework_decisions, round_categories
from qc.store.segments import ProvenancedSegment, consensus_provenance, consensus_segments, load_segments_of

__all__ = ["EXPORT_FORMATS", "export_consensus", "export_for_tool"]

EXPORT_FORMATS = ("coco", "cvat-xml", "labelstudio")
"""The files :func:`export_for_tool` writes."""


def export_consensus(session: Session, *, round_id: int, image_ids: Sequence[int], path: str | Path) -> int:
    """Write the stored consensus of ``image_ids``; returns the image count.

    Instance and semantic projects get a COCO instances file; panoptic projects a COCO
    panoptic JSON at ``path`` with its PNGs in a folder of the same name (``path`` without
    the suffix), where a pixel two consensus segments both claim goes to the first (by id).
    """
    round_row = get_row(session, m.Round, round_id)
    project = get_row(session, m.Project, round_row.project_id)
    infos = images_by_id(session, image_ids=image_ids)
    panoptic = project.task_type == Task.PANOPTIC.value
    segments: list[tuple[Any, Segment]] = []
    attributes: dict[Any, dict[str, Any]] = {}
    names = {int(p.id or 0): p.name for p in list_people(session)}
    for info in infos:
        if panoptic:
            stored = without_overlaps(consensus_segments(session, round_id=round_id, image_id=info.id))
            segments += [(info.id, Segment(n, s.category_id, s.rle)) for n, s in enumerate(stored, start=1)]
            continue
        for number, row in enumerate(consensus_provenance(session, round_id=round_id, image_id=info.id), start=1):
            segment_id = info.id * 10_000 + number
            segments.append((info.id, Segment(segment_id, row.segment.category_id, row.segment.rle)))
            attributes[segment_id] = provenance_attributes(row, names)
    categories = round_categories(session, round_id=round_id)
    if panoptic:
        target = Path(path)
        panoptic_format.write_panoptic(target, target.with_suffix(""), infos, segments, categories)
    else:
        coco.write_instances(path, infos, segments, categories, attributes=attributes)
    return len(infos)


def provenance_attributes(row: ProvenancedSegment, names: Mapping[int, str]) -> dict[str, Any]:
    """The ``attributes`` of an accepted segment: where it came from, whose versions, who chose it, which dispute."""
    return {
        "source": row.source,
        "supporters": None if row.supporters is None else [names.get(p, str(p)) for p in row.supporters],
        "chosen_by": None if row.chosen_by is None else names.get(row.chosen_by, str(row.chosen_by)),
        "dispute": row.dispute_id,
    }


def export_for_tool(
    session: Session, *, round_id: int, path: str | Path, format: str, annotator: str | None = None
) -> int:
    """Write a round's work back for an annotation tool; returns the image count.

    The images are the accepted ones plus those a reviewer sent to rework. Each holds the
    stored consensus, or with ``annotator`` that person's latest submission, as
    pre-annotations; a rework image carries the reviewer's words as a comment (CVAT: a
    ``qc_rework`` tag attribute; Label Studio: ``data.qc_feedback``; COCO: none): for the
    team, the note and every annotator's feedback by name; with ``annotator``, only the
    feedback addressed to that person (never the note for the lead, nor another annotator's).
    ``format`` is one of :data:`EXPORT_FORMATS` (:class:`InvalidOptionError` otherwise).
    """
    if format not in EXPORT_FORMATS:
        raise InvalidOptionError("format", EXPORT_FORMATS, format, hint="Choose the file your annotation tool imports")
    get_row(session, m.Round, round_id)
    results = list_image_results(session, round_id=round_id)
    accepted = {r.image_id for r in results if r.verdict == Verdict.ACCEPTED.value}
    person = None if annotator is None else _person(session, annotator)
    comments = _rework_comments(session, round_id, None if person is None else int(person.id or 0))
    regions = _rework_regions(session, round_id, None if person is None else int(person.id or 0))
    for image_id, parts in regions.items():
        comments.setdefault(image_id, "; ".join(f"object {i}: {r.note}" for i, r in enumerate(parts, start=1)))
    infos = images_by_id(session, image_ids=sorted(accepted | set(comments)))
    segments = _export_segments(session, round_id, infos, person)
    categories = round_categories(session, round_id=round_id)
    if format == "coco":
        coco.write_instances(path, infos, segments, categories)
    elif format == "cvat-xml":
        cvat.write_cvat_xml(path, infos, segments, categories, comments=comments, regions=regions)
    else:
        labelstudio.write_labelstudio(path, infos, segments, categories, comments=comments, regions=regions)
    return len(infos)


def _rework_regions(session: Session, round_id: int, annotator_id: int | None) -> dict[int, list[ReworkRegion]]:
    """The objects sent back (per-object rework) of this round: on its own assignments (a rework round) and on
    those of the rework rounds opened from it; with ``annotator_id``, only that annotator's."""
    sources = [round_id] + [
        int(e.object_id)
        for e in list_events(session, verb="rework_round")
        if e.payload.get("source_round") == round_id and e.payload.get("regions") and e.object_id is not None
    ]
    out: dict[int, list[ReworkRegion]] = {}
    for source in dict.fromkeys(sources):
        for image_id, person, parts in assignment_regions(session, round_id=source):
            if not parts or (annotator_id is not None and person != annotator_id):
                continue
            known = out.setdefault(image_id, [])
            for part in parts:
                x, y, w, h = (int(v) for v in part["bbox"])
                region = ReworkRegion((x, y, w, h), part.get("category_id"), part.get("note", ""))
                if region not in known:
                    known.append(region)
    return out


def _person(session: Session, name: str) -> m.Person:
    person = person_named(session, name=name)
    if person is None:
        raise NotFoundError(f"no person named {name!r}; check the name with qc round status", field="annotator")
    return person


def _export_segments(
    session: Session, round_id: int, infos: Sequence[ImageInfo], person: m.Person | None
) -> list[tuple[Any, Segment]]:
    out: list[tuple[Any, Segment]] = []
    if person is None:
        for info in infos:
            stored = consensus_segments(session, round_id=round_id, image_id=info.id)
            out += [(info.id, Segment(info.id * 10_000 + n, s.category_id, s.rle)) for n, s in enumerate(stored, 1)]
        return out
    refs = latest_submissions(session, round_id=round_id, image_ids=[i.id for i in infos])
    wanted = {r.submission_id: r.image_id for r in refs if r.annotator_id == person.id}
    for submission_id, segs in load_segments_of(session, submission_ids=list(wanted)).items():
        out += [(wanted[submission_id], s) for s in segs]
    return out


def _rework_comments(session: Session, round_id: int, annotator_id: int | None) -> dict[int, str]:
    """The comment per image of the round's rework decisions.

    For the team (``annotator_id`` ``None``): the note, then each feedback entry by name. For
    one annotator: only the feedback addressed to them ("rework requested" when there is none).
    """
    names = {str(p.id): p.name for p in list_people(session)}
    out: dict[int, str] = {}
    for decision in rework_decisions(session, round_id=round_id):
        if annotator_id is not None:
            parts = [text for key, text in decision.feedback.items() if key == str(annotator_id) and text]
        else:
            parts = [decision.note] if decision.note else []
            parts += [f"{names.get(k, k)}: {v}" for k, v in decision.feedback.items()]
        out[decision.image_id] = "; ".join(parts) or "rework requested"
    return out
