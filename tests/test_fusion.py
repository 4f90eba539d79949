"""qc.fusion: two-annotator fusion without outward bias, weighted fusion, and the consensus methods that use them."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from qc import masks
from qc.agreement import AgreementSettings, score_image
from qc.consensus import majority_crop
from qc.core import Segment
from qc.errors import InvalidMaskError, InvalidOptionError, ShapeMismatchError
from qc.fusion import midpoint, reliability_fusion, shape_average, signed_distance, staple_fixed, weighted_vote

BoolArray = npt.NDArray[np.bool_]


def square(x: int, y: int, size: int = 20, shape: tuple[int, int] = (60, 60)) -> BoolArray:
    mask = np.zeros(shape, dtype=bool)
    mask[y : y + size, x : x + size] = True
    return mask


def disk(cx: float, cy: float, r: float, shape: tuple[int, int] = (80, 80)) -> BoolArray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.asarray((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r)


@pytest.mark.parametrize("offset", [(2, 0), (0, 2)])
def test_two_squares_offset_by_two_fuse_to_the_middle_square(offset: tuple[int, int]) -> None:
    a, b = square(10, 10), square(10 + offset[0], 10 + offset[1])
    expected = square(10 + offset[0] // 2, 10 + offset[1] // 2)
    np.testing.assert_array_equal(shape_average([a, b]), expected)
    np.testing.assert_array_equal(midpoint(a, b), expected)


@pytest.mark.parametrize(
    ("offset", "rounded"),
    [
        ((2, 2), 2),  # the two corners that neither square holds: one pixel each
        ((4, 0), 4),  # one corner pixel at each corner of the middle square
        ((0, 6), 12),
        ((4, 4), 12),  # the two corners that neither square holds
    ],
)
def test_two_offset_squares_fuse_to_the_middle_square_with_rounded_corners(
    offset: tuple[int, int], rounded: int
) -> None:
    """Averaging distances rounds the corners a little: the rest is exactly the middle square."""
    a, b = square(10, 10), square(10 + offset[0], 10 + offset[1])
    middle = square(10 + offset[0] // 2, 10 + offset[1] // 2)
    for fused in (shape_average([a, b]), midpoint(a, b)):
        assert not (fused & ~middle).any()
        missing = np.argwhere(middle & ~fused)
        assert len(missing) == rounded
        rows, cols = (10 + offset[1] // 2, 29 + offset[1] // 2), (10 + offset[0] // 2, 29 + offset[0] // 2)
        corners = np.array([[y, x] for y in rows for x in cols])
        assert np.abs(missing[:, None, :] - corners[None]).max(axis=2).min(axis=1).max() <= max(offset) // 2


def test_identical_masks_fuse_to_the_same_mask() -> None:
    shape = disk(30, 40, 17) & ~disk(30, 40, 5)  # with a hole
    np.testing.assert_array_equal(shape_average([shape, shape]), shape)
    np.testing.assert_array_equal(midpoint(shape, shape), shape)
    np.testing.assert_array_equal(shape_average([shape, shape, shape], weights=[1, 5, 2]), shape)


def test_two_concentric_disks_fuse_to_the_mean_radius_not_the_union() -> None:
    inner, outer = disk(40, 40, 14), disk(40, 40, 20)
    fused = shape_average([inner, outer])
    mean_radius = disk(40, 40, 17)
    assert np.count_nonzero(fused ^ mean_radius) <= 20  # a ring of 1,100 px is split within one pixel
    assert not (fused & ~outer).any() and not (inner & ~fused).any()


def test_weights_pull_the_boundary_to_the_heavier_rater() -> None:
    a, b = square(10, 10), square(18, 10)
    fused = shape_average([a, b], weights=[3.0, 1.0])  # boundaries at a quarter of the way from a's: offset 2
    np.testing.assert_array_equal(fused[16:24], square(12, 10)[16:24])  # rows near the corners are rounded
    assert not (fused & ~square(12, 10)).any()


def test_masks_reaching_the_crop_edge_stay_at_the_edge() -> None:
    a = np.zeros((10, 10), dtype=bool)
    a[:, :6] = True
    b = np.zeros((10, 10), dtype=bool)
    b[:, :4] = True
    fused = shape_average([a, b])
    np.testing.assert_array_equal(fused, np.pad(np.ones((10, 5), bool), ((0, 0), (0, 5))))


def test_empty_cases() -> None:
    empty = np.zeros((5, 5), dtype=bool)
    one = square(1, 1, 3, (5, 5))
    assert not shape_average([empty, empty]).any()
    np.testing.assert_array_equal(shape_average([one]), one)
    assert not shape_average([one, empty]).any()  # an empty rater pulls every pixel out
    assert not midpoint(one, empty).any()  # no intersection: nothing is known to be in
    np.testing.assert_array_equal(weighted_vote([one, empty], [2.0, 1.0]), one)
    with pytest.raises(InvalidMaskError):
        shape_average([])


def test_bad_input_says_what_was_expected() -> None:
    with pytest.raises(ShapeMismatchError):
        shape_average([np.zeros((3, 3), bool), np.zeros((3, 4), bool)])
    with pytest.raises(InvalidOptionError, match="weights"):
        shape_average([np.zeros((3, 3), bool)] * 2, weights=[1.0, -1.0])
    with pytest.raises(InvalidOptionError, match="weights"):
        weighted_vote([np.zeros((3, 3), bool)] * 2, [0.0, 0.0])
    with pytest.raises(InvalidOptionError, match="method"):
        reliability_fusion([np.zeros((3, 3), bool)], [1.0], method="median")


def test_signed_distance_is_negative_inside_and_zero_half_a_pixel_out() -> None:
    values = signed_distance(square(2, 2, 4, (8, 8)))
    assert values[4, 4] == -1.5 and values[2, 2] == -0.5 and values[2, 1] == 0.5 and values[4, 0] == 1.5


def test_staple_with_fixed_parameters_follows_the_better_rater() -> None:
    a, b = square(10, 10), square(14, 10)
    both = staple_fixed([a, b], [0.99, 0.6], [0.99, 0.6], prior=0.3)
    np.testing.assert_array_equal(both, a)


def test_weighted_vote_and_auto_choose_by_reliability() -> None:
    a, b, c = square(10, 10), square(12, 10), square(30, 10)
    np.testing.assert_array_equal(weighted_vote([a, b, c], [1.0, 1.0, 1.0]), a & b | a & c | b & c)
    np.testing.assert_array_equal(weighted_vote([a, b, c], [1.0, 1.0, 5.0]), c)
    np.testing.assert_array_equal(reliability_fusion([a, b], [1.0, 1.0], method="auto"), square(11, 10))


def _segments(mask: BoolArray, sid: str) -> list[Segment]:
    return [Segment(sid, 1, masks.encode(mask))]


def _two_squares() -> dict[str, list[Segment]]:
    return {"a": _segments(square(10, 10, 40, (80, 80)), "a1"), "b": _segments(square(14, 10, 40, (80, 80)), "b1")}


@pytest.mark.parametrize(
    ("options", "columns"),
    [
        ({}, (12, 51)),  # majority of two: the unbiased fusion, not the union
        ({"strict_majority": True}, (14, 49)),  # strict: the intersection
        ({"consensus_method": "auto"}, (12, 51)),
        ({"consensus_method": "weighted", "annotator_weights": (("a", 3.0),)}, (11, 50)),
        ({"consensus_method": "staple"}, (14, 49)),  # ITK's STAPLE of two: the intersection here
    ],
)
def test_score_image_consensus_of_two(options: dict[str, Any], columns: tuple[int, int]) -> None:
    settings = AgreementSettings(accept_boundary_iou=0.0, **options)
    result = score_image(_two_squares(), height=80, width=80, settings=settings)
    (segment,) = result.consensus
    middle_row = masks.decode(segment.rle)[30]
    assert (int(np.flatnonzero(middle_row)[0]), int(np.flatnonzero(middle_row)[-1])) == columns


def test_bad_weights_name_the_annotator() -> None:
    with pytest.raises(InvalidOptionError) as info:
        AgreementSettings(consensus_method="weighted", annotator_weights=(("bob", 0.0),))
    assert info.value.field == "bob"


def test_auto_takes_the_clearly_better_raters_shape() -> None:
    a, b, c = square(10, 10), square(12, 10), square(16, 10)
    np.testing.assert_array_equal(reliability_fusion([a, b, c], [1.0, 5.0, 1.0], method="auto"), b)
    np.testing.assert_array_equal(reliability_fusion([a, c], [1.0, 2.0], method="auto"), c)
    no_clear_best = reliability_fusion([a, b, c], [1.0, 1.5, 1.0], method="auto")
    np.testing.assert_array_equal(no_clear_best, majority_crop([a, b, c]))
