"""Annotator reliability of a round and of its project, stored; and who is paused for failing gold.

:func:`update_reliability` reads the observations scoring stored (one per object and
annotator, :mod:`qc.rounds._observations`), estimates each annotator's reliability with
:func:`qc.reliability.estimate` (seeded: the same observations give the same figures and
intervals) and stores the figures of the round and of the whole project in place of the
previous ones. It runs when a round is scored (the score flow's last task) and closed.

:func:`paused_annotators` applies the guideline's ``gold.pause_after_failures``: an annotator
flagged ``gold_mismatch`` on that many gold images of the project gets no new assignment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from qc.guideline import Guideline, Thresholds
from qc.rounds._setup import round_guideline
from qc.store import models as m
from qc.store.api import get_row
from qc.store.reliability import (
    ImageObservations,
    gold_failures,
    project_round_ids,
    reliability_rows,
    replace_reliability,
    round_observations,
)
from qc.store.rounds import list_people

if TYPE_CHECKING:
    from qc.reliability import ObjectObservation, Reliability

__all__ = [
    "RELIABILITY_SEED",
    "ReliabilityUpdate",
    "paused_annotators",
    "project_reliability",
    "round_paused",
    "update_reliability",
]

RELIABILITY_SEED = 0
"""The bootstrap seed of every stored estimate (reproducible figures and intervals)."""


@dataclass(frozen=True)
class ReliabilityUpdate:
    """How many annotators got figures for the round and for the project, from how many observations."""

    round_id: int
    project_id: int
    round_annotators: int
    project_annotators: int
    observations: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def update_reliability(session: Session, *, round_id: int, n_boot: int = 200) -> ReliabilityUpdate:
    """Estimate and store the reliability of the round's annotators, in the round and over its project."""
    round_row = get_row(session, m.Round, round_id)
    project_id = round_row.project_id
    thresholds = (
        Thresholds()
        if round_row.guideline_version_id is None
        else round_guideline(session, round_id=round_id).thresholds
    )
    gold_pass = thresholds.gold_iou
    own = _observations(round_observations(session, round_ids=[round_id]))
    everything = _observations(round_observations(session, round_ids=project_round_ids(session, project_id=project_id)))
    in_round = _estimate(own, n_boot=n_boot, gold_pass_iou=gold_pass)
    in_project = _estimate(everything, n_boot=n_boot, gold_pass_iou=gold_pass)
    replace_reliability(session, project_id=project_id, round_id=round_id, rows=[_columns(r) for r in in_round])
    replace_reliability(session, project_id=project_id, round_id=None, rows=[_columns(r) for r in in_project])
    return ReliabilityUpdate(round_id, project_id, len(in_round), len(in_project), len(own))


def _observations(images: Iterable[ImageObservations]) -> list[ObjectObservation]:
    """Every image's observations; one image scored in two rounds counts as two (keys in (round, image) order)."""
    ordered = sorted(images, key=lambda image: (image.round_id, image.image_id))
    from qc.rounds._observations import to_observations  # qc.agreement: only when there is something to estimate

    return [o for key, image in enumerate(ordered) for o in to_observations(key, image.rows)]


def _estimate(observations: list[ObjectObservation], *, n_boot: int, gold_pass_iou: float) -> list[Reliability]:
    if not observations:
        return []
    from qc.reliability import estimate  # the estimator (numpy bootstrap); imported when there is work

    found = estimate(observations, seed=RELIABILITY_SEED, n_boot=n_boot, gold_pass_iou=gold_pass_iou)
    return [found[person] for person in sorted(found)]


_FIGURES = (
    "boundary_iou",
    "miss_rate",
    "extra_rate",
    "class_error_rate",
    "sensitivity",
    "specificity",
    "gold_iou",
    "weight",
)


def _columns(reliability: Reliability) -> dict[str, Any]:
    """One ``annotator_reliability`` row's columns (NaN stored as ``None``)."""
    row: dict[str, Any] = {name: _number(getattr(reliability, name)) for name in _FIGURES}
    row["person_id"] = reliability.person_id
    row["n_objects"] = reliability.n_objects
    row["gold_failures"] = reliability.gold_failures
    row["intervals"] = {
        name: [_number(low), _number(high)] for name, (low, high) in sorted(reliability.intervals.items())
    }
    return row


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def paused_annotators(session: Session, *, project_id: int, guideline: Guideline) -> dict[str, int]:
    """Annotators (by name) paused by ``gold.pause_after_failures``, with their gold failures; empty when unset."""
    limit = guideline.gold.pause_after_failures
    if limit is None:
        return {}
    names = {p.id: p.name for p in list_people(session)}
    failures = gold_failures(session, project_id=project_id)
    return {names[person]: n for person, n in sorted(failures.items()) if n >= limit}


def round_paused(session: Session, *, round_id: int) -> dict[str, int]:
    """:func:`paused_annotators` of the round's project under the round's guideline (none without one)."""
    round_row = get_row(session, m.Round, round_id)
    if round_row.guideline_version_id is None:
        return {}
    guideline = round_guideline(session, round_id=round_id)
    return paused_annotators(session, project_id=round_row.project_id, guideline=guideline)


def project_reliability(session: Session, *, project_id: int) -> dict[int, Reliability]:
    """The stored project-wide reliability of each annotator (person id), as :class:`qc.reliability.Reliability`."""
    from qc.reliability import Reliability

    out = {}
    for row in reliability_rows(session, project_id=project_id, round_ids=[]):
        if row.round_id is not None:
            continue
        intervals = {k: (_nan(v[0]), _nan(v[1])) for k, v in (row.intervals or {}).items()}
        figures = {name: _nan(getattr(row, name)) for name in _FIGURES if name not in ("gold_iou", "weight")}
        out[row.person_id] = Reliability(
            person_id=row.person_id,
            n_objects=row.n_objects,
            gold_iou=row.gold_iou,
            gold_failures=row.gold_failures,
            intervals=intervals,
            weight=1.0 if row.weight is None else row.weight,
            **figures,
        )
    return out


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)
