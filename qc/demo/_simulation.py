"""Simulated annotators: what one annotator of a :data:`PROFILES` kind would deliver, given the truth.

============== =====================================================================
profile        behaviour
============== =====================================================================
careful        boundary moved by 0-1 px (at most a tenth of the object's inner
               radius, so tiny objects stay as they are) plus a faint jitter
sloppy         boundary moved by 2-4 px (at most 0.35 x the inner radius) plus a
               1 px jitter: masks often fall below IoU 0.8 / Boundary IoU 0.6
misses_small   careful, but drops every instance smaller than the truth's lower
               area quartile, plus 3 % of the rest at random
confuses_class careful, but labels 30 % of the galaxies (3) as stars (4) and of the
               stars as galaxies (objects of at least 30 px only)
============== =====================================================================

Now and then each of them also breaks the guideline (:mod:`qc.demo._slips`), at a small
per-profile rate and on the classes whose rules the slip breaks: a 3 x 3 hole punched in an
object, a stray 3 x 3 fragment beside one (a second part), or a 1 x 3 sliver of the object's
class left beside an object of at least 30 px (below every class's ``min_area``). careful and
misses_small leave a hole in a coin or cell (1 %); sloppy leaves stray fragments (8 %) and
slivers (3 %) by stars, confuses_class stray fragments (5 %). ``Simulation.slips`` lists each
one with the rule it breaks.

Every perturbation runs on a crop around the instance (:func:`qc.masks.crop` /
:func:`qc.masks.paste`). Apart from its slips, a simulated mask keeps to
the rules a labelling tool enforces: one 8-connected piece without holes, never reaching
into the pixels of another object (nor within 1 px of them) and never overlapping the
annotator's own earlier segments; thin objects (inner radius below 4 px) are only ever
grown, and no mask loses more than half of its area. So, on the committed truth (whose
instances have at least twice their class's ``min_area``), the only violations of
``examples/guideline.yaml`` in a submission are its listed slips; it differs from the
truth in shape, presence and class.

>>> import numpy as np
>>> from qc import masks
>>> disk = np.hypot(*np.mgrid[-20:21, -20:21]) <= 12
>>> frame = np.zeros((60, 60), bool); frame[10:51, 10:51] = disk
>>> truth = [(1, Segment(7, 1, masks.encode(frame)))]
>>> careful = simulate(truth, profile="careful", seed=0)
>>> [(image_id, s.id, s.category_id) for image_id, s in careful.segments]
[(1, 1, 1)]
>>> simulate(truth, profile="careful", seed=0) == careful
True
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from qc import masks
from qc.core import Segment
from qc.demo._slips import punch_hole, sliver, stray_fragment
from qc.errors import InvalidOptionError
from qc.formats.overlaps import boxes_meet
from qc.masks import Box

__all__ = ["PROFILES", "Profile", "Simulation", "simulate", "small_area"]

BoolArray = npt.NDArray[np.bool_]

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Profile:
    """How one kind of simulated annotator departs from the truth.

    ``offset_px``: range of the per-instance boundary shift (grown or shrunk at random);
    ``jitter_px``: amplitude of a smooth wavy boundary noise (``jitter_sigma`` px wide);
    both are capped at ``relative_cap`` x the object's inner radius.
    ``drop_small_quantile``: drop instances smaller than this quantile of the truth's areas;
    ``drop_share``: drop this share of the remaining instances at random.
    ``confuse``: class swaps ``(from, to)``, each applied to ``confuse_share`` of the
    instances of at least ``confuse_min_area`` px.
    ``hole_share`` / ``fragment_share`` / ``sliver_share``: share of the instances given a class
    of ``slip_classes`` drawn with a hole / a stray fragment / a sliver left beside them (the
    sliver only by instances of at least ``sliver_min_area`` px; :mod:`qc.demo._slips`).
    """

    name: str
    offset_px: tuple[float, float]
    jitter_px: float
    relative_cap: float
    jitter_sigma: float = 2.0
    drop_small_quantile: float = 0.0
    drop_share: float = 0.0
    confuse: tuple[tuple[int, int], ...] = ()
    confuse_share: float = 0.0
    confuse_min_area: int = 0
    hole_share: float = 0.0
    fragment_share: float = 0.0
    sliver_share: float = 0.0
    slip_classes: tuple[int, ...] = (1, 2)  # coins and cells: one solid piece each in the demo guideline
    sliver_min_area: int = 30

    @property
    def margin(self) -> int:
        """Crop margin around an instance: room for the largest shift and jitter."""
        return math.ceil(self.offset_px[1] + 3 * self.jitter_px) + 2

    def to_dict(self) -> dict[str, Any]:
        return {
            **vars(self),
            "offset_px": list(self.offset_px),
            "confuse": [list(c) for c in self.confuse],
            "slip_classes": list(self.slip_classes),
        }


_CAREFUL = Profile("careful", offset_px=(0.0, 1.0), jitter_px=0.35, relative_cap=0.1, hole_share=0.01)

PROFILES: Mapping[str, Profile] = {
    "careful": _CAREFUL,
    "sloppy": Profile(
        "sloppy",
        offset_px=(2.0, 4.0),
        jitter_px=1.0,
        relative_cap=0.35,
        fragment_share=0.08,
        sliver_share=0.03,
        slip_classes=(4,),  # stars: one piece, at least 4 px
    ),
    "misses_small": replace(_CAREFUL, name="misses_small", drop_small_quantile=0.25, drop_share=0.03),
    "confuses_class": replace(
        _CAREFUL,
        name="confuses_class",
        confuse=((3, 4), (4, 3)),
        confuse_share=0.3,
        confuse_min_area=30,  # a star taken for a galaxy stays a legal galaxy (min_area 12, no sliver)
        hole_share=0.0,
        fragment_share=0.05,
        slip_classes=(4,),
    ),
}
"""The simulated annotator kinds, by name (see the module docstring)."""


@dataclass(frozen=True)
class Simulation:
    """What one simulated annotator delivered.

    ``segments``: ``(image_id, Segment)`` with ids 1..n in output order (unique over the
    whole simulation); ``removed``: ``(image_id, truth segment id)`` left out;
    ``relabelled``: ``(image_id, truth segment id, class given)``; ``slips``:
    ``(image_id, output segment id, rule broken)`` with rule ``holes``, ``max_parts``
    (a stray fragment) or ``min_area`` (a sliver, its own segment).
    """

    segments: list[tuple[Any, Segment]]
    removed: list[tuple[Any, Any]]
    relabelled: list[tuple[Any, Any, int]]
    slips: list[tuple[Any, Any, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "segments": [{"image_id": image_id, **s.to_dict()} for image_id, s in self.segments],
            "removed": [list(r) for r in self.removed],
            "relabelled": [list(r) for r in self.relabelled],
            "slips": [list(r) for r in self.slips],
        }


def small_area(truth: Sequence[tuple[Any, Segment]], *, quantile: float) -> float:
    """The area below which an instance counts as small: the ``quantile`` of the truth's areas (0 when none)."""
    if quantile <= 0 or not truth:
        return 0.0
    return float(np.quantile([s.area for _, s in truth], quantile))


def simulate(
    truth: Sequence[tuple[Any, Segment]],
    *,
    profile: str,
    seed: int,
    image_ids: Iterable[Any] | None = None,
) -> Simulation:
    """One annotator of kind ``profile`` labelling the images of ``truth`` (or only ``image_ids``).

    Deterministic: the same truth, profile and seed give the same segments; each
    instance draws from its own generator (seed, profile, image id, truth id), so
    restricting ``image_ids`` leaves the other images' results unchanged (but for
    the output ids, which count 1..n). The small-area threshold of ``misses_small``
    comes from the whole ``truth``.
    """
    chosen = _profile(profile)
    threshold = small_area(truth, quantile=chosen.drop_small_quantile)
    wanted = None if image_ids is None else set(image_ids)
    by_image: dict[Any, list[Segment]] = {}
    for image_id, segment in truth:
        if wanted is None or image_id in wanted:
            by_image.setdefault(image_id, []).append(segment)
    result = Simulation([], [], [], [])
    for image_id, segments in by_image.items():
        _annotate_image(image_id, segments, chosen, seed, threshold, result)
    return result


def _profile(name: str) -> Profile:
    if name not in PROFILES:
        raise InvalidOptionError("profile", PROFILES, name, hint="Choose a simulated annotator kind")
    return PROFILES[name]


@dataclass(frozen=True)
class _Draws:
    """Every random choice for one instance, drawn up front in a fixed order.

    The slips draw from a second generator (``slip``: hole, fragment, sliver), so that
    they leave every other draw as it was without them.
    """

    drop: float
    confuse: float
    sign: float
    magnitude: float
    rng: np.random.Generator = field(compare=False)
    slip: tuple[float, float, float] = (1.0, 1.0, 1.0)
    slip_rng: np.random.Generator | None = field(default=None, compare=False)

    @classmethod
    def make(cls, seed: int, profile: Profile, image_id: Any, segment_id: Any) -> _Draws:
        key = [seed & 0xFFFFFFFF, zlib.crc32(profile.name.encode()), _stable(image_id), _stable(segment_id)]
        rng = np.random.default_rng(key)
        drop, confuse, sign, fraction = rng.random(4)
        low, high = profile.offset_px
        slip_rng = np.random.default_rng([*key, _SLIP_STREAM])
        hole, fragment, sliver_draw = (float(v) for v in slip_rng.random(3))
        return cls(
            float(drop),
            float(confuse),
            -1.0 if sign < 0.5 else 1.0,
            low + float(fraction) * (high - low),
            rng,
            (hole, fragment, sliver_draw),
            slip_rng,
        )


_SLIP_STREAM = 1


def _stable(value: Any) -> int:
    return zlib.crc32(repr(value).encode())


def _annotate_image(
    image_id: Any, segments: list[Segment], profile: Profile, seed: int, threshold: float, result: Simulation
) -> None:
    drawn: list[Segment] = []
    for segment in segments:
        draws = _Draws.make(seed, profile, image_id, segment.id)
        if segment.area < threshold or draws.drop < profile.drop_share:
            result.removed.append((image_id, segment.id))
            continue
        category = _category(segment, profile, draws.confuse)
        if category != segment.category_id:
            result.relabelled.append((image_id, segment.id, category))
        others = [s for s in segments if s is not segment]
        drawing = _perturbed(segment, others, drawn, profile, draws)
        if drawing is None:
            _emit(result, drawn, image_id, category, segment.rle, "")
            continue
        mask, rule = _slip(drawing, category, profile, draws)
        _emit(result, drawn, image_id, category, drawing.paste(mask), rule)
        strip = _sliver(drawing, mask, segment.area, category, profile, draws)
        if strip is not None:
            _emit(result, drawn, image_id, category, drawing.paste(strip), "min_area")


def _emit(result: Simulation, drawn: list[Segment], image_id: Any, category: int, rle: masks.RLE, rule: str) -> None:
    """A segment delivered under the next output id (and listed as a slip breaking ``rule``, if any)."""
    out = Segment(len(result.segments) + 1, category, rle)
    drawn.append(out)
    result.segments.append((image_id, out))
    if rule:
        result.slips.append((image_id, out.id, rule))


def _category(segment: Segment, profile: Profile, draw: float) -> int:
    if segment.area < profile.confuse_min_area or draw >= profile.confuse_share:
        return segment.category_id
    return dict(profile.confuse).get(segment.category_id, segment.category_id)


@dataclass(frozen=True)
class _Drawing:
    """One instance as drawn, on the crop ``region`` around it, with the pixels the annotator cannot take."""

    mask: BoolArray
    region: Box
    blocked: BoolArray
    size: tuple[int, int]

    def paste(self, crop: BoolArray) -> masks.RLE:
        return masks.paste(crop, self.region, *self.size)


def _slip(drawing: _Drawing, category: int, profile: Profile, draws: _Draws) -> tuple[BoolArray, str]:
    """The drawn mask with a hole or a stray fragment when drawn so, and the rule that breaks (else "")."""
    if category in profile.slip_classes and draws.slip_rng is not None:
        if draws.slip[0] < profile.hole_share:
            holed = punch_hole(drawing.mask)
            if holed is not None:
                return holed, "holes"
        elif draws.slip[1] < profile.fragment_share:
            more = stray_fragment(drawing.mask, drawing.blocked, draws.slip_rng)
            if more is not None:
                return more, "max_parts"
    return drawing.mask, ""


def _sliver(
    drawing: _Drawing, mask: BoolArray, area: int, category: int, profile: Profile, draws: _Draws
) -> BoolArray | None:
    """A sliver left beside the instance just drawn (``mask``, truth ``area`` px), when drawn so."""
    if draws.slip_rng is None or draws.slip[2] >= profile.sliver_share or category not in profile.slip_classes:
        return None
    return sliver(mask, drawing.blocked, draws.slip_rng) if area >= profile.sliver_min_area else None


def _perturbed(
    segment: Segment, others: Sequence[Segment], drawn: Sequence[Segment], profile: Profile, draws: _Draws
) -> _Drawing | None:
    """The instance as the annotator draws it: shifted and jittered boundary, kept legal (module docstring)."""
    height, width = segment.size
    if segment.box is None:
        return None
    region = masks.grow_box(segment.box, profile.margin, height, width)
    truth = masks.crop(segment.rle, region)
    signed = _signed_distance(truth)
    radius = float(-signed.min()) + 0.5
    cap = profile.relative_cap * radius
    noise = ndimage.gaussian_filter(draws.rng.standard_normal(truth.shape), profile.jitter_sigma)
    noise /= max(float(noise.std()), 1e-12)
    level = draws.sign * min(draws.magnitude, cap) + min(profile.jitter_px, cap) * noise
    level = np.maximum(level, 0.0 if radius < 4 else -(radius - 1) / 3)
    blocked = _blocked(region, others, drawn)
    mask = _legal(signed < level, blocked)
    if mask.sum() * 2 < truth.sum():  # shrunk too far: grow only
        mask = _legal(signed < np.maximum(level, 0.0), blocked)
    if not mask.any():
        mask = truth
    return _Drawing(mask, region, blocked, (height, width))


def _signed_distance(mask: BoolArray) -> npt.NDArray[np.float64]:
    """-0.5 on the inner boundary pixels, +0.5 on the outer ones, growing by 1 per pixel away from the edge."""
    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(~mask)
    return np.where(mask, 0.5 - inside, outside - 0.5)


def _blocked(region: Box, others: Sequence[Segment], drawn: Sequence[Segment]) -> BoolArray:
    """Pixels the annotator cannot take: other objects grown by 1 px, and their own earlier segments."""
    x0, y0, x1, y1 = region
    blocked = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    grown = np.zeros_like(blocked)
    for other in others:
        if boxes_meet(other.box, region):
            grown |= masks.crop(other.rle, region)
    for earlier in drawn:
        if boxes_meet(earlier.box, region):
            blocked |= masks.crop(earlier.rle, region)
    return blocked | ndimage.binary_dilation(grown, _EIGHT)


def _legal(mask: BoolArray, blocked: BoolArray) -> BoolArray:
    """The largest 8-connected piece of ``mask`` outside ``blocked``, holes filled."""
    mask = mask & ~blocked
    labels, count = ndimage.label(mask, structure=_EIGHT)
    if count == 0:
        return mask
    largest = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    return np.asarray(ndimage.binary_fill_holes(largest) & ~blocked)
