"""What the page and the terminal show of an item's disputes, and the feedback that is not a dispute.

:func:`dispute_views` lists an item's disputes (:class:`DisputeView`): each annotator's version
of the object with its RLE (or "did not draw it"), the fused candidate, the IoU between
versions and the resolution so far. :func:`feedback_by_annotator` groups the annotator-level
findings on supported objects (missed, extra, sloppy boundary, other class) per annotator:
feedback, not a reason for review. Both follow the review roles (see :mod:`qc.review`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from qc.errors import PermissionDeniedError
from qc.masks import RLE
from qc.review.queue import REVIEW_ROLES, as_utc, check_not_annotator
from qc.store import disputes as store
from qc.store import models as m
from qc.store import review as review_store
from qc.store.api import get_row
from qc.store.logins import person_names
from qc.store.segments import segments_by_id

__all__ = [
    "AnnotatorFeedback",
    "DisputeResolution",
    "DisputeVersion",
    "DisputeView",
    "dispute_views",
    "feedback_by_annotator",
]


@dataclass(frozen=True)
class DisputeVersion:
    """One annotator's version of a disputed object; ``rle`` ``None``: they did not draw it."""

    person_id: int
    annotator: str
    submission_id: int | None
    segment_id: int | None
    category: str | None
    rle: dict[str, Any] | None
    iou_to_fused: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class DisputeResolution:
    """How a dispute was resolved: ``kind``, the annotator taken or the class set, the note, who and when (ISO 8601)."""

    kind: str
    person: str | None
    person_id: int | None
    category: str | None
    category_id: int | None
    note: str
    reviewer: str | None
    at: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class DisputeView:
    """One dispute of an item: why, where (COCO bbox), every version, the fused candidate, the IoUs between versions."""

    id: int
    index: int
    kind: str
    reason: str
    category: str | None
    bbox: tuple[int, int, int, int]
    versions: tuple[DisputeVersion, ...]
    fused_rle: dict[str, Any] | None
    pairwise_iou: tuple[tuple[str, str, float], ...]
    resolution: DisputeResolution | None

    @property
    def drawn_by(self) -> tuple[str, ...]:
        """The annotators who drew the object."""
        return tuple(v.annotator for v in self.versions if v.rle is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "index": self.index,
            "kind": self.kind,
            "reason": self.reason,
            "category": self.category,
            "bbox": list(self.bbox),
            "versions": [v.to_dict() for v in self.versions],
            "fused_rle": self.fused_rle,
            "pairwise_iou": [list(p) for p in self.pairwise_iou],
            "resolution": None if self.resolution is None else self.resolution.to_dict(),
        }


@dataclass(frozen=True)
class AnnotatorFeedback:
    """The annotator-level findings of one annotator on an image: ``(kind, bbox, message)`` each."""

    person_id: int
    annotator: str
    findings: tuple[tuple[str, tuple[int, int, int, int] | None, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "annotator": self.annotator,
            "findings": [
                {"kind": k, "bbox": None if b is None else list(b), "message": t} for k, b, t in self.findings
            ],
        }


def dispute_views(session: Session, item_id: int, viewer_id: int) -> list[DisputeView]:
    """The disputes of a review item, by index, as ``viewer_id`` may see them.

    A reviewer or lead who annotated the image, and an annotator who did not, get
    :class:`~qc.errors.PermissionDeniedError` (so does anyone else).
    """
    item = get_row(session, m.ReviewItem, item_id)
    check_may_read(session, item, viewer_id)
    names = person_names(session)
    image = get_row(session, m.Image, item.image_id)
    classes = review_store.class_names(session, project_id=image.project_id)
    rows = store.item_disputes(session, item_id=item_id)
    wanted = [v["segment_id"] for row in rows for v in row.versions if v.get("segment_id") is not None]
    segments = segments_by_id(session, ids=wanted)
    return [_view(row, names, classes, {k: s.rle for k, s in segments.items()}) for row in rows]


def check_may_read(session: Session, item: m.ReviewItem, viewer_id: int) -> None:
    """The review roles for reading an item's disputes and versions (see :func:`dispute_views`)."""
    viewer = get_row(session, m.Person, viewer_id)
    if REVIEW_ROLES & set(viewer.roles):
        check_not_annotator(session, item, viewer_id)
        return
    if m.Role.ANNOTATOR.value in viewer.roles and review_store.has_annotated(
        session, person_id=viewer_id, image_id=item.image_id
    ):
        return
    raise PermissionDeniedError(
        f"{viewer.name!r} may not read the disputes of image {item.image_id}: only its annotators, and reviewers "
        "or leads who did not annotate it, may (ask a lead)",
        image_id=item.image_id,
    )


def _view(row: m.Dispute, names: Mapping[int, str], classes: Mapping[int, str], rles: Mapping[int, RLE]) -> DisputeView:
    versions = tuple(
        DisputeVersion(
            person_id=int(v["person_id"]),
            annotator=names.get(int(v["person_id"]), str(v["person_id"])),
            submission_id=v.get("submission_id"),
            segment_id=v.get("segment_id"),
            category=_class(classes, v.get("category_id")),
            rle=rles.get(v["segment_id"]) if v.get("segment_id") is not None else None,
            iou_to_fused=v.get("iou_to_fused"),
        )
        for v in row.versions
    )
    fused = None if row.fused_counts is None else {"size": [row.height, row.width], "counts": row.fused_counts}
    pairwise = tuple(
        (names.get(int(a), str(a)), names.get(int(b), str(b)), float("nan") if iou is None else float(iou))
        for a, b, iou in row.pairwise
    )
    return DisputeView(
        id=int(row.id or 0),
        index=row.number,
        kind=row.kind,
        reason=row.reason,
        category=_class(classes, row.category_id),
        bbox=(row.bbox_x, row.bbox_y, row.bbox_w, row.bbox_h),
        versions=versions,
        fused_rle=fused,
        pairwise_iou=pairwise,
        resolution=_resolution(row, names, classes),
    )


def _resolution(row: m.Dispute, names: Mapping[int, str], classes: Mapping[int, str]) -> DisputeResolution | None:
    if row.resolution is None:
        return None
    person = row.resolution_person_id
    return DisputeResolution(
        kind=row.resolution,
        person=None if person is None else names.get(person, str(person)),
        person_id=person,
        category=_class(classes, row.resolution_category_id),
        category_id=row.resolution_category_id,
        note=row.resolution_note,
        reviewer=None if row.resolved_by is None else names.get(row.resolved_by),
        at=None if row.resolved_at is None else as_utc(row.resolved_at).isoformat(),
    )


def _class(classes: Mapping[int, str], category_id: int | None) -> str | None:
    return None if category_id is None else classes.get(category_id, str(category_id))


FEEDBACK_KINDS = ("missed", "extra", "outlier_shape", "class_outlier", "gold_mismatch")
"""The annotator-level findings: feedback for one annotator, never a reason for review."""


def feedback_by_annotator(session: Session, item_id: int, viewer_id: int) -> list[AnnotatorFeedback]:
    """The annotator-level findings on the item's image, grouped per annotator (person-id order).

    An annotator viewer sees only their own feedback; reviewers and leads as :func:`dispute_views`.
    """
    item = get_row(session, m.ReviewItem, item_id)
    check_may_read(session, item, viewer_id)
    viewer = get_row(session, m.Person, viewer_id)
    only = None if REVIEW_ROLES & set(viewer.roles) else viewer_id
    names = person_names(session)
    grouped: dict[int, list[tuple[str, tuple[int, int, int, int] | None, str]]] = {}
    for flag in review_store.image_flags(session, round_id=item.round_id, image_id=item.image_id):
        if flag.level != "annotator":
            continue
        box = None if flag.bbox_x is None else (flag.bbox_x, flag.bbox_y or 0, flag.bbox_w or 0, flag.bbox_h or 0)
        for person in flag.annotators:
            if only is None or person == only:
                grouped.setdefault(int(person), []).append((flag.kind, box, flag.message))
    return [AnnotatorFeedback(p, names.get(p, str(p)), tuple(grouped[p])) for p in sorted(grouped)]
