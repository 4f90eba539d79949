"""One match group scored on one crop: pair scores, the majority rule, consensus and leave-one-out.

Every member is decoded once in the region around the group, with its boundary band
(:class:`_GroupCrops`); nothing here paints a full frame.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from qc import consensus as _consensus
from qc import fusion as _fusion
from qc import masks
from qc.agreement._results import GroupAgreement, GroupStatus, PairScore
from qc.masks import RLE, Box
from qc.match import MatchGroup
from qc.metrics._boundary import _band_from_column_erosion, _inner_band

if TYPE_CHECKING:
    from qc.agreement._settings import AgreementSettings

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _GroupCrops:
    """Every member of a group decoded once in one region, with its boundary band."""

    region: Box
    rles: dict[str, RLE]
    masks: dict[str, BoolArray]
    bands: dict[str, BoolArray]
    d: int
    distances: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)  # filled on first use

    def distance(self, annotator: str) -> npt.NDArray[np.float64]:
        """The member's signed distance map (:func:`qc.fusion.signed_distance`), computed once."""
        if annotator not in self.distances:
            self.distances[annotator] = _fusion.signed_distance(self.masks[annotator])
        return self.distances[annotator]

    def fuse(self, names: Sequence[str], *, strict: bool = False) -> BoolArray:
        """These members' :func:`qc.fusion.majority_fusion`, from their cached distance maps."""
        return _fusion.majority_fusion(
            [self.masks[a] for a in names], strict=strict, distances=lambda i: self.distance(names[i])
        )

    @classmethod
    def build(cls, group: MatchGroup, d: int, height: int, width: int) -> _GroupCrops:
        # bands are computed on each mask's tight box (exact), so the region needs no band margin
        region = masks.grow_box(group.box or (0, 0, 0, 0), 1, height, width)
        crops, bands = {}, {}
        for annotator, segment in group.members:
            crops[annotator] = mask = segment.mask_in(region)
            if min(segment.bbox[2], segment.bbox[3]) <= 2 * d:  # erodes to nothing: all of it is band
                bands[annotator] = mask
                continue
            vertical = masks.column_eroded_crop(segment.rle, region, d)
            bands[annotator] = _band_from_column_erosion(mask, vertical, d)
        rles = {a: s.rle for a, s in group.members}
        return cls(region, rles, crops, bands, d)

    def empty(self) -> BoolArray:
        x0, y0, x1, y1 = self.region
        return np.zeros((y1 - y0, x1 - x0), dtype=bool)

    def score(
        self, first: BoolArray, second: BoolArray, first_band: BoolArray, second_band: BoolArray
    ) -> tuple[float, float]:
        return _ratio(first, second), _ratio(first_band, second_band)


def _score_group(
    index: int, group: MatchGroup, crops: _GroupCrops, k: int, settings: AgreementSettings, height: int, width: int
) -> GroupAgreement:
    members = group.annotators
    pairs = tuple(
        PairScore(a, b, *crops.score(crops.masks[a], crops.masks[b], crops.bands[a], crops.bands[b]))
        for a, b in itertools.combinations(members, 2)
    )
    categories = {a: s.category_id for a, s in group.members}
    status, supporters, category, decided_by = _support(members, pairs, categories, k, settings)
    consensus_crop = _consensus_crop(crops, supporters, settings) if supporters else None
    vs_consensus: tuple[PairScore, ...] = ()
    consensus_rle = None
    consensus_area, consensus_bbox = 0, (0, 0, 0, 0)
    if consensus_crop is not None:
        band = _inner_band(consensus_crop, crops.d)
        vs_consensus = tuple(
            PairScore(a, "consensus", *crops.score(crops.masks[a], consensus_crop, crops.bands[a], band))
            for a in members
        )
        consensus_rle = masks.paste(consensus_crop, crops.region, height, width)
        consensus_area, consensus_bbox = _area_and_bbox(consensus_crop, crops.region)
    x0, y0, x1, y1 = group.box or (0, 0, 0, 0)
    return GroupAgreement(
        index=index,
        members=tuple((a, s.id) for a, s in group.members),
        categories=tuple(sorted(categories.items())),
        box=(x0, y0, x1, y1),
        pairs=pairs,
        status=status,
        supporters=supporters,
        category=category,
        consensus=consensus_rle if status is GroupStatus.SUPPORTED else None,
        vs_consensus=vs_consensus,
        consensus_area=consensus_area,
        consensus_bbox=consensus_bbox,
        decided_by=decided_by,
    )


def _support(
    members: tuple[str, ...],
    pairs: tuple[PairScore, ...],
    categories: Mapping[str, int],
    k: int,
    settings: AgreementSettings,
) -> tuple[GroupStatus, tuple[str, ...], int | None, str | None]:
    """The majority rule of DESIGN §5: who supports the object, with which class, and who decided it
    by their measured reliability (:func:`_decided`; ``None`` when a majority agreed)."""
    majority = k // 2 + 1
    agree = {
        (p.a, p.b)
        for p in pairs
        if p.iou >= settings.accept_iou and _at_least(p.boundary_iou, settings.accept_boundary_iou)
    }
    shape_set = _largest_agreeing_set(members, agree)
    if len(shape_set) < majority:
        if k - len(members) >= majority:
            return GroupStatus.ABSENT, (), None, None
        decided = _decided(members, agree, categories, k, settings)
        if decided is not None:
            return GroupStatus.SUPPORTED, decided[0], decided[1], decided[0][0]
        return GroupStatus.UNSUPPORTED, shape_set, None, None
    votes = Counter(categories[a] for a in shape_set)
    category, count = min(votes.items(), key=lambda item: (-item[1], item[0]))
    if count < majority:
        return GroupStatus.CLASS_CONFLICT, shape_set, None, None
    return GroupStatus.SUPPORTED, tuple(a for a in shape_set if categories[a] == category), category, None


def _decided(
    members: tuple[str, ...],
    agree: set[tuple[str, str]],
    categories: Mapping[str, int],
    k: int,
    settings: AgreementSettings,
) -> tuple[tuple[str, ...], int] | None:
    """A shape dispute the members' measured reliability decides (:func:`qc.consensus.reliability_decides`):
    the supporters (the decider first) and the class, or ``None``.

    Only with consensus ``weighted`` / ``auto``, from ``settings.reliability_decides_at`` annotators
    on, when a majority of the image's annotators drew the object and a majority of them gave it
    the decider's class.
    """
    at = settings.reliability_decides_at
    if settings.consensus_method not in ("weighted", "auto") or at is None or k < at or len(members) < k // 2 + 1:
        return None
    side = _consensus.reliability_decides(members, agree, dict(settings.annotator_weights))
    if side is None:
        return None
    category = categories[side[0]]
    if sum(1 for a in members if categories[a] == category) < k // 2 + 1:
        return None
    decider, *rest = side
    return (decider, *(a for a in rest if categories[a] == category)), category


def _largest_agreeing_set(members: tuple[str, ...], agree: set[tuple[str, str]]) -> tuple[str, ...]:
    """The largest set of members agreeing pairwise (k is small: subsets, largest first, then by name)."""
    for size in range(len(members), 1, -1):
        for subset in itertools.combinations(members, size):
            if all(pair in agree for pair in itertools.combinations(subset, 2)):
                return subset
    return members[:1]


def _consensus_crop(crops: _GroupCrops, supporters: tuple[str, ...], settings: AgreementSettings) -> BoolArray:
    stack = [crops.masks[a] for a in supporters]
    method = settings.consensus_method
    if method == "staple" and len(stack) > 1:
        # on the full-image masks, so the prior is SimpleITK's (mean foreground over the whole image)
        result = _consensus.staple([crops.rles[a] for a in supporters])
        return masks.crop(result.consensus, crops.region)
    if method in ("weighted", "auto"):
        weights = [settings.weight_of(a) for a in supporters]
        maps = [crops.distance(a) for a in supporters]
        return _fusion.reliability_fusion(stack, weights, method=method, distances=maps)
    return crops.fuse(supporters, strict=settings.strict_majority)


def _leave_one_out(group: MatchGroup, crops: _GroupCrops) -> dict[str, float]:
    """Per annotator who drew this object: IoU of their mask with the majority vote of the others' masks.

    Of two others, their fusion (:func:`qc.fusion.shape_average`), as in the consensus. Only objects
    that both the annotator and the others drew count: this is shape agreement; misses and extras
    are counted apart (``missed`` / ``extra`` findings).
    """
    out: dict[str, float] = {}
    for annotator in group.annotators:
        others = [a for a in group.annotators if a != annotator]
        if others:
            # the others' majority; of two, their unbiased fusion (their majority would be the union)
            fused = crops.fuse(others)
            out[annotator] = _ratio(crops.masks[annotator], fused)
    return out


def _area_and_bbox(crop: BoolArray, region: Box) -> tuple[int, tuple[int, int, int, int]]:
    """Area and COCO bbox of a crop placed at ``region`` (no RLE parsing)."""
    rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
    if rows.size == 0:
        return 0, (0, 0, 0, 0)
    x, y = region[0] + int(cols[0]), region[1] + int(rows[0])
    return int(np.count_nonzero(crop)), (x, y, int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1)


def _ratio(first: BoolArray, second: BoolArray) -> float:
    union = int(np.count_nonzero(first | second))
    return int(np.count_nonzero(first & second)) / union if union else math.nan


def _at_least(value: float, limit: float) -> bool:
    return math.isnan(value) or value >= limit
