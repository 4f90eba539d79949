"""The thresholds of one scoring run (:class:`AgreementSettings`), each a guideline setting."""

from __future__ import annotations

from dataclasses import dataclass

from qc.core import Task
from qc.errors import InvalidOptionError
from qc.guideline import ConsensusMethod

__all__ = ["AgreementSettings"]


@dataclass(frozen=True)
class AgreementSettings:
    """Thresholds of one scoring run; every value is a guideline setting (DESIGN §4–§5)."""

    task: str = "instance"
    match_iou: float = 0.5
    accept_iou: float = 0.75
    accept_boundary_iou: float = 0.5
    dilation_ratio: float = 0.02
    consensus_method: str = "majority"
    strict_majority: bool = False
    stuff_classes: frozenset[int] = frozenset()
    annotator_weights: tuple[tuple[str, float], ...] = ()
    """Per annotator, the weight of their boundary in ``weighted`` / ``auto`` consensus
    (:attr:`qc.reliability.Reliability.weight`); an annotator not listed weighs 1."""

    reliability_decides_at: int | None = None
    """From this many annotators on an image, a shape dispute that their measured reliability decides
    (:func:`qc.consensus.reliability_decides`, weights from ``annotator_weights``) is supported by the
    more reliable boundary instead of ``unsupported``; only with consensus ``weighted`` / ``auto``.
    ``None``: never. Rounds set it to the guideline's ``k_max``: a disputed image still gets its
    extra annotators first; reliability stands in for the reviewer only."""

    def weight_of(self, annotator: str) -> float:
        """The consensus weight of ``annotator`` (1 when not listed)."""
        return dict(self.annotator_weights).get(annotator, 1.0)

    def __post_init__(self) -> None:
        if self.task not in list(Task):
            raise InvalidOptionError("task", list(Task), self.task)
        if self.consensus_method not in list(ConsensusMethod):
            raise InvalidOptionError(
                "consensus_method", list(ConsensusMethod), self.consensus_method, field="consensus.method"
            )
        for annotator, weight in self.annotator_weights:
            if not (isinstance(weight, int | float) and 0.0 < weight < float("inf")):
                raise InvalidOptionError("annotator_weights", "numbers > 0 (finite)", weight, field=annotator)
        if self.reliability_decides_at is not None and self.reliability_decides_at < 2:
            raise InvalidOptionError("reliability_decides_at", "an integer >= 2, or None", self.reliability_decides_at)
        for name in ("match_iou", "accept_iou", "accept_boundary_iou"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidOptionError(name, "a number within [0, 1]", value)
