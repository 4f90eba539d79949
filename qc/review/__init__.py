"""The review queue: claim a flagged image with a lease, decide it once, record it in the audit trail.

Review items are queued by :func:`qc.rounds.close_round` (``verdict == "review"``). A
reviewer :func:`claim` s the next item; the item is theirs until ``lease_until``, after which
it returns to the queue. Every claim and decision bumps the item's ``version``, and a
decision names the version it was made on, so a stale decision (another claim won, the
lease ran out, the item was decided already) is a :class:`~qc.errors.ConflictError`, never a
silent overwrite. Exactly-once under concurrency: PostgreSQL picks the candidate with
``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite (one writer at a time) takes it with a
conditional ``UPDATE ... WHERE id = ? AND version = ? AND (pending OR lease expired)`` and
checks the row count. A reviewer never gets, nor may decide, an image they annotated.

Decisions and what they store (the record stays in ``decision`` + ``event``; the image's
``image_result`` says what happened so that exports pick it up):

- ``accept_submission``: the image's ``consensus_segment`` rows are replaced by that
  submission's segments (``method = "submission:<id>"``); the verdict becomes ``accepted``.
- ``accept_consensus``: the stored consensus is kept; the verdict becomes ``accepted``.
- ``rework``: feedback per annotator (``{person id: text}``); the image goes to a new rework
  round (the helper :func:`qc.rounds.close_round` uses); the verdict stays ``review``.
- ``escalate``: to a lead, with a note (guideline unclear); the item's status becomes
  ``escalated`` and only a lead can claim it again.

In each case ``image_result.summary["review"]`` holds ``{decision_id, kind, reviewer_id,
submission_id}`` of the latest decision.

A finished review starts the close of its round (no flow waits for people): after a
decision is committed, the caller (web page, ``qc review decide``) calls
:func:`on_round_reviewed` with a callback; when the item's round has no open review item
left (pending, claimed or escalated), the callback gets the round id. The callback comes
from outside ``qc`` (``flows.triggers.close_reviewed_round``: a Prefect deployment run when
a server is configured, else ``close_round`` in-process), so this module stays free of Prefect.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from qc.core import Verdict
from qc.errors import ConflictError, NotFoundError, PermissionDeniedError, StoreError
from qc.store import db
from qc.store import models as m
from qc.store.api import get_row, record_event

__all__ = [
    "Claim",
    "DecisionResult",
    "annotated_by",
    "claim",
    "decide",
    "feedback_for",
    "hash_token",
    "issue_token",
    "item_submissions",
    "item_view",
    "on_round_reviewed",
    "open_review_items",
    "person_for_token",
    "queue_rows",
    "reassign",
]

log = logging.getLogger(__name__)

RoundReviewed = Callable[[int], object]
"""Called with a round id when the round's last open review item was decided."""

OPEN_STATUSES = (m.ReviewStatus.PENDING.value, m.ReviewStatus.CLAIMED.value, m.ReviewStatus.ESCALATED.value)

REVIEW_ROLES = frozenset({m.Role.REVIEWER.value, m.Role.LEAD.value})


@dataclass(frozen=True)
class Claim:
    """A review item held by ``reviewer_id`` until ``lease_until``; decide with this ``version``."""

    item_id: int
    round_id: int
    image_id: int
    reviewer_id: int
    version: int
    lease_until: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "round_id": self.round_id,
            "image_id": self.image_id,
            "reviewer_id": self.reviewer_id,
            "version": self.version,
            "lease_until": self.lease_until.isoformat(),
        }


@dataclass(frozen=True)
class DecisionResult:
    """A stored decision; ``rework_round_id`` is set when a rework decision opened a round."""

    decision_id: int
    item_id: int
    kind: str
    status: str
    version: int
    rework_round_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


# --- tokens ------------------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """SHA-256 of a login token (tokens are 32 random bytes, so no salt is needed to resist guessing).

    >>> hash_token("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, *, person_id: int) -> str:
    """A new login token for a person (replacing any earlier one); only its hash is stored."""
    person = get_row(session, m.Person, person_id)
    token = secrets.token_urlsafe(32)
    person.token_hash = hash_token(token)
    session.add(person)
    record_event(session, verb="issue_token", object_type="person", object_id=person_id)
    session.flush()
    return token


def person_for_token(session: Session, token: str) -> m.Person | None:
    """The person whose token this is, or ``None`` (compared by hash; the hash column is unique)."""
    if not token:
        return None
    return session.scalars(select(m.Person).where(m.Person.token_hash == hash_token(token))).first()


# --- claim -------------------------------------------------------------------------------------------------


def annotated_by(person_id: int) -> Any:
    """A subquery of the image ids ``person_id`` was assigned to annotate (in any round)."""
    return select(m.Assignment.image_id).where(m.Assignment.annotator_id == person_id)


def claim(
    session: Session,
    *,
    reviewer_id: int,
    lease_minutes: float = 15,
    now: datetime | None = None,
    include_escalated: bool | None = None,
) -> Claim | None:
    """The next review item for ``reviewer_id`` with a lease, or ``None`` when the queue is empty.

    A live claim the reviewer holds already is handed back (with a renewed lease). Items of
    images the reviewer annotated are skipped. Escalated items are claimable by leads only
    (``include_escalated`` defaults to whether the person is a lead).
    """
    reviewer = _reviewer(session, reviewer_id)
    at = _now(now)
    lease = at + timedelta(minutes=lease_minutes)
    escalated = m.Role.LEAD.value in reviewer.roles if include_escalated is None else include_escalated
    held = session.scalars(
        select(m.ReviewItem).where(
            col(m.ReviewItem.claimed_by) == reviewer_id,
            col(m.ReviewItem.status) == m.ReviewStatus.CLAIMED.value,
            col(m.ReviewItem.lease_until) > at,
        )
    ).first()
    if held is not None:
        return _take(session, held, reviewer_id=reviewer_id, at=at, lease=lease)
    postgres = session.get_bind().dialect.name == "postgresql"
    for _attempt in range(100):
        query = (
            select(m.ReviewItem)
            .where(_claimable(at, escalated), ~col(m.ReviewItem.image_id).in_(annotated_by(reviewer_id)))
            .order_by(col(m.ReviewItem.id))
            .limit(1)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True)
        item = session.scalars(query).first()
        if item is None:
            return None
        taken = _take(session, item, reviewer_id=reviewer_id, at=at, lease=lease, escalated=escalated)
        if taken is not None:
            return taken
    raise ConflictError("could not claim a review item after 100 attempts (heavy contention); try again")


def _claimable(at: datetime, escalated: bool) -> ColumnElement[bool]:
    status = col(m.ReviewItem.status)
    states = [status == m.ReviewStatus.PENDING.value]
    states.append((status == m.ReviewStatus.CLAIMED.value) & (col(m.ReviewItem.lease_until) <= at))
    if escalated:
        states.append(status == m.ReviewStatus.ESCALATED.value)
    return or_(*states)


def _take(
    session: Session,
    item: m.ReviewItem,
    *,
    reviewer_id: int,
    at: datetime,
    lease: datetime,
    escalated: bool = False,
) -> Claim | None:
    """Conditional update on (id, version): ``None`` when another transaction changed the item first."""
    item_id, version = _id(item), item.version
    result = session.execute(
        update(m.ReviewItem)
        .where(col(m.ReviewItem.id) == item_id, col(m.ReviewItem.version) == version)
        .values(
            status=m.ReviewStatus.CLAIMED.value,
            claimed_by=reviewer_id,
            lease_until=lease,
            version=version + 1,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        session.expire(item)
        return None
    session.expire(item)
    record_event(
        session,
        verb="claim",
        object_type="review_item",
        object_id=item_id,
        actor_id=reviewer_id,
        payload={"version": version + 1, "lease_until": lease.isoformat()},
    )
    return Claim(item_id, item.round_id, item.image_id, reviewer_id, version + 1, lease)


def reassign(
    session: Session,
    item_id: int,
    *,
    lead_id: int,
    to_person_id: int,
    lease_minutes: float = 15,
    now: datetime | None = None,
) -> Claim:
    """A lead hands an undecided item to another reviewer (who must not have annotated the image)."""
    lead = get_row(session, m.Person, lead_id)
    if m.Role.LEAD.value not in lead.roles:
        raise PermissionDeniedError(f"{lead.name!r} is not a lead; only leads reassign review items", field="roles")
    _reviewer(session, to_person_id)
    item = get_row(session, m.ReviewItem, item_id)
    if item.status == m.ReviewStatus.DECIDED.value:
        raise ConflictError(f"review item {item_id} is decided already; nothing to reassign")
    _check_not_annotator(session, item, to_person_id)
    at = _now(now)
    taken = _take(session, item, reviewer_id=to_person_id, at=at, lease=at + timedelta(minutes=lease_minutes))
    if taken is None:
        raise ConflictError(f"review item {item_id} changed while it was being reassigned; reload and try again")
    record_event(session, verb="reassign", object_type="review_item", object_id=item_id, actor_id=lead_id,
                 payload={"to": to_person_id})  # fmt: skip
    return taken


# --- decide ------------------------------------------------------------------------------------------------


def decide(
    session: Session,
    item_id: int,
    *,
    reviewer_id: int,
    version: int,
    kind: str,
    submission_id: int | None = None,
    feedback: Mapping[int, str] | None = None,
    note: str = "",
    now: datetime | None = None,
) -> DecisionResult:
    """Resolve a claimed item (see the module docstring for what each ``kind`` stores).

    ``version`` is the one :func:`claim` returned. Raises :class:`ConflictError` when the item
    changed since (re-claimed, lease expired, decided), :class:`PermissionDeniedError` when
    the reviewer annotated the image or lacks the role, :class:`StoreError` for bad arguments.
    """
    _reviewer(session, reviewer_id)
    item = get_row(session, m.ReviewItem, item_id)
    _check_not_annotator(session, item, reviewer_id)
    choice = _check_kind(session, item, kind=kind, submission_id=submission_id, feedback=feedback, note=note)
    at = _now(now)
    status = m.ReviewStatus.ESCALATED if choice == m.DecisionKind.ESCALATE else m.ReviewStatus.DECIDED
    result = session.execute(
        update(m.ReviewItem)
        .where(
            col(m.ReviewItem.id) == item_id,
            col(m.ReviewItem.version) == version,
            col(m.ReviewItem.status) == m.ReviewStatus.CLAIMED.value,
            col(m.ReviewItem.claimed_by) == reviewer_id,
            col(m.ReviewItem.lease_until) > at,
        )
        .values(status=status.value, version=version + 1, updated_at=at, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        session.expire(item)
        raise ConflictError(_stale_message(session, item_id, reviewer_id=reviewer_id, version=version, at=at))
    session.expire(item)
    return _store_decision(session, item, choice, reviewer_id, version + 1, submission_id, feedback, note)


def _store_decision(
    session: Session,
    item: m.ReviewItem,
    kind: m.DecisionKind,
    reviewer_id: int,
    version: int,
    submission_id: int | None,
    feedback: Mapping[int, str] | None,
    note: str,
) -> DecisionResult:
    texts = {str(k): v for k, v in (feedback or {}).items()} or None
    row = m.Decision(review_item_id=_id(item), reviewer_id=reviewer_id, kind=kind.value,
                     target_submission_id=submission_id, note=note, feedback=texts)  # fmt: skip
    session.add(row)
    session.flush()
    decision_id = _id(row)
    if kind == m.DecisionKind.ACCEPT_SUBMISSION and submission_id is not None:
        _label_from_submission(session, item, submission_id)
    accepted = kind in (m.DecisionKind.ACCEPT_SUBMISSION, m.DecisionKind.ACCEPT_CONSENSUS)
    _mark_result(session, item, {"decision_id": decision_id, "kind": kind.value, "reviewer_id": reviewer_id,
                                 "submission_id": submission_id}, accepted=accepted)  # fmt: skip
    rework_round = None
    if kind == m.DecisionKind.REWORK:
        from qc.rounds import open_rework_round  # imported here to keep qc.review light

        rework_round = open_rework_round(session, get_row(session, m.Round, item.round_id))
    record_event(
        session,
        verb="decide",
        object_type="review_item",
        object_id=item.id,
        actor_id=reviewer_id,
        payload={"decision_id": decision_id, "kind": kind.value, "image_id": item.image_id,
                 "round_id": item.round_id, "submission_id": submission_id, "rework_round_id": rework_round},
    )  # fmt: skip
    status = m.ReviewStatus.ESCALATED if kind == m.DecisionKind.ESCALATE else m.ReviewStatus.DECIDED
    return DecisionResult(decision_id, _id(item), kind.value, status.value, version, rework_round)


def _check_kind(
    session: Session,
    item: m.ReviewItem,
    *,
    kind: str,
    submission_id: int | None,
    feedback: Mapping[int, str] | None,
    note: str,
) -> m.DecisionKind:
    valid = [k.value for k in m.DecisionKind]
    if kind not in valid:
        raise StoreError(f"decision kind must be one of {valid}; got {kind!r}", field="kind")
    choice = m.DecisionKind(kind)
    if choice == m.DecisionKind.ACCEPT_SUBMISSION:
        if submission_id is None or submission_id not in item_submissions(session, item).values():
            known = sorted(item_submissions(session, item).values())
            raise StoreError(
                f"accept_submission needs a submission of image {item.image_id} in round {item.round_id} "
                f"(one of {known}); got {submission_id}",
                field="submission_id",
            )
    if choice == m.DecisionKind.REWORK:
        assigned = set(item_submissions(session, item)) | set(_assigned(session, item))
        unknown = sorted(set(feedback or {}) - assigned)
        if not feedback or unknown or not any(text.strip() for text in feedback.values()):
            raise StoreError(
                f"rework needs feedback text for at least one annotator of the image (ids {sorted(assigned)}); "
                f"got {dict(feedback or {})}",
                field="feedback",
            )
    if choice == m.DecisionKind.ESCALATE and not note.strip():
        raise StoreError("escalate needs a note saying what is unclear in the guideline", field="note")
    return choice


def item_submissions(session: Session, item: m.ReviewItem) -> dict[int, int]:
    """``annotator id -> latest submission id`` for the item's image in its round."""
    rows = session.execute(
        select(m.Assignment.annotator_id, m.Submission.id, m.Submission.version)
        .join(m.Submission, col(m.Submission.assignment_id) == m.Assignment.id)
        .where(m.Assignment.round_id == item.round_id, m.Assignment.image_id == item.image_id)
        .order_by(col(m.Assignment.annotator_id), col(m.Submission.version))
    )
    return {int(annotator): int(sub) for annotator, sub, _ in rows}


def _assigned(session: Session, item: m.ReviewItem) -> list[int]:
    return list(
        session.scalars(
            select(m.Assignment.annotator_id).where(
                m.Assignment.round_id == item.round_id, m.Assignment.image_id == item.image_id
            )
        )
    )


def _label_from_submission(session: Session, item: m.ReviewItem, submission_id: int) -> None:
    """Replace the image's stored label by the accepted submission's segments."""
    table = m.metadata.tables["consensus_segment"]
    session.execute(delete(table).where(table.c.round_id == item.round_id, table.c.image_id == item.image_id))
    segments = session.scalars(select(m.Segment).where(m.Segment.submission_id == submission_id)).all()
    now = m.utcnow()
    rows = [
        {"round_id": item.round_id, "image_id": item.image_id, "category_id": s.category_id, "height": s.height,
         "width": s.width, "rle_counts": s.rle_counts, "area": s.area, "bbox_x": s.bbox_x, "bbox_y": s.bbox_y,
         "bbox_w": s.bbox_w, "bbox_h": s.bbox_h, "method": f"submission:{submission_id}", "created_at": now}
        for s in segments
    ]  # fmt: skip
    if rows:
        session.execute(insert(table), rows)


def _mark_result(session: Session, item: m.ReviewItem, review: dict[str, Any], *, accepted: bool) -> None:
    result = session.scalars(
        select(m.ImageResult).where(m.ImageResult.round_id == item.round_id, m.ImageResult.image_id == item.image_id)
    ).first()
    if result is None:
        return
    result.summary = {**(result.summary or {}), "review": review}
    if accepted:
        result.verdict = Verdict.ACCEPTED.value
    session.add(result)
    session.flush()


def _stale_message(session: Session, item_id: int, *, reviewer_id: int, version: int, at: datetime) -> str:
    item = get_row(session, m.ReviewItem, item_id)
    if item.status in (m.ReviewStatus.DECIDED.value, m.ReviewStatus.ESCALATED.value):
        why = f"it was {item.status} already"
    elif item.claimed_by != reviewer_id:
        why = "another reviewer claimed it" if item.claimed_by is not None else "it is not claimed by you"
    elif item.version != version:
        why = f"it changed since your claim (version {version}, now {item.version})"
    elif item.lease_until is None or _aware(item.lease_until) <= at:
        why = "your lease expired"
    else:
        why = f"its state is {item.status}"
    return f"stale decision on review item {item_id}: {why}; nothing was stored — claim the next item and review again"


def _check_not_annotator(session: Session, item: m.ReviewItem, person_id: int) -> None:
    mine = session.scalars(
        select(m.Assignment.id).where(m.Assignment.image_id == item.image_id, m.Assignment.annotator_id == person_id)
    ).first()
    if mine is not None:
        raise PermissionDeniedError(
            f"person {person_id} annotated image {item.image_id}; a reviewer never reviews their own work "
            "(ask another reviewer or a lead to reassign it)",
            image_id=item.image_id,
        )


def _reviewer(session: Session, person_id: int) -> m.Person:
    person = get_row(session, m.Person, person_id)
    if not REVIEW_ROLES & set(person.roles):
        raise PermissionDeniedError(
            f"{person.name!r} has roles {person.roles}; reviewing needs the reviewer or lead role "
            "(qc person add NAME --role reviewer)",
            field="roles",
        )
    return person


def _now(now: datetime | None) -> datetime:
    return _aware(now) if now is not None else datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))


def _id(row: Any) -> int:
    if row.id is None:  # pragma: no cover - rows are flushed first
        raise NotFoundError("row has no id yet: flush the session first")
    return int(row.id)


# --- hook: a finished review starts the close of its round --------------------------------------------


def open_review_items(session: Session, *, round_id: int) -> int:
    """How many review items of the round still need a decision (pending, claimed or escalated)."""
    query = (
        select(func.count())
        .select_from(m.ReviewItem)
        .where(m.ReviewItem.round_id == round_id, col(m.ReviewItem.status).in_(OPEN_STATUSES))
    )
    return int(session.execute(query).scalar_one())


def on_round_reviewed(engine: Engine, item_id: int, callback: RoundReviewed | None) -> int | None:
    """Call after a decision on ``item_id`` is COMMITTED: starts the close of a fully reviewed round.

    Returns the item's round id when that round has no open review item left (and then calls
    ``callback(round_id)`` if given), else ``None``. A failing callback is logged, not raised:
    the decision is stored either way and the round can be closed by hand (``qc round close``).
    Two decisions finishing at once may both call it; closing a round twice is harmless.
    """
    with db.session_scope(engine, write=False) as session:
        round_id = get_row(session, m.ReviewItem, item_id).round_id
        left = open_review_items(session, round_id=round_id)
    if left:
        return None
    if callback is not None:
        try:
            callback(round_id)
        except Exception:
            log.exception("round %s is fully reviewed but starting its close failed; run: qc round close %s",
                          round_id, round_id)  # fmt: skip
    return round_id


# --- views (plain data for the CLI and the web page) ------------------------------------------------------


def item_view(session: Session, item_id: int) -> dict[str, Any]:
    """What a reviewer needs to decide an item: image, flags with boxes, annotators and their submissions.

    ``annotators`` are numbered 1.. in person-id order (the web page's keys 1-9 and the CLI's
    ``--accept-submission N`` use the same number).
    """
    item = get_row(session, m.ReviewItem, item_id)
    image = get_row(session, m.Image, item.image_id)
    names = dict(session.execute(select(m.Person.id, m.Person.name)).all())
    classes = _class_names(session, image.project_id)
    subs = item_submissions(session, item)
    assigned = sorted(set(_assigned(session, item)) | set(subs))
    flags = session.scalars(
        select(m.Flag)
        .where(m.Flag.round_id == item.round_id, m.Flag.image_id == item.image_id)
        .order_by(col(m.Flag.severity).desc(), col(m.Flag.id))
    ).all()
    decisions = session.scalars(
        select(m.Decision).where(m.Decision.review_item_id == item_id).order_by(col(m.Decision.id))
    ).all()
    return {
        "item": {"id": item.id, "round_id": item.round_id, "status": item.status, "version": item.version,
                 "claimed_by": names.get(item.claimed_by) if item.claimed_by else None,
                 "claimed_by_id": item.claimed_by,
                 "lease_until": _aware(item.lease_until).isoformat() if item.lease_until else None},
        "image": {"id": image.id, "file_name": image.file_name, "width": image.width, "height": image.height},
        "annotators": [{"number": n, "id": a, "name": names.get(a, str(a)), "submission_id": subs.get(a)}
                       for n, a in enumerate(assigned, start=1)],
        "flags": [{"id": f.id, "kind": f.kind, "level": f.level, "severity": f.severity, "message": f.message,
                   "class": classes.get(f.category_id) if f.category_id is not None else None,
                   "bbox": None if f.bbox_x is None else [f.bbox_x, f.bbox_y, f.bbox_w, f.bbox_h],
                   "annotators": [names.get(a, str(a)) for a in f.annotators]} for f in flags],
        "decisions": [{"id": d.id, "kind": d.kind, "reviewer": names.get(d.reviewer_id), "note": d.note,
                       "feedback": {names.get(int(k), k): v for k, v in (d.feedback or {}).items()},
                       "submission_id": d.target_submission_id} for d in decisions],
    }  # fmt: skip


def queue_rows(
    session: Session,
    *,
    flag_kind: str | None = None,
    category_id: int | None = None,
    annotator_id: int | None = None,
    status: str | None = None,
    claimed_by: int | None = None,
) -> list[dict[str, Any]]:
    """Review items with their flag kinds, classes and annotators, filtered; ordered by id."""
    query = select(m.ReviewItem, m.Image.file_name).join(m.Image, col(m.Image.id) == m.ReviewItem.image_id)
    if status is not None:
        query = query.where(m.ReviewItem.status == status)
    if claimed_by is not None:
        query = query.where(m.ReviewItem.claimed_by == claimed_by)
    rows = session.execute(query.order_by(col(m.ReviewItem.id))).all()
    flags: dict[tuple[int, int], list[m.Flag]] = {}
    for flag in session.scalars(select(m.Flag).where(col(m.Flag.image_id).in_([r.image_id for r, _ in rows]))):
        flags.setdefault((flag.round_id, flag.image_id), []).append(flag)
    assigned: dict[tuple[int, int], set[int]] = {}
    for round_id, image_id, person in session.execute(
        select(m.Assignment.round_id, m.Assignment.image_id, m.Assignment.annotator_id).where(
            col(m.Assignment.image_id).in_([r.image_id for r, _ in rows])
        )
    ):
        assigned.setdefault((round_id, image_id), set()).add(person)
    out = []
    for item, file_name in rows:
        key = (item.round_id, item.image_id)
        mine = flags.get(key, [])
        if flag_kind and not any(f.kind == flag_kind for f in mine):
            continue
        if category_id is not None and not any(f.category_id == category_id for f in mine):
            continue
        if annotator_id is not None and annotator_id not in assigned.get(key, set()):
            continue
        out.append({"id": item.id, "round_id": item.round_id, "image_id": item.image_id, "file_name": file_name,
                    "status": item.status, "claimed_by": item.claimed_by, "version": item.version,
                    "flag_kinds": sorted({f.kind for f in mine}),
                    "categories": sorted({f.category_id for f in mine if f.category_id is not None}),
                    "annotators": sorted(assigned.get(key, set()))})  # fmt: skip
    return out


def feedback_for(session: Session, *, annotator_id: int) -> list[dict[str, Any]]:
    """The rework feedback addressed to one annotator, newest first."""
    rows = session.execute(
        select(m.Decision, m.ReviewItem.round_id, m.Image.file_name)
        .join(m.ReviewItem, col(m.ReviewItem.id) == m.Decision.review_item_id)
        .join(m.Image, col(m.Image.id) == m.ReviewItem.image_id)
        .where(m.Decision.kind == m.DecisionKind.REWORK.value)
        .order_by(col(m.Decision.id).desc())
    ).all()
    return [
        {"decision_id": d.id, "round_id": r, "file_name": f, "text": (d.feedback or {})[str(annotator_id)]}
        for d, r, f in rows
        if str(annotator_id) in (d.feedback or {})
    ]


def _class_names(session: Session, project_id: int) -> dict[int, str]:
    rows = session.execute(
        select(m.LabelClass.class_id, m.LabelClass.name).where(m.LabelClass.project_id == project_id)
    )
    return {int(c): str(n) for c, n in rows}
