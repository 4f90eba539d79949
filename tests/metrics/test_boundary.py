"""Boundary IoU, COCO boundary IoU and the DAVIS boundary F against the golden references.

The golden values come from boundary-iou-api ``mask_to_boundary`` / ``COCOeval`` and DAVIS 2017
``f_measure`` run on full images; ours run on crops. Where the golden value is null (0/0), our
convention is NaN: boundary-iou-api then gives 0.0 and DAVIS 1.0 (``reference_raw``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.morphology import disk

from bench import reference_boundary as reference
from qc import masks
from qc.errors import InvalidOptionError, ShapeMismatchError
from qc.metrics import boundary_fscore, boundary_iou, coco_boundary_iou
from tests.support.data import golden_cases

BoolArray = npt.NDArray[np.bool_]


GOLDEN_FIELDS = (
    ("boundary_iou_0.02", lambda a, b: boundary_iou(a, b, dilation_ratio=0.02)),
    ("boundary_iou_0.005", lambda a, b: boundary_iou(a, b, dilation_ratio=0.005)),
    ("coco_boundary_iou_0.02", lambda a, b: coco_boundary_iou(a, b, dilation_ratio=0.02)),
    ("boundary_f_0.008", lambda a, b: boundary_fscore(a, b, bound_th=0.008)),
)


# --- golden references -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", golden_cases("mask_pairs.json"))
def test_golden_boundary_metrics(case: dict) -> None:
    expected = case["expected"]
    for name, fn in GOLDEN_FIELDS:
        got = fn(case["a"], case["b"])
        if expected[name] is None:  # 0/0 (no boundary on either side): NaN by our convention
            assert math.isnan(got), name
        else:
            assert got == pytest.approx(expected[name], abs=1e-12, rel=0), name


@pytest.mark.parametrize("case", golden_cases("mask_pairs.json"))
def test_golden_boundary_metrics_are_symmetric(case: dict) -> None:
    for name, fn in GOLDEN_FIELDS:
        forward, backward = fn(case["a"], case["b"]), fn(case["b"], case["a"])
        assert forward == backward or (math.isnan(forward) and math.isnan(backward)), name


@pytest.mark.parametrize("case", golden_cases("mask_pairs.json"))
def test_crop_equals_full_image_reference(case: dict) -> None:
    for ratio in (0.02, 0.005):
        ours = boundary_iou(case["a"], case["b"], dilation_ratio=ratio)
        full = reference.boundary_iou_full_image(case["a"], case["b"], dilation_ratio=ratio)
        assert ours == full or (math.isnan(ours) and math.isnan(full)), ratio


def test_golden_null_cases_are_the_documented_reference_quirks() -> None:
    cases = {c.values[0]["id"]: c.values[0] for c in golden_cases("mask_pairs.json") if c.values[0] is not None}
    if not cases:
        pytest.skip("golden file absent")
    # both empty: boundary-iou-api's RLE IoU gives 0.0, DAVIS gives 1.0; we give NaN
    raw = cases["both_empty_7x5"]["reference_raw"]
    assert raw["boundary_iou_0.02"] == 0.0 and raw["boundary_f_0.008"] == 1.0
    empty = cases["both_empty_7x5"]["a"]
    assert math.isnan(boundary_iou(empty, empty)) and math.isnan(boundary_fscore(empty, empty))
    # empty vs whole image: boundary IoU 0.0 (the whole image has a frame), DAVIS maps both empty -> NaN
    case = cases["a_empty_b_full_16x16"]
    assert boundary_iou(case["a"], case["b"]) == 0.0
    assert math.isnan(boundary_fscore(case["a"], case["b"]))


def test_crop_trap_uses_the_full_image_band_width() -> None:
    cases = [c.values[0] for c in golden_cases("mask_pairs.json") if c.values[0] is not None]
    case = next((c for c in cases if c["id"] == "crop_trap_768x1024"), None)
    if case is None:
        pytest.skip("golden file absent")
    ours = boundary_iou(case["a"], case["b"])
    assert ours == pytest.approx(0.8458528951486698, abs=1e-12)
    assert ours == reference.boundary_iou_full_image(case["a"], case["b"])
    trap = case["crop_trap"]["boundary_iou_0.02_on_crop"]  # d from the crop's diagonal: 0.3168
    assert abs(ours - trap) > 0.5


# --- hand-computed cases ---------------------------------------------------------------------------------


def _square(height: int, width: int, rows: slice, cols: slice) -> BoolArray:
    mask = np.zeros((height, width), bool)
    mask[rows, cols] = True
    return mask


def test_square_band_d1_by_hand() -> None:
    # 20x20: d = round(0.02 * 28.28) = 1, so each band is the 1-px outline of its rectangle.
    a = _square(20, 20, slice(5, 10), slice(5, 10))  # 5x5: outline 16 px
    b = _square(20, 20, slice(5, 10), slice(5, 11))  # 5x6: outline 18 px
    # shared: column 5 (5), rows 5 and 9 at columns 6..9 (8) -> 13; union 16 + 18 - 13 = 21
    assert boundary_iou(a, b) == 13 / 21
    assert coco_boundary_iou(a, b) == min(25 / 30, 13 / 21)


def test_band_d2_covers_a_thin_ring_whole() -> None:
    # 70x70: d = round(0.02 * 98.99) = 2. A 9x9 square's band is the 2-px frame (81 - 25 = 56 px), and a
    # ring of that shape is all band, so the boundaries coincide while the masks do not.
    square = _square(70, 70, slice(30, 39), slice(30, 39))
    ring = square.copy()
    ring[32:37, 32:37] = False
    assert boundary_iou(square, ring) == 1.0
    assert coco_boundary_iou(square, ring) == 56 / 81
    # d = 1 (ratio 0.005): the square's band is its 32-px outline, all inside the 56-px ring (all band)
    assert boundary_iou(square, ring, dilation_ratio=0.005) == 32 / 56


def test_band_width_rounds_half_to_even_from_the_full_image() -> None:
    # 15x20: diagonal 25; ratio 0.1 -> 2.5 -> d = 2 (half to even), not 3
    full = np.ones((15, 20), bool)
    frame2 = full.copy()
    frame2[2:-2, 2:-2] = False  # 300 - 11 * 16 = 124 px: exactly the d = 2 band of the whole image
    assert boundary_iou(full, frame2, dilation_ratio=0.1) == 1.0
    # d = 3 (ratio 0.12 -> 3.0): band of the whole image is 300 - 9 * 14 = 174 px; the frame's own band is itself
    assert boundary_iou(full, frame2, dilation_ratio=0.12) == 124 / 174


def test_image_border_counts_as_boundary() -> None:
    # whole image vs 1-px inset (30x40, d = 1): the two 1-px frames are disjoint
    full = np.ones((30, 40), bool)
    inset = _square(30, 40, slice(1, -1), slice(1, -1))
    assert boundary_iou(full, inset) == 0.0


def test_fscore_square_shifted_two_px_by_hand() -> None:
    # 20x20: tolerance ceil(0.008 * 28.28) = 1 px (a plus-shaped disk). The DAVIS 1-px boundary of a 5x5
    # square at rows/cols 5..9 has 20 px (its last row and column, plus the row and column just before it).
    # Shifted 2 columns right, 12 of the 20 find a partner within the plus: P = R = 0.6.
    a = _square(20, 20, slice(5, 10), slice(5, 10))
    b = _square(20, 20, slice(5, 10), slice(7, 12))
    assert _davis_boundary(a).sum() == 20
    assert boundary_fscore(a, b) == pytest.approx(0.6, abs=1e-15)
    assert boundary_fscore(a, b) == _davis_f_literal(a, b, 0.008)


def test_fscore_empty_conventions() -> None:
    empty = np.zeros((16, 16), bool)
    full = np.ones((16, 16), bool)
    blob = _square(16, 16, slice(4, 9), slice(3, 10))
    assert math.isnan(boundary_fscore(empty, empty))
    assert math.isnan(boundary_fscore(full, full))  # the image border is never a DAVIS boundary
    assert math.isnan(boundary_fscore(empty, full))
    assert boundary_fscore(empty, blob) == 0.0 and boundary_fscore(blob, full) == 0.0
    assert boundary_fscore(blob, blob) == 1.0


def test_boundary_iou_empty_conventions() -> None:
    empty = np.zeros((12, 9), bool)
    blob = _square(12, 9, slice(2, 6), slice(3, 8))
    for fn in (boundary_iou, coco_boundary_iou):
        assert math.isnan(fn(empty, empty))
        assert fn(empty, blob) == 0.0 and fn(blob, empty) == 0.0
        assert fn(blob, blob) == 1.0


def test_fscore_pixel_tolerance_when_bound_th_at_least_one() -> None:
    # a 1-px vertical line against the same line 3 columns away, in 40x40 (0.008 -> 1 px tolerance)
    a = _square(40, 40, slice(10, 30), slice(10, 11))
    b = _square(40, 40, slice(10, 30), slice(13, 14))
    assert boundary_fscore(a, b) < boundary_fscore(a, b, bound_th=3) == 1.0
    for bound_th in (1, 2, 2.5, 3.5):  # non-integral radii use the disk footprint itself
        assert boundary_fscore(a, b, bound_th=bound_th) == _davis_f_literal(a, b, bound_th)


def test_arrays_and_rles_give_the_same_value() -> None:
    a = _square(30, 25, slice(3, 17), slice(4, 12))
    b = _square(30, 25, slice(5, 18), slice(5, 14))
    for fn in (boundary_iou, coco_boundary_iou, boundary_fscore):
        assert fn(a, b) == fn(masks.encode(a), b) == fn(masks.encode(a), masks.encode(b))


@pytest.mark.parametrize("fn", [boundary_iou, coco_boundary_iou, boundary_fscore])
def test_shape_mismatch_names_both_shapes(fn: object) -> None:
    with pytest.raises(ShapeMismatchError) as info:
        fn(np.zeros((4, 5), bool), masks.encode(np.zeros((5, 4), bool)))  # type: ignore[operator]
    assert "(4, 5)" in str(info.value) and "(5, 4)" in str(info.value)


@pytest.mark.parametrize(
    ("fn", "option", "value"),
    [
        (boundary_iou, "dilation_ratio", math.nan),
        (coco_boundary_iou, "dilation_ratio", -0.01),
        (boundary_fscore, "bound_th", math.inf),
        (boundary_fscore, "bound_th", -1.0),
    ],
)
def test_bad_options_raise_with_the_field(fn: object, option: str, value: float) -> None:
    mask = _square(8, 8, slice(2, 5), slice(2, 5))
    with pytest.raises(InvalidOptionError) as info:
        fn(mask, mask, **{option: value})  # type: ignore[operator]
    assert info.value.field == option and repr(value) in str(info.value)


# --- properties ------------------------------------------------------------------------------------------

pairs = st.integers(1, 12).flatmap(
    lambda h: st.integers(1, 12).flatmap(lambda w: st.tuples(arrays(np.bool_, (h, w)), arrays(np.bool_, (h, w))))
)


@st.composite
def placed_pairs(draw: st.DrawFn) -> tuple[BoolArray, BoolArray]:
    """Two small random patches somewhere in a larger image (often touching its borders)."""
    height, width = draw(st.integers(8, 48)), draw(st.integers(8, 48))
    out = []
    for _ in range(2):
        ph, pw = draw(st.integers(1, min(height, 10))), draw(st.integers(1, min(width, 10)))
        y, x = draw(st.integers(0, height - ph)), draw(st.integers(0, width - pw))
        mask = np.zeros((height, width), bool)
        mask[y : y + ph, x : x + pw] = draw(arrays(np.bool_, (ph, pw)))
        out.append(mask)
    return out[0], out[1]


@settings(max_examples=150, deadline=None)
@given(pairs, st.sampled_from([0.02, 0.1, 0.3]))
def test_boundary_iou_symmetric_bounded_and_one_on_itself(pair: tuple[BoolArray, BoolArray], ratio: float) -> None:
    a, b = pair
    value = boundary_iou(a, b, dilation_ratio=ratio)
    if not a.any() and not b.any():
        assert math.isnan(value)
        return
    assert value == boundary_iou(b, a, dilation_ratio=ratio)
    assert 0.0 <= value <= 1.0
    assert value == reference.boundary_iou_full_image(a, b, dilation_ratio=ratio)
    assert coco_boundary_iou(a, b, dilation_ratio=ratio) <= value
    for mask in (a, b):
        if mask.any():
            assert boundary_iou(mask, mask, dilation_ratio=ratio) == 1.0


@settings(max_examples=100, deadline=None)
@given(placed_pairs(), st.sampled_from([0.02, 0.05]))
def test_boundary_iou_on_crops_equals_full_image(pair: tuple[BoolArray, BoolArray], ratio: float) -> None:
    a, b = pair
    ours, full = boundary_iou(a, b, dilation_ratio=ratio), reference.boundary_iou_full_image(a, b, dilation_ratio=ratio)
    assert ours == full or (math.isnan(ours) and math.isnan(full))


@settings(max_examples=150, deadline=None)
@given(st.one_of(pairs, placed_pairs()), st.sampled_from([0.008, 0.05, 0, 2, 2.5]))
def test_fscore_symmetric_and_equal_to_full_image_literal(pair: tuple[BoolArray, BoolArray], bound_th: float) -> None:
    a, b = pair
    value = boundary_fscore(a, b, bound_th=bound_th)
    literal = _davis_f_literal(a, b, bound_th)
    assert value == literal or (math.isnan(value) and math.isnan(literal))
    if bound_th != 2.5:  # an even-sized DAVIS disk (radius 2.5) is off-centre, so not symmetric
        backward = boundary_fscore(b, a, bound_th=bound_th)
        assert value == backward or (math.isnan(value) and math.isnan(backward))
    if not math.isnan(value):
        assert 0.0 <= value <= 1.0


# --- an independent, literal full-image DAVIS f_measure (slow: pixel pairs) --------------------------------


def _davis_boundary(seg: BoolArray) -> BoolArray:
    """1-px boundary on the full image: a pixel differs from its right, lower or lower-right neighbour;
    the last row compares only to the right, the last column only downwards, the corner never."""
    height, width = seg.shape
    out = np.zeros_like(seg)
    for y in range(height):
        for x in range(width):
            neighbours = []
            if x + 1 < width:
                neighbours.append((y, x + 1))
            if y + 1 < height:
                neighbours.append((y + 1, x))
            if x + 1 < width and y + 1 < height:
                neighbours.append((y + 1, x + 1))
            if y == height - 1 and x < width - 1:
                neighbours = [(y, x + 1)]
            if x == width - 1 and y < height - 1:
                neighbours = [(y + 1, x)]
            out[y, x] = any(seg[y, x] != seg[n] for n in neighbours)
    return out


def _davis_f_literal(a: BoolArray, b: BoolArray, bound_th: float) -> float:
    radius = bound_th if bound_th >= 1 else math.ceil(bound_th * math.sqrt(a.shape[0] ** 2 + a.shape[1] ** 2))
    kernel = disk(radius).astype(bool)
    anchor = kernel.shape[0] // 2  # cv2.dilate's default anchor
    offsets = np.argwhere(kernel) - anchor  # other(p + o) for o in offsets, as cv2.dilate reads its source
    bound_a, bound_b = _davis_boundary(a), _davis_boundary(b)
    n_a, n_b = int(bound_a.sum()), int(bound_b.sum())
    if n_a == 0 and n_b == 0:
        return math.nan
    if n_a == 0 or n_b == 0:
        return 0.0

    def matched(points: BoolArray, other: BoolArray) -> int:
        other_set = {tuple(p) for p in np.argwhere(other)}
        return sum(any((y + dy, x + dx) in other_set for dy, dx in offsets) for y, x in np.argwhere(points))

    precision = matched(bound_a, bound_b) / float(n_a)
    recall = matched(bound_b, bound_a) / float(n_b)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
