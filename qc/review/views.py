"""What the command line and the web page show of the review queue: frozen views with ``to_dict()``.

:func:`item_view` is everything a reviewer needs to decide one item, :func:`queue_rows` the
queue with its filters, :func:`feedback_for` the rework feedback one annotator received and
:func:`item_layers` the masks the page paints as overlays. ``to_dict()`` gives the plain data
(lists, not tuples) for JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session

from qc.errors import place
from qc.masks import RLE
from qc.review.queue import as_utc, item_submissions
from qc.store import logins
from qc.store import models as m
from qc.store import review as store
from qc.store.api import get_row, list_events
from qc.store.segments import consensus_segments, load_segments_of
from qc.store.submissions import current_rejections

__all__ = [
    "AnnotatorRef",
    "DecisionView",
    "FeedbackRow",
    "FlagView",
    "ImageRef",
    "ItemLayers",
    "ItemState",
    "ItemView",
    "QueueRow",
    "ReopenView",
    "feedback_for",
    "item_layers",
    "item_view",
    "queue_rows",
]


@dataclass(frozen=True)
class ItemState:
    """A review item's state; ``claimed_by`` is the holder's name, ``lease_until`` ISO 8601 (UTC)."""

    id: int
    round_id: int
    status: str
    version: int
    claimed_by: str | None
    claimed_by_id: int | None
    lease_until: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImageRef:
    """The image under review."""

    id: int
    file_name: str
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnnotatorRef:
    """An annotator of the image, numbered 1.. in person-id order; ``submission_id`` ``None`` when undelivered.

    ``rejected`` counts the annotations (or the image) their latest delivery of this image lost
    to rejections, ``rejections`` quotes the first few with their place: such a delivery is
    incomplete and waits for a complete one.
    """

    number: int
    id: int
    name: str
    submission_id: int | None
    rejected: int = 0
    rejections: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rejections": list(self.rejections)}


@dataclass(frozen=True)
class FlagView:
    """A flag of the image: ``bbox`` is COCO ``(x, y, w, h)`` or ``None``; ``annotators`` are names."""

    id: int
    kind: str
    level: str
    severity: float
    message: str
    class_name: str | None
    bbox: tuple[int, int, int, int] | None
    annotators: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "level": self.level,
            "severity": self.severity,
            "message": self.message,
            "class": self.class_name,
            "bbox": None if self.bbox is None else list(self.bbox),
            "annotators": list(self.annotators),
        }


@dataclass(frozen=True)
class DecisionView:
    """An earlier decision on the item; ``feedback`` maps annotator names to texts."""

    id: int
    kind: str
    reviewer: str | None
    note: str
    feedback: Mapping[str, str]
    submission_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "feedback": dict(self.feedback)}


@dataclass(frozen=True)
class ReopenView:
    """A re-opening of the item: when (ISO 8601, UTC), new submissions by annotator name, the decision superseded."""

    at: str
    new_submissions: Mapping[str, int]
    superseded_decisions: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "new_submissions": dict(self.new_submissions),
            "superseded_decisions": list(self.superseded_decisions),
        }


@dataclass(frozen=True)
class ItemView:
    """What a reviewer needs to decide an item: image, flags with boxes, annotators and their submissions."""

    item: ItemState
    image: ImageRef
    annotators: tuple[AnnotatorRef, ...]
    flags: tuple[FlagView, ...]
    decisions: tuple[DecisionView, ...]
    reopened: tuple[ReopenView, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.to_dict(),
            "image": self.image.to_dict(),
            "annotators": [a.to_dict() for a in self.annotators],
            "flags": [f.to_dict() for f in self.flags],
            "decisions": [d.to_dict() for d in self.decisions],
            "reopened": [r.to_dict() for r in self.reopened],
        }


@dataclass(frozen=True)
class QueueRow:
    """One review item in the queue with its flag kinds, flagged classes and annotator ids."""

    id: int
    round_id: int
    image_id: int
    file_name: str
    status: str
    claimed_by: int | None
    version: int
    flag_kinds: tuple[str, ...]
    categories: tuple[int, ...]
    annotators: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        plain = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in plain.items()}


@dataclass(frozen=True)
class FeedbackRow:
    """Rework feedback addressed to one annotator."""

    decision_id: int
    round_id: int
    file_name: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ItemLayers:
    """The masks of an item's image: one tuple per annotator of :func:`item_annotators` (same order, so
    ``annotators[N - 1]`` is annotator number N of :func:`item_view`; empty for one who has not delivered), and
    the consensus."""

    height: int
    width: int
    annotators: tuple[tuple[RLE, ...], ...]
    consensus: tuple[RLE, ...]
    delivered: tuple[bool, ...]
    """Per annotator: did they deliver (an empty tuple of masks may be an empty delivery)."""


def item_annotators(session: Session, item: m.ReviewItem) -> list[int]:
    """The ONE ordered list of an item's annotators (person ids of those assigned or who delivered, by id): their
    numbers 1.. on the page (legend, overlays, crops, keys 1-9) and in ``qc review next`` are positions in it."""
    assigned = set(store.assigned_annotators(session, round_id=item.round_id, image_id=item.image_id))
    return sorted(assigned | set(item_submissions(session, item)))


def item_view(session: Session, item_id: int) -> ItemView:
    """What a reviewer needs to decide an item: image, flags with boxes, annotators and their submissions.

    ``annotators`` are numbered 1.. in person-id order (the web page's keys 1-9 and the CLI's
    ``--accept-submission N`` use the same number).
    """
    item = get_row(session, m.ReviewItem, item_id)
    image = get_row(session, m.Image, item.image_id)
    names = logins.person_names(session)
    classes = store.class_names(session, project_id=image.project_id)
    subs = item_submissions(session, item)
    flags = store.image_flags(session, round_id=item.round_id, image_id=item.image_id)
    lost: dict[int, list[str]] = {}
    for ref in current_rejections(session, round_id=item.round_id, image_ids=[item.image_id]):
        where = place(None, None, ref.annotation_ref, ref.field)
        lost.setdefault(ref.annotator_id, []).append(f"{where}: {ref.message}" if where else ref.message)
    return ItemView(
        item=_state(item, names),
        image=ImageRef(int(image.id or 0), image.file_name, image.width, image.height),
        annotators=tuple(
            AnnotatorRef(number, a, names.get(a, str(a)), subs.get(a), len(lost.get(a, [])), tuple(lost.get(a, [])[:3]))
            for number, a in enumerate(item_annotators(session, item), start=1)
        ),
        flags=tuple(_flag(flag, names, classes) for flag in flags),
        decisions=tuple(_decision(d, names) for d in store.item_decisions(session, item_id=item_id)),
        reopened=tuple(
            _reopening(e) for e in list_events(session, verb="reopen", object_type="review_item", object_id=item_id)
        ),
    )


def _reopening(event: m.Event) -> ReopenView:
    payload = event.payload
    superseded = tuple(int(d) for d in payload.get("superseded_decisions", []))
    return ReopenView(as_utc(event.at).isoformat(), dict(payload.get("new_submissions", {})), superseded)


def _state(item: m.ReviewItem, names: Mapping[int, str]) -> ItemState:
    holder = names.get(item.claimed_by) if item.claimed_by else None
    lease = as_utc(item.lease_until).isoformat() if item.lease_until else None
    return ItemState(int(item.id or 0), item.round_id, item.status, item.version, holder, item.claimed_by, lease)


def _flag(flag: m.Flag, names: Mapping[int, str], classes: Mapping[int, str]) -> FlagView:
    x, y, w, h = flag.bbox_x, flag.bbox_y, flag.bbox_w, flag.bbox_h
    bbox = (x, y, w, h) if x is not None and y is not None and w is not None and h is not None else None
    return FlagView(
        id=int(flag.id or 0),
        kind=flag.kind,
        level=flag.level,
        severity=flag.severity,
        message=flag.message,
        class_name=classes.get(flag.category_id) if flag.category_id is not None else None,
        bbox=bbox,
        annotators=tuple(names.get(a, str(a)) for a in flag.annotators),
    )


def _decision(decision: m.Decision, names: Mapping[int, str]) -> DecisionView:
    feedback = {names.get(int(k), k): v for k, v in (decision.feedback or {}).items()}
    reviewer = names.get(decision.reviewer_id)
    return DecisionView(
        int(decision.id or 0), decision.kind, reviewer, decision.note, feedback, decision.target_submission_id
    )


def queue_rows(
    session: Session,
    *,
    flag_kind: str | None = None,
    category_id: int | None = None,
    annotator_id: int | None = None,
    status: str | None = None,
    claimed_by: int | None = None,
) -> list[QueueRow]:
    """Review items with their flag kinds, classes and annotators, filtered; ordered by id."""
    rows = store.queue_items(session, status=status, claimed_by=claimed_by)
    images = [item.image_id for item, _ in rows]
    flags: dict[tuple[int, int], list[m.Flag]] = {}
    for flag in store.flags_of_images(session, image_ids=images):
        flags.setdefault((flag.round_id, flag.image_id), []).append(flag)
    assigned: dict[tuple[int, int], set[int]] = {}
    for round_id, image_id, person in store.assignments_of_images(session, image_ids=images):
        assigned.setdefault((round_id, image_id), set()).add(person)
    out = []
    for item, file_name in rows:
        key = (item.round_id, item.image_id)
        mine, people = flags.get(key, []), assigned.get(key, set())
        if flag_kind and not any(f.kind == flag_kind for f in mine):
            continue
        if category_id is not None and not any(f.category_id == category_id for f in mine):
            continue
        if annotator_id is not None and annotator_id not in people:
            continue
        out.append(_queue_row(item, file_name, mine, people))
    return out


def _queue_row(item: m.ReviewItem, file_name: str, flags: list[m.Flag], people: set[int]) -> QueueRow:
    kinds = tuple(sorted({f.kind for f in flags}))
    categories = tuple(sorted({f.category_id for f in flags if f.category_id is not None}))
    return QueueRow(
        id=int(item.id or 0),
        round_id=item.round_id,
        image_id=item.image_id,
        file_name=file_name,
        status=item.status,
        claimed_by=item.claimed_by,
        version=item.version,
        flag_kinds=kinds,
        categories=categories,
        annotators=tuple(sorted(people)),
    )


def feedback_for(session: Session, *, annotator_id: int) -> list[FeedbackRow]:
    """The rework feedback addressed to one annotator, newest first."""
    key = str(annotator_id)
    return [
        FeedbackRow(int(decision.id or 0), round_id, file_name, (decision.feedback or {})[key])
        for decision, round_id, file_name in store.rework_decisions(session)
        if key in (decision.feedback or {})
    ]


def item_layers(session: Session, item_id: int) -> ItemLayers:
    """The masks the review page paints for an item (the annotators' as :func:`item_annotators` orders them)."""
    item = get_row(session, m.ReviewItem, item_id)
    image = get_row(session, m.Image, item.image_id)
    subs, people = item_submissions(session, item), item_annotators(session, item)
    segments = load_segments_of(session, submission_ids=list(subs.values()))
    consensus = consensus_segments(session, round_id=item.round_id, image_id=item.image_id)
    return ItemLayers(
        height=image.height,
        width=image.width,
        annotators=tuple(tuple(s.rle for s in segments[subs[a]]) if a in subs else () for a in people),
        delivered=tuple(a in subs for a in people),
        consensus=tuple(s.rle for s in consensus),
    )
