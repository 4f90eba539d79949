"""One read of the report's rounds: every row the sections need, one frame per table.

:func:`load_tables` reads the rows of some rounds (through :mod:`qc.store.reports`) into
:class:`Tables`; every section in :mod:`reports.sections` is a pure function of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import Session

from qc.store import reports as store
from qc.store.connect import LeadTimeRow, lead_time_rows
from qc.store.reliability import reliability_rows
from qc.store.submissions import current_rejections

__all__ = ["Tables", "load_tables"]


RELIABILITY_COLUMNS = [
    "round_id",
    "annotator_id",
    "n_objects",
    "boundary_iou",
    "miss_rate",
    "extra_rate",
    "class_error_rate",
    "sensitivity",
    "specificity",
    "gold_iou",
    "gold_failures",
    "weight",
    "intervals",
]
REJECTION_COLUMNS = ["round_id", "image_id", "annotator_id", "submission_id", "annotation_ref", "field", "message"]


@dataclass(frozen=True)
class Tables:
    """The raw rows of the report's rounds, one frame per table."""

    rounds: pd.DataFrame
    images: pd.DataFrame
    results: pd.DataFrame
    scores: pd.DataFrame
    flags: pd.DataFrame
    assignments: pd.DataFrame
    reviews: pd.DataFrame
    decisions: pd.DataFrame
    people: dict[int, str]
    classes: dict[int, str]
    task: str
    rejections: pd.DataFrame
    """Per image and annotator, the rejections that keep a delivery incomplete (it waits, unscored)."""
    lead_times: pd.DataFrame
    """Per assignment synced from Label Studio, the seconds its annotator spent (``lead_time``)."""
    reliability: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RELIABILITY_COLUMNS))
    """The stored annotator reliability of the rounds (``round_id`` set) and of their project (``round_id`` NaN)."""
    paused: dict[str, int] = field(default_factory=dict)
    """Annotators paused for failing gold under the newest round's guideline, with their gold failures."""


def frame(rows: Iterable[tuple[Any, ...]], row_type: type[Any]) -> pd.DataFrame:
    """A frame of typed rows, its columns the row type's fields (also when there is no row).

    >>> frame([], store.ResultRow).columns.tolist()
    ['round_id', 'image_id', 'verdict', 'labels_spent']
    """
    return pd.DataFrame(list(rows), columns=list(row_type._fields))


def load_tables(session: Session, *, round_ids: Sequence[int]) -> Tables:
    """Read the rows of ``round_ids`` into frames (one query per table).

    Images, assignments and class names are those of the rounds' projects (assignments of
    every round of them: rework rates count later rounds); people are everyone.
    """
    ids = list(round_ids)
    rounds = frame(store.round_rows(session, round_ids=ids), store.RoundRow).sort_values("round_id")
    project_ids = sorted(set(rounds["project_id"]))
    task = store.project_task(session, project_id=project_ids[0]) if project_ids else None
    return Tables(
        rounds=rounds,
        images=frame(store.project_images(session, project_ids=project_ids), store.ImageRow),
        results=frame(store.image_results(session, round_ids=ids), store.ResultRow),
        scores=frame(store.round_scores(session, round_ids=ids), store.ScoreRow),
        flags=frame(store.round_flags(session, round_ids=ids), store.FlagRow),
        assignments=frame(store.project_assignments(session, project_ids=project_ids), store.AssignmentRow),
        reviews=frame(store.review_rows(session, round_ids=ids), store.ReviewRow),
        decisions=frame(store.decision_rows(session, round_ids=ids), store.DecisionRow),
        people=store.people_names(session),
        classes=store.class_names(session, project_ids=project_ids),
        task=task if task is not None else "instance",
        rejections=pd.DataFrame(
            [
                (round_id, r.image_id, r.annotator_id, r.submission_id, r.annotation_ref, r.field, r.message)
                for round_id in ids
                for r in current_rejections(session, round_id=round_id)
            ],
            columns=REJECTION_COLUMNS,
        ),
        lead_times=frame(lead_time_rows(session, round_ids=ids), LeadTimeRow),
        reliability=_reliability(session, project_ids, ids),
        paused=_paused(session, ids),
    )


def _reliability(session: Session, project_ids: Sequence[int], round_ids: Sequence[int]) -> pd.DataFrame:
    rows = [
        [getattr(row, "person_id" if c == "annotator_id" else c) for c in RELIABILITY_COLUMNS]
        for project_id in project_ids
        for row in reliability_rows(session, project_id=project_id, round_ids=round_ids)
    ]
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


def _paused(session: Session, round_ids: Sequence[int]) -> dict[str, int]:
    from qc.rounds import round_paused  # the rounds' rules (the guideline's gold.pause_after_failures)

    return round_paused(session, round_id=max(round_ids)) if round_ids else {}
