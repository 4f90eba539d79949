"""What a scored image stores: its agreement, model comparisons and findings as score and flag rows.

The rows are the store's create-models (:class:`~qc.store.results.ScoreCreate`,
:class:`~qc.store.results.FlagCreate`), naming annotators by person id; NaN values are
stored as ``NULL`` by the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qc.agreement import ImageAgreement
from qc.automation import AutomationRate, ModelAgreement
from qc.flags import Assessment
from qc.store.results import FlagCreate, ScoreCreate

__all__ = ["flag_rows", "model_rows", "score_rows"]

_GROUP_METRICS = ("min_iou", "mean_iou", "min_boundary_iou", "mean_boundary_iou")


def score_rows(agreement: ImageAgreement, ids: Mapping[str, int]) -> list[ScoreCreate]:
    """``group`` rows per match group, ``pair`` PQ/SQ/RQ, ``annotator`` leave-one-out IoU, ``image`` means."""
    rows: list[ScoreCreate] = []
    for group in agreement.groups:
        members = tuple(ids[a] for a in group.annotators)
        detail = {"group": group.index, "status": str(group.status), "supporters": [ids[a] for a in group.supporters]}
        category = group.category if group.category is not None else group.categories[0][1]
        for metric in _GROUP_METRICS:
            kept = detail if metric == "min_iou" else None
            rows.append(ScoreCreate("group", members, metric, getattr(group, metric), category, kept))
    for pair in agreement.pairs:
        members = (ids[pair.a], ids[pair.b])
        detail = {"tp": pair.tp, "fp": pair.fp, "fn": pair.fn}
        rows += [
            ScoreCreate("pair", members, metric, getattr(pair, metric), None, detail) for metric in ("pq", "sq", "rq")
        ]
    for score in agreement.annotator_scores:
        detail = {"objects": score.objects, "segments": score.segments}
        rows.append(ScoreCreate("annotator", (ids[score.annotator],), "loo_iou", score.loo_iou, None, detail))
    everyone = tuple(ids[a] for a in agreement.annotators)
    means = [g.mean_iou for g in agreement.groups if g.pairs]
    rows.append(ScoreCreate("image", everyone, "mean_group_iou", float(sum(means) / len(means)) if means else None))
    if agreement.semantic is not None:
        rows.append(ScoreCreate("image", everyone, "fleiss_kappa", agreement.semantic.fleiss_kappa))
        rows.append(ScoreCreate("image", everyone, "krippendorff_alpha", agreement.semantic.krippendorff_alpha))
    return rows


def model_rows(
    models: Sequence[ModelAgreement | tuple[str, AutomationRate]], ids: Mapping[str, int]
) -> list[ScoreCreate]:
    """``pair`` rows ``model_iou`` (human, model) and ``annotator`` rows ``automation_rate`` (model)."""
    rows = []
    for item in models:
        if isinstance(item, ModelAgreement):
            members = (ids[item.human], ids[item.model])
            rows.append(ScoreCreate("pair", members, "model_iou", item.mean_iou, None, item.to_dict()))
        else:
            model, rate = item
            rows.append(ScoreCreate("annotator", (ids[model],), "automation_rate", rate.rate, None, rate.to_dict()))
    return rows


def flag_rows(assessment: Assessment, ids: Mapping[str, int]) -> list[FlagCreate]:
    """One flag per finding, naming the annotators the store knows."""
    return [
        FlagCreate(
            kind=str(f.kind),
            level=str(f.level),
            bbox=f.bbox,
            annotators=tuple(ids[a] for a in f.annotators if a in ids),
            category_id=f.category_id,
            severity=f.severity,
            message=f.message,
        )
        for f in assessment.findings
    ]
