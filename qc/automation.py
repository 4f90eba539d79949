"""A model as an annotator: each human's agreement with the model, and how much of the model humans kept.

* :func:`model_agreement` matches one human's instances to the model's (same class,
  IoU >= ``match_iou``) and reports ``mean_iou``: the summed IoU of the matches over
  ``matched + unmatched human + unmatched model`` instances (a PQ-style segmentation
  quality that charges misses; :attr:`qc.match.MatchTally.mean_iou`). Both empty: ``1.0``
  (they agree there is nothing, where the tally says NaN); one empty: ``0.0``.
* :func:`automation_rate` is the share of the model's instances accepted into the
  consensus unchanged: matched to a consensus segment of the same class with IoU >=
  ``accept_iou``. No model instance: ``NaN`` (nothing to automate).

>>> from qc.masks import from_polygons
>>> square = Segment(1, 3, from_polygons([[0, 0, 4, 0, 4, 4, 0, 4]], 8, 8))
>>> other = Segment(2, 3, from_polygons([[4, 4, 8, 4, 8, 8, 4, 8]], 8, 8))
>>> model_agreement([square], [square, other], human="ann", model="m").mean_iou
0.5
>>> automation_rate([square, other], [square], accept_iou=0.9).rate
0.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from qc.core import Segment
from qc.match import MatchTally, match_instances

__all__ = ["AutomationRate", "ModelAgreement", "automation_rate", "model_agreement"]


@dataclass(frozen=True)
class ModelAgreement:
    """One human against one model on one image."""

    human: str
    model: str
    matched: int
    human_only: int
    model_only: int
    iou_sum: float

    @property
    def mean_iou(self) -> float:
        value = MatchTally(self.matched, self.human_only, self.model_only, self.iou_sum).mean_iou
        return 1.0 if math.isnan(value) else value  # both empty: they agree there is nothing

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "mean_iou": self.mean_iou}


@dataclass(frozen=True)
class AutomationRate:
    """Model instances accepted unchanged into the consensus."""

    model_instances: int
    accepted: int

    @property
    def rate(self) -> float:
        return math.nan if self.model_instances == 0 else self.accepted / self.model_instances

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate}


def model_agreement(
    human_segments: Sequence[Segment],
    model_segments: Sequence[Segment],
    *,
    human: str,
    model: str,
    match_iou: float = 0.5,
) -> ModelAgreement:
    """How well one human's instances agree with the model's on one image (see the module docstring)."""
    humans = [s for s in human_segments if not s.iscrowd]
    models = [s for s in model_segments if not s.iscrowd]
    matches = match_instances(humans, models, iou_threshold=match_iou) if humans and models else []
    tally = MatchTally.of([m.iou for m in matches], a_total=len(humans), b_total=len(models))
    return ModelAgreement(human, model, tally.matched, tally.only_a, tally.only_b, tally.iou_sum)


def automation_rate(
    model_segments: Sequence[Segment], consensus: Sequence[Segment], *, accept_iou: float = 0.9
) -> AutomationRate:
    """The model's instances that the consensus kept unchanged (same class, IoU >= ``accept_iou``)."""
    models = [s for s in model_segments if not s.iscrowd]
    if not models or not consensus:
        return AutomationRate(len(models), 0)
    matches = match_instances(models, list(consensus), iou_threshold=accept_iou)
    return AutomationRate(len(models), len(matches))
