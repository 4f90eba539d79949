"""What :func:`~qc.agreement.score_image` returns: frozen dataclasses with ``to_dict()``, no arrays but RLE."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from qc.masks import RLE, Box


class GroupStatus(StrEnum):
    SUPPORTED = "supported"
    CLASS_CONFLICT = "class_conflict"
    ABSENT = "absent"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class PairScore:
    """Mask IoU and Boundary IoU of two members of a group."""

    a: str
    b: str
    iou: float
    boundary_iou: float


@dataclass(frozen=True)
class GroupAgreement:
    """One object as the annotators drew it, and whether a majority supports it."""

    index: int
    members: tuple[tuple[str, Any], ...]
    categories: tuple[tuple[str, int], ...]
    box: Box
    pairs: tuple[PairScore, ...]
    status: GroupStatus
    supporters: tuple[str, ...]
    category: int | None
    consensus: RLE | None = field(repr=False)
    vs_consensus: tuple[PairScore, ...]
    consensus_area: int = 0
    consensus_bbox: tuple[int, int, int, int] = (0, 0, 0, 0)
    leave_one_out: tuple[tuple[str, float], ...] = ()
    """Per member, the IoU of their mask with the others' majority (of two others, their shape average)."""
    decided_by: str | None = None
    """The annotator whose measured reliability decided this object's disputed shape
    (:attr:`AgreementSettings.reliability_decides_at`); ``None`` when a majority agreed on it."""

    @property
    def annotators(self) -> tuple[str, ...]:
        return tuple(a for a, _ in self.members)

    def consensus_segment(self) -> ConsensusSegment | None:
        """The accepted label of a supported group with a consensus and a class; ``None`` otherwise."""
        if self.status is not GroupStatus.SUPPORTED or self.consensus is None or self.category is None:
            return None
        return ConsensusSegment(
            self.index, self.category, self.consensus, self.supporters, self.consensus_area, self.consensus_bbox
        )

    @property
    def min_iou(self) -> float:
        return min((p.iou for p in self.pairs), default=math.nan)

    @property
    def mean_iou(self) -> float:
        return float(np.mean([p.iou for p in self.pairs])) if self.pairs else math.nan

    @property
    def min_boundary_iou(self) -> float:
        return min((p.boundary_iou for p in self.pairs), default=math.nan)

    @property
    def mean_boundary_iou(self) -> float:
        return float(np.mean([p.boundary_iou for p in self.pairs])) if self.pairs else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "members": dict(self.members),
            "categories": dict(self.categories),
            "box": list(self.box),
            "status": str(self.status),
            "supporters": list(self.supporters),
            "category": self.category,
            "decided_by": self.decided_by,
            "min_iou": self.min_iou,
            "mean_iou": self.mean_iou,
            "min_boundary_iou": self.min_boundary_iou,
            "mean_boundary_iou": self.mean_boundary_iou,
            "pairs": [vars(p) for p in self.pairs],
            "vs_consensus": [vars(p) for p in self.vs_consensus],
        }


@dataclass(frozen=True)
class PairAgreement:
    """PQ / SQ / RQ between two annotators (``a`` the reference for panoptic VOID rules)."""

    a: str
    b: str
    pq: float
    sq: float
    rq: float
    tp: int
    fp: int
    fn: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator's agreement with the others on this image (NaN when no object to compare)."""

    annotator: str
    loo_iou: float
    objects: int
    segments: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class SemanticAgreement:
    """Pixel-level agreement of semantic projects; ``classes`` orders the per-class values."""

    classes: tuple[int, ...]
    per_class_iou: tuple[tuple[tuple[str, str], tuple[float, ...]], ...]
    fleiss_kappa: float
    krippendorff_alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "per_class_iou": {f"{a}|{b}": list(v) for (a, b), v in self.per_class_iou},
            "fleiss_kappa": self.fleiss_kappa,
            "krippendorff_alpha": self.krippendorff_alpha,
        }


@dataclass(frozen=True)
class ConsensusSegment:
    """The accepted label of one supported object."""

    group: int
    category_id: int
    rle: RLE = field(repr=False)
    supporters: tuple[str, ...]
    area: int = 0
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "category_id": self.category_id,
            "rle": dict(self.rle),
            "supporters": list(self.supporters),
            "area": self.area,
            "bbox": list(self.bbox),
        }


@dataclass(frozen=True)
class ImageAgreement:
    """Everything measured on one image."""

    image_id: Any
    height: int
    width: int
    annotators: tuple[str, ...]
    groups: tuple[GroupAgreement, ...]
    pairs: tuple[PairAgreement, ...]
    annotator_scores: tuple[AnnotatorAgreement, ...]
    consensus: tuple[ConsensusSegment, ...]
    semantic: SemanticAgreement | None = None

    @property
    def majority(self) -> int:
        return len(self.annotators) // 2 + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "height": self.height,
            "width": self.width,
            "annotators": list(self.annotators),
            "groups": [g.to_dict() for g in self.groups],
            "pairs": [p.to_dict() for p in self.pairs],
            "annotator_scores": [s.to_dict() for s in self.annotator_scores],
            "consensus": [c.to_dict() for c in self.consensus],
            "semantic": self.semantic.to_dict() if self.semantic else None,
        }
