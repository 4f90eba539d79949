"""The report's sections as pure functions of :class:`~reports.load.Tables`, one frame each.

Headline counts, agreement per class (with bootstrap intervals), the annotator x annotator
matrix, per-annotator, per-image and per-reviewer tables, trends over rounds and each
annotator's feedback. None of them reads the store: the sections that need masks or segment
rows are in :mod:`reports.mask_sections`. Undefined numbers are NaN.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qc.store.models import DecisionKind
from reports.load import Tables
from reports.stats import NO_ESTIMATE, bootstrap_ratio, ratio

__all__ = [
    "VERDICT_ORDER",
    "agreement_frame",
    "annotator_frame",
    "feedback_frame",
    "headline_frame",
    "image_frame",
    "pair_matrix",
    "reviewer_frame",
    "trend_frame",
]

VERDICT_ORDER = {"review": 0, "escalate": 1, "accepted": 2}
"""How images rank in the per-image table: review first, then escalated, then accepted."""


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
        "labels_per_accepted": ratio(spent, len(accepted)),
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
        _put(row, "kappa", NO_ESTIMATE)
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
        _put(row, name, NO_ESTIMATE)
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
        value = ratio(total, weight)
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
    """Per scored image, worst first: verdict, labels, mean group IoU, findings, worst severity, review decisions.

    ``review`` is for the manager and the lead: every decision on the image with its note and
    each annotator's feedback by name (an annotator's own page shows only what was written to them).
    """
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
    frame = frame.merge(_decision_notes(tables), on=["round_id", "image_id"], how="left")
    frame[["findings", "image_findings"]] = frame[["findings", "image_findings"]].fillna(0).astype("int64")
    frame[["kinds", "review"]] = frame[["kinds", "review"]].fillna("")
    frame["rank"] = frame["verdict"].map(VERDICT_ORDER).fillna(3)
    frame = frame.sort_values(
        ["rank", "image_findings", "mean_iou", "findings", "file_name"],
        ascending=[True, False, True, False, True],
        na_position="last",
    )
    return frame.drop(columns="rank").reset_index(drop=True)


def _decision_notes(tables: Tables) -> pd.DataFrame:
    """``round_id, image_id, review``: every decision on the image, its note and feedback by annotator name."""
    decisions, people = tables.decisions, tables.people
    rows = []
    columns = (decisions["round_id"], decisions["image_id"], decisions["reviewer_id"], decisions["kind"])
    for round_id, image_id, reviewer, kind, note, feedback in zip(
        *columns, decisions["note"], decisions["feedback"], strict=True
    ):
        texts = [f"{people.get(int(k), k) if str(k).isdigit() else k}: {v}" for k, v in (feedback or {}).items()]
        text = f"{people.get(int(reviewer), reviewer)} ({kind})" + (f": {note}" if note else "")
        rows.append((int(round_id), int(image_id), text + (f" [{'; '.join(texts)}]" if texts else "")))
    notes = pd.DataFrame(rows, columns=["round_id", "image_id", "review"])
    return notes.groupby(["round_id", "image_id"], as_index=False)["review"].agg(" | ".join)


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
        row |= {kind.value: int((part["kind"] == kind.value).sum()) for kind in DecisionKind}
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


def rejection_frame(tables: Tables) -> pd.DataFrame:
    """Per annotator and image, what their latest delivery lost to rejections (the image waits, unscored)."""
    columns = ["annotator", "round_id", "file_name", "rejected", "fields", "first_rejection"]
    if tables.rejections.empty:
        return pd.DataFrame(columns=columns)
    grouped = tables.rejections.groupby(["round_id", "image_id", "annotator_id"], sort=True)
    frame = grouped.agg(
        rejected=("message", "size"),
        fields=("field", lambda v: ", ".join(sorted({str(f) for f in v if f}))),
        first_rejection=("message", "first"),
    ).reset_index()
    frame = frame.merge(tables.images[["image_id", "file_name"]], on="image_id", how="left")
    frame["annotator"] = [tables.people.get(int(a), str(a)) for a in frame["annotator_id"]]
    return frame[columns].sort_values(["annotator", "round_id", "file_name"]).reset_index(drop=True)


def feedback_frame(tables: Tables) -> pd.DataFrame:
    """Each annotator's findings (annotator- and image-level naming them) with what reviewers wrote to them.

    ``review_notes`` holds only the feedback a reviewer addressed to that annotator on that
    image (``reviewer (decision kind): text``): never the note for the lead, nor another
    annotator's feedback, since ``qc report --annotator`` hands these rows to the annotator.
    Feedback on an image where no finding names the annotator is a row of its own (kind
    ``review_feedback``), so that nothing addressed to them is left out.
    """
    keys = ["round_id", "image_id", "annotator_id"]
    flags = tables.flags.explode("annotators").dropna(subset=["annotators"])
    flags = flags.assign(annotator_id=flags["annotators"].astype(int)).drop(columns="annotators")
    notes = _addressed_feedback(tables)
    frame = flags.merge(notes, on=keys, how="left")
    alone = notes.merge(flags[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    alone = alone[alone["_merge"] == "left_only"].drop(columns="_merge")
    if len(alone):
        extra = alone.assign(kind="review_feedback", level="annotator", severity=0.0, message="a reviewer wrote to you")
        frame = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
    frame = frame.merge(tables.images[["image_id", "file_name"]], on="image_id", how="left")
    frame["annotator"] = [tables.people.get(int(a), str(a)) for a in frame["annotator_id"]]
    frame["review_notes"] = frame["review_notes"].fillna("")
    columns = ["annotator", "round_id", "file_name", "kind", "level", "severity", "message", "review_notes"]
    return frame[columns].sort_values(["annotator", "severity"], ascending=[True, False]).reset_index(drop=True)


def _addressed_feedback(tables: Tables) -> pd.DataFrame:
    """``round_id, image_id, annotator_id, review_notes``: the feedback texts addressed to each annotator."""
    decisions = tables.decisions
    rows = []
    columns = (decisions["round_id"], decisions["image_id"], decisions["reviewer_id"], decisions["kind"])
    for round_id, image_id, reviewer, kind, feedback in zip(*columns, decisions["feedback"], strict=True):
        for key, text in (feedback or {}).items():
            if str(key).isdigit() and str(text).strip():
                who = tables.people.get(int(reviewer), str(reviewer))
                rows.append((int(round_id), int(image_id), int(key), f"{who} ({kind}): {text}"))
    notes = pd.DataFrame(rows, columns=["round_id", "image_id", "annotator_id", "review_notes"])
    return notes.groupby(["round_id", "image_id", "annotator_id"], as_index=False)["review_notes"].agg(" | ".join)
