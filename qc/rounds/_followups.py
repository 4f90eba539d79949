"""What waits in a round: the images to score, and the escalated images that wait for a follow-up annotator.

Both read only the store, the guideline and the routing rules, not the scoring stack (agreement,
matching, SciPy): a ``qc round score`` with nothing to score imports neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlmodel import Session

from qc import routing
from qc.core import Verdict
from qc.guideline import Guideline
from qc.rounds._setup import round_guideline
from qc.store import models as m
from qc.store.api import add_assignments
from qc.store.results import image_inputs, input_hash, list_image_results, scored_hashes, set_followup
from qc.store.rounds import annotator_ids, assignment_load, list_people

if TYPE_CHECKING:
    from qc.rounds._scoring import ImageOutcome

__all__ = ["RoundPeople", "assign_followups", "pending_images", "round_people", "with_followups"]


@dataclass(frozen=True)
class RoundPeople:
    """Who works on a round: every person's name by id, the models' names, the annotators who may get follow-ups."""

    names: Mapping[int, str]
    models: frozenset[str]
    pool: tuple[routing.Annotator, ...]


def round_people(session: Session, *, round_id: int, guideline: Guideline) -> RoundPeople:
    """The round's people: its assigned annotators (models excepted) form the follow-up pool; an annotator paused
    for failing gold (``gold.pause_after_failures``) is in it with no capacity (no follow-ups for them)."""
    from qc.rounds._reliability import round_paused

    assigned = annotator_ids(session, round_id=round_id)
    people = list_people(session)
    names = {p.id: p.name for p in people}
    models = frozenset(p.name for p in people if m.Role.MODEL.value in p.roles)
    paused = round_paused(session, round_id=round_id)
    capacity = guideline.routing.capacity
    pool = tuple(
        routing.Annotator(names[i], 0 if names[i] in paused else capacity) for i in assigned if names[i] not in models
    )
    return RoundPeople(names, models, pool)


def pending_images(session: Session, *, round_id: int) -> list[int]:
    """Images every assigned annotator has delivered whose inputs differ from their stored result."""
    guideline = round_guideline(session, round_id=round_id)
    done = scored_hashes(session, round_id=round_id)
    return [
        image_id
        for image_id, inputs in image_inputs(session, round_id=round_id).items()
        if inputs.complete
        and inputs.submissions
        and done.get(image_id) != input_hash(inputs, guideline_hash=guideline.text_hash)
    ]


def assign_followups(session: Session, *, round_id: int) -> dict[int, str | None]:
    """Give each escalated image of the round that waits for one its follow-up annotator; ``image -> name``.

    The images are those whose current result (stored for their current inputs) says
    ``escalate`` and that have no undelivered assignment, taken in image-id order. Each gets
    the least-loaded eligible annotator (:func:`qc.routing.next_annotator`: load from the
    round's committed assignments plus the follow-ups given before it here, ties by a seeded
    shuffle of the round and image), or, with nobody eligible, ``None`` and the verdict
    ``review``. Run after a run's scoring, never inside parallel batches; calling it again
    assigns nothing twice.
    """
    guideline = round_guideline(session, round_id=round_id)
    results = {r.image_id: r for r in list_image_results(session, round_id=round_id)}
    waiting = [
        inputs
        for image_id, inputs in sorted(image_inputs(session, round_id=round_id).items())
        if image_id in results
        and results[image_id].verdict == Verdict.ESCALATE.value
        and (results[image_id].summary or {}).get("followup") is None
        and inputs.complete
        and results[image_id].input_hash == input_hash(inputs, guideline_hash=guideline.text_hash)
    ]
    if not waiting:  # nothing escalated waits (a no-op score): the people are not read
        return {}
    people = round_people(session, round_id=round_id, guideline=guideline)
    load = Counter({people.names[a]: n for a, n in assignment_load(session, round_id=round_id).items()})
    ids = {name: person for person, name in people.names.items()}
    chosen: dict[int, str | None] = {}
    for inputs in waiting:
        already = [people.names[a] for a in inputs.assigned]
        followup = routing.next_annotator(inputs.image_id, already, people.pool, load=load, seed=round_id)
        if followup is not None:
            add_assignments(session, round_id=round_id, pairs=[(inputs.image_id, ids[followup])], kind="followup")
            load[followup] += 1
        set_followup(session, round_id=round_id, image_id=inputs.image_id, followup=followup)
        chosen[inputs.image_id] = followup
    return chosen


def with_followups(outcomes: Sequence[ImageOutcome], chosen: Mapping[int, str | None]) -> list[ImageOutcome]:
    """``outcomes`` with the follow-ups :func:`assign_followups` chose (and ``review`` where nobody was free)."""
    out = []
    for outcome in outcomes:
        if outcome.image_id in chosen:
            followup = chosen[outcome.image_id]
            verdict = outcome.verdict if followup is not None else Verdict.REVIEW.value
            outcome = replace(outcome, verdict=verdict, followup=followup)
        out.append(outcome)
    return out
