"""The report's reliability sections: each annotator's reliability, who is paused, and honest agreement.

Pure functions of :class:`~reports.load.Tables`, one frame each.

**Agreement under adaptive overlap.** Escalation picks the images whose first annotators
disagreed: pooled over first-pass and escalated images, agreement mixes an unbiased sample
(every image's first-pass pair) with a sample chosen for being hard. :func:`pass_agreement_frame`
keeps them apart: the first-pass pairs over every image (the unbiased figure), the same pairs
on the images settled at first pass and on the escalated ones, the pairs with the follow-up
annotator, and the pooled figure labelled as such. Agreement of a pair on an image is its
panoptic quality, pooled over images as a ratio of sums (matched IoU over TP + ½ FP + ½ FN)
with a 95% bootstrap interval over images; ``iou`` is the mean IoU of the matched objects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from reports.load import Tables
from reports.stats import bootstrap_ratio

__all__ = ["PASS_ROWS", "pass_agreement_frame", "paused_frame", "reliability_frame"]

FIGURES = ("boundary_iou", "miss_rate", "extra_rate", "class_error_rate", "gold_iou")
"""The figures shown with their bootstrap interval (``<name>_low``, ``<name>_high``)."""

PASS_ROWS = {
    "first_pass": "first-pass pairs, every image (unbiased)",
    "first_pass_settled": "first-pass pairs, images settled at first pass",
    "first_pass_escalated": "first-pass pairs, escalated images (hard by selection)",
    "followup": "pairs with a follow-up annotator, escalated images",
    "pooled": "pooled: every pair of every image (biased by escalation)",
}
"""The rows of :func:`pass_agreement_frame`, in order, with their labels."""


def reliability_frame(tables: Tables) -> pd.DataFrame:
    """Per scope (each round of the report, then the project) and annotator: the stored reliability.

    Columns: ``scope`` (the round's name or id, or ``project``), ``annotator``, ``objects``,
    the figures of :data:`FIGURES` each with ``_low`` / ``_high`` (bootstrap interval),
    ``sensitivity``, ``specificity``, ``gold_failures`` and ``weight``. NaN where undefined.
    """
    rows = []
    names = dict(zip(tables.rounds["round_id"], tables.rounds["name"], strict=True))
    ordered = tables.reliability.assign(is_project=tables.reliability["round_id"].isna())
    ordered = ordered.sort_values(["is_project", "round_id", "annotator_id"], na_position="last")
    for row in ordered.itertuples(index=False):
        project = bool(row.is_project)
        scope = "project" if project else str(names.get(row.round_id) or f"round {int(row.round_id)}")
        out: dict[str, Any] = {
            "scope": scope,
            "annotator": tables.people.get(int(row.annotator_id), str(row.annotator_id)),
            "objects": int(row.n_objects),
        }
        intervals = row.intervals or {}
        for name in FIGURES:
            low, high = intervals.get(name) or (None, None)
            out[name], out[f"{name}_low"], out[f"{name}_high"] = (_num(getattr(row, name)), _num(low), _num(high))
        for name in ("sensitivity", "specificity", "weight"):
            out[name] = _num(getattr(row, name))
        out["gold_failures"] = int(row.gold_failures)
        rows.append(out)
    columns = ["scope", "annotator", "objects"]
    columns += [f"{n}{s}" for n in FIGURES for s in ("", "_low", "_high")]
    columns += ["sensitivity", "specificity", "gold_failures", "weight"]
    return pd.DataFrame(rows, columns=columns)


def paused_frame(tables: Tables) -> pd.DataFrame:
    """The annotators paused for failing gold (``gold.pause_after_failures``) and their gold failures."""
    rows = [{"annotator": name, "gold_failures": n} for name, n in sorted(tables.paused.items())]
    return pd.DataFrame(rows, columns=["annotator", "gold_failures"])


def pass_agreement_frame(tables: Tables, *, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Pair agreement of first-pass pairs apart from escalated images (see the module docstring).

    One row per entry of :data:`PASS_ROWS` (``set``, ``label``), with ``images``, ``pairs``,
    ``pq`` and its interval (``pq_low``, ``pq_high``) and ``iou`` (mean IoU of matched objects).
    """
    pairs = _pairs(tables)
    rows = []
    for key, label in PASS_ROWS.items():
        part = pairs[pairs[key]] if len(pairs) else pairs
        per_image = part.groupby(["round_id", "image_id"])[["pq_num", "pq_den", "tp"]].sum()
        pq = bootstrap_ratio(per_image["pq_num"], per_image["pq_den"], resamples=resamples, seed=seed)
        matched = float(per_image["tp"].sum())
        iou = float(per_image["pq_num"].sum()) / matched if matched else math.nan
        row = {"set": key, "label": label, "images": len(per_image), "pairs": len(part)}
        row.update(pq=pq[0], pq_low=pq[1], pq_high=pq[2], iou=iou)
        rows.append(row)
    return pd.DataFrame(rows, columns=["set", "label", "images", "pairs", "pq", "pq_low", "pq_high", "iou"])


def _pairs(tables: Tables) -> pd.DataFrame:
    """One row per stored pair score (``pq``) of the report's images, with which set(s) it belongs to."""
    scores = tables.scores
    pq = scores[(scores["kind"] == "pair") & (scores["metric"] == "pq")]
    ours = tables.assignments[tables.assignments["round_id"].isin(tables.rounds["round_id"])]
    followups = {
        (int(r), int(i), int(a))
        for r, i, a in zip(
            *_columns(ours[ours["kind"] == "followup"], "round_id", "image_id", "annotator_id"), strict=True
        )
    }
    escalated = {(r, i) for r, i, _ in followups}
    rows = []
    for round_id, image_id, members, value, detail in zip(
        *_columns(pq, "round_id", "image_id", "annotators", "value", "detail"), strict=True
    ):
        key = (int(round_id), int(image_id))
        detail = detail or {}
        tp, fp, fn = (int(detail.get(n, 0)) for n in ("tp", "fp", "fn"))
        den = tp + 0.5 * (fp + fn)
        num = 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value) * den
        first = not any((*key, int(a)) in followups for a in members)
        hard = key in escalated
        rows.append(
            {
                "round_id": key[0],
                "image_id": key[1],
                "pq_num": num,
                "pq_den": den,
                "tp": tp,
                "first_pass": first,
                "first_pass_settled": first and not hard,
                "first_pass_escalated": first and hard,
                "followup": not first,
                "pooled": True,
            }
        )
    columns = ["round_id", "image_id", "pq_num", "pq_den", "tp", *PASS_ROWS]
    return pd.DataFrame(rows, columns=columns)


def _columns(frame: pd.DataFrame, *names: str) -> Iterable[Any]:
    return (frame[name].tolist() for name in names)


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    number = float(value)
    return number if np.isfinite(number) else math.nan
