"""The manager's report as pandas frames: one loader over the store, then pure functions per section.

:func:`load_tables` reads the rows of some rounds once (images, results, scores, flags,
assignments, review items, decisions) into :class:`Tables`; every ``*_frame`` function below
is a pure function of those frames. The few sections that need masks (STAPLE, gold
agreement, recomputed guideline compliance, thumbnails) take the session and stay bounded
(``max_images``). :func:`build_report` assembles everything into :class:`ReportData`.

Conventions: undefined numbers are NaN; confidence intervals are percentile bootstrap
intervals over images (``resamples`` draws, seeded), computed as ratios of resampled sums.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlmodel import Session, col, select

from qc import masks
from qc.checks import check_submission, compliance_frame, summarise, violation_records
from qc.consensus import staple
from qc.core import Segment
from qc.errors import NotFoundError
from qc.guideline import Guideline
from qc.metrics._overlap import mask_iou
from qc.rounds import round_guideline
from qc.store import models as m
from qc.store.ingest import latest_submissions
from qc.store.segments import load_gold_segments, load_segments_of

__all__ = [
    "ReportData",
    "ReportOptions",
    "Tables",
    "agreement_frame",
    "annotator_frame",
    "bootstrap_ratio",
    "build_report",
    "class_balance_frame",
    "compliance_frames",
    "feedback_frame",
    "headline_frame",
    "image_frame",
    "load_tables",
    "pair_matrix",
    "reviewer_frame",
    "rounds_for",
    "staple_frame",
    "trend_frame",
]

log = logging.getLogger(__name__)
VERDICT_ORDER = {"review": 0, "escalate": 1, "accepted": 2}


@dataclass(frozen=True)
class ReportOptions:
    """How much to compute: bootstrap draws and seed, and caps on the mask-reading sections."""

    resamples: int = 1000
    seed: int = 0
    thumbnails: int = 50
    staple_images: int = 200
    compliance_submissions: int = 2000


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


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows: ``frames`` (section name -> frame) and plain ``meta`` values."""

    title: str
    frames: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "frames": {k: v.to_dict(orient="records") for k, v in self.frames.items()},
            "meta": self.meta,
        }


# --- loading ---------------------------------------------------------------------------------------------


def rounds_for(session: Session, *, round_id: int | None = None, project: str | None = None) -> list[int]:
    """The rounds a report covers: one round, or every round of a project (oldest first)."""
    if round_id is not None:
        if session.get(m.Round, round_id) is None:
            raise NotFoundError(f"no round {round_id}; list rounds with qc round status", field="round")
        return [round_id]
    if project is None:
        raise NotFoundError("a report needs a round (--round N) or a project (--project NAME)", field="round")
    row = session.scalars(select(m.Project).where(m.Project.name == project)).first()
    if row is None:
        raise NotFoundError(f"no project named {project!r}; create it with qc project init", field="project")
    ids = session.scalars(select(m.Round.id).where(m.Round.project_id == row.id).order_by(col(m.Round.id)))
    return [int(i) for i in ids if i is not None]


def _frame(session: Session, columns: Sequence[Any], where: Any, names: Sequence[str]) -> pd.DataFrame:
    rows = session.execute(select(*columns).where(where)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(names))


def load_tables(session: Session, *, round_ids: Sequence[int]) -> Tables:
    """Read the rows of ``round_ids`` into frames (one query per table)."""
    ids = list(round_ids)
    rounds = _frame(
        session,
        [m.Round.id, m.Round.project_id, m.Round.name, m.Round.kind, m.Round.status, m.Round.guideline_version_id],
        col(m.Round.id).in_(ids),
        ["round_id", "project_id", "name", "kind", "status", "guideline_version_id"],
    ).sort_values("round_id")
    project_ids = sorted(set(rounds["project_id"]))
    project = session.get(m.Project, project_ids[0]) if project_ids else None
    s = m.Score
    tables = Tables(
        rounds=rounds,
        images=_frame(
            session,
            [m.Image.id, m.Image.file_name, m.Image.width, m.Image.height, m.Image.path],
            col(m.Image.project_id).in_(project_ids),
            ["image_id", "file_name", "width", "height", "path"],
        ),
        results=_frame(
            session,
            [m.ImageResult.round_id, m.ImageResult.image_id, m.ImageResult.verdict, m.ImageResult.labels_spent],
            col(m.ImageResult.round_id).in_(ids),
            ["round_id", "image_id", "verdict", "labels_spent"],
        ),
        scores=_frame(
            session,
            [s.round_id, s.image_id, s.kind, s.annotators, s.category_id, s.metric, s.value, s.detail],
            col(s.round_id).in_(ids),
            ["round_id", "image_id", "kind", "annotators", "category_id", "metric", "value", "detail"],
        ),
        flags=_frame(session, *_flag_query(ids)),
        assignments=_frame(
            session,
            [m.Assignment.round_id, m.Assignment.image_id, m.Assignment.annotator_id, m.Assignment.kind],
            col(m.Assignment.round_id).in_(_project_rounds(session, project_ids)),
            ["round_id", "image_id", "annotator_id", "kind"],
        ),
        reviews=_frame(
            session,
            [
                m.ReviewItem.id,
                m.ReviewItem.round_id,
                m.ReviewItem.image_id,
                m.ReviewItem.status,
                m.ReviewItem.created_at,
            ],
            col(m.ReviewItem.round_id).in_(ids),
            ["review_item_id", "round_id", "image_id", "status", "queued_at"],
        ),
        decisions=_decisions(session, ids),
        people={int(k): str(v) for k, v in session.execute(select(m.Person.id, m.Person.name)).all()},
        classes=_class_names(session, project_ids),
        task=project.task_type if project is not None else "instance",
    )
    return tables


def _flag_query(ids: list[int]) -> tuple[list[Any], Any, list[str]]:
    f = m.Flag
    columns = [f.round_id, f.image_id, f.kind, f.level, f.category_id, f.bbox_x, f.bbox_y, f.bbox_w, f.bbox_h]
    columns += [f.annotators, f.severity, f.message]
    names = ["round_id", "image_id", "kind", "level", "category_id", "x", "y", "w", "h", "annotators", "severity"]
    return columns, col(f.round_id).in_(ids), [*names, "message"]


def _project_rounds(session: Session, project_ids: list[int]) -> list[int]:
    return [int(i) for i in session.scalars(select(m.Round.id).where(col(m.Round.project_id).in_(project_ids)))]


def _class_names(session: Session, project_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(m.LabelClass.class_id, m.LabelClass.name).where(col(m.LabelClass.project_id).in_(project_ids))
    )
    return {int(k): str(v) for k, v in rows.all()}


def _decisions(session: Session, ids: list[int]) -> pd.DataFrame:
    d, r = m.Decision, m.ReviewItem
    rows = session.execute(
        select(d.id, d.review_item_id, r.round_id, r.image_id, d.reviewer_id, d.kind, d.note, d.feedback, d.created_at)
        .join(r, col(r.id) == d.review_item_id)
        .where(col(r.round_id).in_(ids))
        .order_by(col(d.id))
    ).all()
    names = ["decision_id", "review_item_id", "round_id", "image_id", "reviewer_id", "kind", "note", "feedback"]
    return pd.DataFrame([tuple(x) for x in rows], columns=[*names, "decided_at"])


# --- statistics ------------------------------------------------------------------------------------------


def bootstrap_ratio(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, *, resamples: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """``sum(num) / sum(den)`` over images and its 95% percentile bootstrap interval (images resampled).

    Images with ``den == 0`` carry no information and are dropped first. No image left:
    ``(nan, nan, nan)``; one image: the estimate with a zero-width interval.

    >>> bootstrap_ratio([1.0, 3.0], [1.0, 1.0], resamples=200)[0]
    2.0
    >>> bootstrap_ratio([], [])
    (nan, nan, nan)
    """
    num, den = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    keep = den > 0
    num, den = num[keep], den[keep]
    if num.size == 0:
        return math.nan, math.nan, math.nan
    estimate = float(num.sum() / den.sum())
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num.size, size=(resamples, num.size), dtype=np.int32)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = num[draws].sum(axis=1) / den[draws].sum(axis=1)
    low, high = np.nanpercentile(stats, [2.5, 97.5])
    return estimate, float(low), float(high)


# --- sections --------------------------------------------------------------------------------------------


def headline_frame(tables: Tables) -> pd.DataFrame:
    """One row: images, accepted on first pass, escalated, reviewed, reworked, labels per accepted image."""
    results, assignments = tables.results, tables.assignments
    ours = assignments[assignments["round_id"].isin(tables.rounds["round_id"])]
    extra = set(ours.loc[ours["kind"] == "followup", "image_id"])
    accepted = results[results["verdict"] == "accepted"]
    reworked = set(tables.decisions.loc[tables.decisions["kind"] == "rework", "image_id"])
    spent = accepted["labels_spent"].sum()
    row = {
        "images": int(ours["image_id"].nunique()),
        "scored": len(results),
        "accepted": len(accepted),
        "accepted_first_pass": int((~accepted["image_id"].isin(extra)).sum()),
        "escalated": len(extra | set(results.loc[results["verdict"] == "escalate", "image_id"])),
        "in_review": int((results["verdict"] == "review").sum()),
        "reviewed": int(tables.decisions["review_item_id"].nunique()),
        "reworked": len(reworked),
        "labels_spent": int(results["labels_spent"].sum()),
        "labels_per_accepted": float(spent / len(accepted)) if len(accepted) else math.nan,
    }
    return pd.DataFrame([row])


def _per_image_class(scores: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = scores[(scores["kind"] == "group") & (scores["metric"] == metric) & scores["value"].notna()]
    return (
        rows.groupby(["round_id", "image_id", "category_id"])["value"]
        .agg(total="sum", count="size")
        .reset_index()
        .rename(columns={"total": f"{metric}_sum", "count": f"{metric}_n"})
    )


def _pq_terms(tables: Tables) -> pd.DataFrame:
    """Per (image, class): pairwise PQ numerator and denominator from the stored groups."""
    scores = tables.scores
    k = scores[(scores["kind"] == "image") & (scores["metric"] == "mean_group_iou")][["round_id", "image_id"]].copy()
    k["k"] = [len(a) for a in scores.loc[k.index, "annotators"]]
    groups = scores[(scores["kind"] == "group") & (scores["metric"] == "mean_iou")].copy()
    groups["n"] = [len(a) for a in groups["annotators"]]
    groups = groups.merge(k, on=["round_id", "image_id"], how="left")
    groups["k"] = groups["k"].fillna(groups["n"])
    pairs = groups["n"] * (groups["n"] - 1) / 2
    groups["pq_num"] = pairs * groups["value"].fillna(0.0)
    groups["pq_den"] = pairs + 0.5 * groups["n"] * (groups["k"] - groups["n"])
    return groups.groupby(["round_id", "image_id", "category_id"])[["pq_num", "pq_den"]].sum().reset_index()


def agreement_frame(tables: Tables, *, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per class: mask IoU, Boundary IoU, PQ (and Fleiss kappa for semantic tasks), each with a 95% CI.

    IoU and Boundary IoU are the mean over matched groups (each group's mean pairwise value);
    PQ is pairwise over annotators: matched pairs' IoU / (pairs + ½ unmatched), from the groups.
    """
    keys = ["round_id", "image_id", "category_id"]
    per = _per_image_class(tables.scores, "mean_iou").merge(
        _per_image_class(tables.scores, "mean_boundary_iou"), on=keys, how="outer"
    )
    per = per.merge(_pq_terms(tables), on=keys, how="outer").fillna(0.0)
    rows = []
    for category, part in per.groupby("category_id", sort=True):
        row: dict[str, Any] = {"class": tables.classes.get(int(category), str(category)), "images": len(part)}
        terms = {"iou": "mean_iou", "boundary_iou": "mean_boundary_iou"}
        for name, metric in terms.items():
            _put(row, name, bootstrap_ratio(part[f"{metric}_sum"], part[f"{metric}_n"], resamples=resamples, seed=seed))
        _put(row, "pq", bootstrap_ratio(part["pq_num"], part["pq_den"], resamples=resamples, seed=seed))
        _put(row, "kappa", (math.nan, math.nan, math.nan))
        rows.append(row)
    rows.append(_kappa_row(tables, resamples=resamples, seed=seed))
    return pd.DataFrame(rows)


def _put(row: dict[str, Any], name: str, value: tuple[float, float, float]) -> None:
    row[name], row[f"{name}_low"], row[f"{name}_high"] = value


def _kappa_row(tables: Tables, *, resamples: int, seed: int) -> dict[str, Any]:
    scores = tables.scores
    kappa = scores[(scores["metric"] == "fleiss_kappa") & scores["value"].notna()]["value"].to_numpy()
    row: dict[str, Any] = {"class": "(all classes)", "images": int(kappa.size)}
    for name in ("iou", "boundary_iou", "pq"):
        _put(row, name, (math.nan, math.nan, math.nan))
    _put(row, "kappa", bootstrap_ratio(kappa, np.ones_like(kappa), resamples=resamples, seed=seed))
    return row


def pair_matrix(tables: Tables) -> pd.DataFrame:
    """Annotator x annotator mean IoU of matched objects (pair ``sq`` weighted by ``tp``; else group means)."""
    scores = tables.scores
    sums: dict[tuple[int, int], list[float]] = {}
    pairs = scores[(scores["kind"] == "pair") & (scores["metric"] == "sq") & scores["value"].notna()]
    for annotators, value, detail in zip(pairs["annotators"], pairs["value"], pairs["detail"], strict=True):
        weight = float((detail or {}).get("tp", 1))
        _add(sums, annotators, value * weight, weight)
    if not sums:
        groups = scores[(scores["kind"] == "group") & (scores["metric"] == "mean_iou") & scores["value"].notna()]
        for annotators, value in zip(groups["annotators"], groups["value"], strict=True):
            for pair in itertools.combinations(sorted(annotators), 2):
                _add(sums, list(pair), value, 1.0)
    people = sorted({p for pair in sums for p in pair}, key=lambda p: tables.people.get(p, str(p)))
    names = [tables.people.get(p, str(p)) for p in people]
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    for (a, b), (total, weight) in sums.items():
        value = total / weight if weight else math.nan
        matrix.loc[tables.people.get(a, str(a)), tables.people.get(b, str(b))] = value
        matrix.loc[tables.people.get(b, str(b)), tables.people.get(a, str(a))] = value
    return matrix


def _add(sums: dict[tuple[int, int], list[float]], annotators: Sequence[int], value: float, weight: float) -> None:
    a, b = sorted(annotators)[:2]
    entry = sums.setdefault((a, b), [0.0, 0.0])
    entry[0] += value
    entry[1] += weight


def annotator_frame(tables: Tables, gold: pd.DataFrame, staple_rows: pd.DataFrame) -> pd.DataFrame:
    """Per annotator: images, leave-one-out IoU, gold IoU/mismatches, flag rate, rework rate, STAPLE."""
    scores, flags = tables.scores, tables.flags
    ours = tables.assignments[tables.assignments["round_id"].isin(tables.rounds["round_id"])]
    loo = scores[(scores["kind"] == "annotator") & (scores["metric"] == "loo_iou")]
    loo = pd.DataFrame({"annotator_id": [a[0] for a in loo["annotators"]], "loo": loo["value"].to_numpy()})
    flagged = flags[["round_id", "image_id", "annotators", "kind"]].explode("annotators").dropna(subset=["annotators"])
    rework = tables.assignments[tables.assignments["kind"] == "rework"]
    rows = []
    for person, part in ours.groupby("annotator_id"):
        mine = flagged[flagged["annotators"] == person]
        images = part[["round_id", "image_id"]].drop_duplicates()
        loo_values = loo.loc[loo["annotator_id"] == person, "loo"].dropna()
        rows.append(
            {
                "annotator_id": int(person),
                "annotator": tables.people.get(int(person), str(person)),
                "images": len(images),
                "loo_iou": float(loo_values.mean()) if len(loo_values) else math.nan,
                "gold_mismatches": int((mine["kind"] == "gold_mismatch").sum()),
                "flags": len(mine),
                "flag_rate": mine[["round_id", "image_id"]].drop_duplicates().shape[0] / len(images),
                "rework_rate": int((rework["annotator_id"] == person).sum()) / len(images),
            }
        )
    frame = pd.DataFrame(rows, columns=_ANNOTATOR_COLUMNS)
    frame = frame.merge(gold, on="annotator_id", how="left").merge(staple_rows, on="annotator_id", how="left")
    return frame.sort_values("loo_iou", ascending=False, na_position="last").reset_index(drop=True)


_ANNOTATOR_COLUMNS = ["annotator_id", "annotator", "images", "loo_iou", "gold_mismatches", "flags"]
_ANNOTATOR_COLUMNS += ["flag_rate", "rework_rate"]


def image_frame(tables: Tables) -> pd.DataFrame:
    """Per scored image, worst first: verdict, labels, mean group IoU, findings and their worst severity."""
    scores, flags = tables.scores, tables.flags
    mean = scores[(scores["kind"] == "image") & (scores["metric"] == "mean_group_iou")]
    mean = mean[["round_id", "image_id", "value"]].rename(columns={"value": "mean_iou"})
    counts = flags.groupby(["round_id", "image_id"]).agg(
        findings=("kind", "size"),
        image_findings=("level", lambda s: int((s == "image").sum())),
        severity=("severity", "max"),
        kinds=("kind", lambda s: ", ".join(sorted(set(s)))),
    )
    frame = tables.results.merge(mean, on=["round_id", "image_id"], how="left")
    frame = frame.merge(counts.reset_index(), on=["round_id", "image_id"], how="left")
    frame = frame.merge(tables.images[["image_id", "file_name"]], on="image_id", how="left")
    frame[["findings", "image_findings"]] = frame[["findings", "image_findings"]].fillna(0).astype("int64")
    frame["kinds"] = frame["kinds"].fillna("")
    frame["rank"] = frame["verdict"].map(VERDICT_ORDER).fillna(3)
    frame = frame.sort_values(
        ["rank", "image_findings", "mean_iou", "findings", "file_name"],
        ascending=[True, False, True, False, True],
        na_position="last",
    )
    return frame.drop(columns="rank").reset_index(drop=True)


def reviewer_frame(tables: Tables) -> pd.DataFrame:
    """Per reviewer: decisions by kind, overrides of the consensus, median hours from queue to decision."""
    decisions = tables.decisions.merge(tables.reviews[["review_item_id", "queued_at"]], on="review_item_id", how="left")
    rows = []
    for reviewer, part in decisions.groupby("reviewer_id"):
        hours = (pd.to_datetime(part["decided_at"], utc=True) - pd.to_datetime(part["queued_at"], utc=True)).dt
        overrides = int(part["kind"].isin(["accept_submission", "rework"]).sum())
        row = {
            "reviewer": tables.people.get(int(reviewer), str(reviewer)),
            "decisions": len(part),
            "overrides": overrides,
            "override_rate": overrides / len(part),
            "median_hours": float(np.nanmedian(hours.total_seconds() / 3600)) if len(part) else math.nan,
        }
        row.update({kind.value: int((part["kind"] == kind.value).sum()) for kind in m.DecisionKind})
        rows.append(row)
    return pd.DataFrame(rows)


def trend_frame(tables: Tables) -> pd.DataFrame:
    """Mean leave-one-out IoU per (round, annotator), rounds in order: drift over time."""
    scores = tables.scores
    loo = scores[(scores["kind"] == "annotator") & (scores["metric"] == "loo_iou")]
    frame = pd.DataFrame(
        {
            "round_id": loo["round_id"].to_numpy(),
            "annotator": [tables.people.get(a[0], str(a[0])) for a in loo["annotators"]],
            "loo_iou": loo["value"].to_numpy(dtype=np.float64),
        }
    )
    out = frame.groupby(["round_id", "annotator"])["loo_iou"].agg(["mean", "size"]).reset_index()
    return out.rename(columns={"mean": "loo_iou", "size": "images"})


def feedback_frame(tables: Tables) -> pd.DataFrame:
    """Each annotator's findings (annotator- and image-level naming them) with the reviewers' notes on the image."""
    flags = tables.flags.explode("annotators").dropna(subset=["annotators"])
    notes = tables.decisions.groupby(["round_id", "image_id"]).apply(_notes, tables.people, include_groups=False)
    notes = notes.rename("review_notes").reset_index() if len(notes) else None
    frame = flags.merge(tables.images[["image_id", "file_name"]], on="image_id", how="left")
    frame["annotator"] = [tables.people.get(int(a), str(a)) for a in frame["annotators"]]
    if notes is not None:
        frame = frame.merge(notes, on=["round_id", "image_id"], how="left")
    else:
        frame["review_notes"] = ""
    frame["review_notes"] = frame["review_notes"].fillna("")
    columns = ["annotator", "round_id", "file_name", "kind", "level", "severity", "message", "review_notes"]
    return frame[columns].sort_values(["annotator", "severity"], ascending=[True, False]).reset_index(drop=True)


def _notes(part: pd.DataFrame, people: dict[int, str]) -> str:
    texts = []
    columns = (part["reviewer_id"], part["kind"], part["note"], part["feedback"])
    for reviewer, kind, note, feedback in zip(*columns, strict=True):
        extra = "; ".join(f"{k}: {v}" for k, v in (feedback or {}).items())
        texts.append(f"{people.get(int(reviewer), reviewer)} ({kind}): {note}" + (f" [{extra}]" if extra else ""))
    return " | ".join(texts)


def class_balance_frame(session: Session, *, round_ids: Sequence[int], classes: dict[int, str]) -> pd.DataFrame:
    """Per class: instance count and pixel share of the consensus (of the latest submissions when none)."""
    c = m.ConsensusSegment
    rows = session.execute(select(c.category_id, c.area).where(col(c.round_id).in_(list(round_ids)))).all()
    source = "consensus"
    if not rows:
        source = "submissions"
        s, sub, a = m.Segment, m.Submission, m.Assignment
        rows = session.execute(
            select(s.category_id, s.area)
            .join(sub, col(sub.id) == s.submission_id)
            .join(a, col(a.id) == sub.assignment_id)
            .where(col(a.round_id).in_(list(round_ids)))
        ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["category_id", "area"])
    out = frame.groupby("category_id")["area"].agg(instances="size", pixels="sum").reset_index()
    out["class"] = [classes.get(int(k), str(k)) for k in out["category_id"]]
    total = out["pixels"].sum()
    out["pixel_share"] = out["pixels"] / total if total else math.nan
    out["source"] = source
    return out[["class", "category_id", "instances", "pixels", "pixel_share", "source"]]


# --- sections that read masks ----------------------------------------------------------------------------


def _latest_by_image(session: Session, round_ids: Sequence[int]) -> dict[tuple[int, int], dict[int, int]]:
    """``(round, image) -> {annotator: submission id}`` of the latest submissions."""
    out: dict[tuple[int, int], dict[int, int]] = {}
    for round_id in round_ids:
        for ref in latest_submissions(session, round_id=round_id):
            out.setdefault((round_id, ref.image_id), {})[ref.annotator_id] = ref.submission_id
    return out


def staple_frame(session: Session, tables: Tables, *, max_images: int = 200) -> pd.DataFrame:
    """Mean STAPLE sensitivity/specificity per annotator, over (image, class) with >= 3 annotators.

    Each annotator's segments of a class are merged into one mask and STAPLE runs over the
    k masks (a class nobody drew is skipped). At most ``max_images`` images are read (worst first
    is not needed here: they are the first ones by id).
    """
    latest = {key: subs for key, subs in _latest_by_image(session, list(tables.rounds["round_id"])).items()}
    chosen = [key for key in sorted(latest) if len(latest[key]) >= 3][:max_images]
    segments = load_segments_of(session, submission_ids=[s for key in chosen for s in latest[key].values()])
    values: dict[int, list[tuple[float, float]]] = {}
    for key in chosen:
        by_annotator = {a: segments[sid] for a, sid in latest[key].items()}
        for annotator, sens, spec in _staple_image(by_annotator):
            values.setdefault(annotator, []).append((sens, spec))
    rows = [
        {
            "annotator_id": a,
            "staple_sensitivity": float(np.nanmean([v[0] for v in vs])) if vs else math.nan,
            "staple_specificity": float(np.nanmean([v[1] for v in vs])) if vs else math.nan,
            "staple_groups": len(vs),
        }
        for a, vs in values.items()
    ]
    return pd.DataFrame(rows, columns=["annotator_id", "staple_sensitivity", "staple_specificity", "staple_groups"])


def _staple_image(by_annotator: dict[int, list[Segment]]) -> list[tuple[int, float, float]]:
    sizes = {s.size for segs in by_annotator.values() for s in segs}
    if len(sizes) != 1:
        return []
    height, width = sizes.pop()
    out = []
    categories = sorted({s.category_id for segs in by_annotator.values() for s in segs})
    people = sorted(by_annotator)
    for category in categories:
        rles = [
            masks.merge([s.rle for s in by_annotator[a] if s.category_id == category])
            if any(s.category_id == category for s in by_annotator[a])
            else masks.empty(height, width)
            for a in people
        ]
        result = staple(rles)
        out.extend(zip(people, result.sensitivity, result.specificity, strict=True))
    return out


def gold_frame(session: Session, tables: Tables) -> pd.DataFrame:
    """Per annotator: mean IoU of all their pixels vs the gold answer's, over their gold images."""
    gold_images = tables.assignments.loc[
        (tables.assignments["kind"] == "gold") & tables.assignments["round_id"].isin(tables.rounds["round_id"]),
        ["round_id", "image_id"],
    ].drop_duplicates()
    latest = _latest_by_image(session, sorted(set(gold_images["round_id"])))
    values: dict[int, list[float]] = {}
    for round_id, image_id in gold_images.itertuples(index=False):
        gold = load_gold_segments(session, image_ids=[int(image_id)]).get(int(image_id), [])
        subs = latest.get((int(round_id), int(image_id)), {})
        if not gold or not subs:
            continue
        truth = masks.merge([s.rle for s in gold])
        loaded = load_segments_of(session, submission_ids=subs.values())
        for annotator, sid in subs.items():
            drawn = loaded[sid]
            mask = masks.merge([s.rle for s in drawn]) if drawn else masks.empty(*masks.image_size(truth))
            values.setdefault(annotator, []).append(mask_iou(mask, truth))
    rows = [{"annotator_id": a, "gold_iou": float(np.nanmean(v)), "gold_images": len(v)} for a, v in values.items()]
    return pd.DataFrame(rows, columns=["annotator_id", "gold_iou", "gold_images"])


def compliance_frames(
    session: Session, tables: Tables, *, guideline: Guideline | None, max_submissions: int = 2000
) -> dict[str, pd.DataFrame]:
    """Rule x annotator and rule x class violation rates, recomputed from stored segments.

    Beyond ``max_submissions`` (or without a guideline), the stored ``guideline`` flags are
    counted instead (rule taken from the message, per annotator only; classes say n/a).
    """
    latest = _latest_by_image(session, list(tables.rounds["round_id"]))
    total = sum(len(v) for v in latest.values())
    if guideline is None or total > max_submissions:
        return _compliance_from_flags(tables)
    sizes = dict(
        zip(tables.images["image_id"], zip(tables.images["height"], tables.images["width"], strict=True), strict=True)
    )
    segments = load_segments_of(session, submission_ids=[s for v in latest.values() for s in v.values()])
    records: list[dict[str, Any]] = []
    for (_, image_id), subs in sorted(latest.items()):
        height, width = sizes[image_id]
        for annotator, sid in sorted(subs.items()):
            found = check_submission(segments[sid], height=int(height), width=int(width), guideline=guideline)
            name = tables.people.get(annotator, str(annotator))
            records += violation_records(segments[sid], found, annotator=name, image_id=image_id, guideline=guideline)
    frame = compliance_frame(records)
    return {
        "compliance_annotator": summarise(frame, by=("rule", "annotator")),
        "compliance_class": summarise(frame, by=("rule", "class")),
    }


def _compliance_from_flags(tables: Tables) -> dict[str, pd.DataFrame]:
    flags = tables.flags[tables.flags["kind"] == "guideline"].explode("annotators")
    rule = [str(msg).split(": ")[1] if str(msg).count(": ") >= 2 else "guideline" for msg in flags["message"]]
    frame = pd.DataFrame({"rule": rule, "annotator": [tables.people.get(a, str(a)) for a in flags["annotators"]]})
    by_annotator = frame.groupby(["rule", "annotator"]).size().rename("violations").reset_index()
    return {"compliance_annotator": by_annotator, "compliance_class": pd.DataFrame(columns=["rule", "class"])}


# --- assembly --------------------------------------------------------------------------------------------


def reproducibility(session: Session, tables: Tables) -> dict[str, Any]:
    """Guideline versions and hashes, a digest of every latest submission's content hash, qc version, thresholds."""
    versions = []
    for version_id in sorted({int(v) for v in tables.rounds["guideline_version_id"].dropna()}):
        row = session.get(m.GuidelineVersion, version_id)
        if row is not None:
            versions.append({"version": row.version, "sha256": row.text_hash})
    hashes = sorted(
        session.scalars(
            select(m.Submission.content_hash)
            .join(m.Assignment, col(m.Assignment.id) == m.Submission.assignment_id)
            .where(col(m.Assignment.round_id).in_(list(tables.rounds["round_id"])))
        )
    )
    return {
        "guidelines": versions,
        "submissions": len(hashes),
        "data_sha256": hashlib.sha256("\n".join(hashes).encode()).hexdigest(),
        "qc_version": _qc_version(),
    }


def _qc_version() -> str:
    try:
        return metadata.version("qc")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "unknown"


def _guideline(session: Session, tables: Tables) -> Guideline | None:
    if tables.rounds.empty or tables.rounds["guideline_version_id"].isna().all():
        return None
    return round_guideline(session, round_id=int(tables.rounds["round_id"].iloc[-1]))


def build_report(
    session: Session, *, round_ids: Sequence[int], title: str, options: ReportOptions | None = None
) -> ReportData:
    """Every section's frame for ``round_ids`` (one round, or a project's rounds)."""
    opts = options or ReportOptions()
    tables = load_tables(session, round_ids=round_ids)
    guideline = _guideline(session, tables)
    gold = gold_frame(session, tables)
    staple_rows = staple_frame(session, tables, max_images=opts.staple_images)
    frames = {
        "headline": headline_frame(tables),
        "agreement": agreement_frame(tables, resamples=opts.resamples, seed=opts.seed),
        "annotators": annotator_frame(tables, gold, staple_rows),
        "pairs": pair_matrix(tables),
        "images": image_frame(tables),
        **compliance_frames(session, tables, guideline=guideline, max_submissions=opts.compliance_submissions),
        "reviewers": reviewer_frame(tables),
        "trends": trend_frame(tables),
        "class_balance": class_balance_frame(session, round_ids=round_ids, classes=tables.classes),
        "feedback": feedback_frame(tables),
    }
    meta = {
        "task": tables.task,
        "rounds": tables.rounds.to_dict(orient="records"),
        "thresholds": guideline.thresholds.model_dump() if guideline is not None else {},
        "reproducibility": reproducibility(session, tables),
        "options": {"resamples": opts.resamples, "seed": opts.seed, "thumbnails": opts.thumbnails},
    }
    log.info("report data for rounds %s: %d images", list(round_ids), len(frames["images"]))
    return ReportData(title, frames, meta)
