"""Schedule: a new round of a project's images, each routed blind to k annotators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from qc import routing
from qc.errors import ConflictError, NotFoundError
from qc.rounds._reliability import paused_annotators, project_reliability
from qc.rounds._setup import ensure_annotators, parse_stored, row_id
from qc.store.api import add_assignments, create_round, record_event
from qc.store.rounds import newest_guideline_version, project_image_ids, round_named

__all__ = ["ScheduleResult", "schedule_round"]


@dataclass(frozen=True)
class ScheduleResult:
    round_id: int
    assignments: int
    images: int
    gold_images: tuple[int, ...]
    unassigned: tuple[tuple[int, str], ...]
    load: Mapping[str, int]
    paused: Mapping[str, int] = field(default_factory=dict)
    """Annotators of the pool left out for failing gold (``gold.pause_after_failures``), with their failures."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "assignments": self.assignments,
            "images": self.images,
            "gold_images": list(self.gold_images),
            "unassigned": [list(u) for u in self.unassigned],
            "load": dict(self.load),
            "paused": dict(self.paused),
        }


def schedule_round(
    session: Session,
    *,
    project_id: int,
    annotators: Sequence[str],
    seed: int,
    image_ids: Sequence[int] | None = None,
    gold_image_ids: Sequence[int] = (),
    k: int | None = None,
    name: str | None = None,
    kind: str = "consensus",
) -> ScheduleResult:
    """A new round of the project's newest guideline: each image routed blind to k annotators.

    ``k`` defaults to the guideline's ``k_initial`` (adaptive overlap adds more later);
    gold images (with a stored known answer) are mixed in at the guideline's ``gold_rate``.
    ``kind`` is one of consensus, gold, rework (:class:`InvalidOptionError` otherwise).
    An annotator paused for failing gold (the guideline's ``gold.pause_after_failures``) gets
    nothing (capacity 0) and is named in ``paused``. With ``k == 2`` and the annotators'
    reliability measured in the project's earlier rounds, the pairs mix reliable and less
    reliable annotators (:func:`qc.routing_policy.pick_pair`, seeded).
    """
    if name is not None and round_named(session, project_id=project_id, name=name) is not None:
        raise ConflictError(f"project {project_id} has a round named {name!r} already; choose another name")
    version = newest_guideline_version(session, project_id=project_id)
    if version is None:
        raise NotFoundError(f"project {project_id} has no guideline; run qc init --guideline FILE first")
    guideline = parse_stored(version.text, version.version)
    k = guideline.routing.k_initial if k is None else k  # k=0 is refused by the plan, not taken as the default
    people = ensure_annotators(session, names=annotators)
    images = list(image_ids) if image_ids is not None else project_image_ids(session, project_id=project_id)
    paused = paused_annotators(session, project_id=project_id, guideline=guideline)
    measured = project_reliability(session, project_id=project_id)
    reliabilities = {name: measured[people[name]] for name in annotators if people[name] in measured}
    plan = routing.plan_round(
        images,
        [routing.Annotator(a, 0 if a in paused else guideline.routing.capacity) for a in annotators],
        k=k,
        seed=seed,
        gold_image_ids=gold_image_ids,
        gold_rate=guideline.routing.gold_rate if gold_image_ids else 0.0,
        reliabilities=reliabilities,
    )
    round_row = create_round(session, project_id=project_id, kind=kind, k=k, guideline_version_id=version.id, name=name)
    round_id = row_id(round_row)
    for assignment_kind in ("consensus", "gold"):
        pairs = [(int(a.image_id), people[a.annotator_id]) for a in plan.assignments if a.kind == assignment_kind]
        add_assignments(session, round_id=round_id, pairs=pairs, kind=assignment_kind)
    payload = {"seed": seed, **plan.to_dict(), "paused": sorted(paused)}
    record_event(session, verb="schedule", object_type="round", object_id=round_id, payload=payload)
    return ScheduleResult(
        round_id,
        len(plan.assignments),
        len(images) + len(plan.gold_images),
        tuple(int(i) for i in plan.gold_images),
        tuple((int(i), r) for i, r in plan.unassigned),
        dict(plan.load),
        {name: n for name, n in paused.items() if name in annotators},
    )
