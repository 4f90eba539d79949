"""qc.masks: RLE encode/decode/crop/paste against pycocotools and the golden RLEs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as cocomask

from qc import masks
from qc.errors import InvalidMaskError
from tests.support.data import golden_cases


def _coco_decode(rle: dict) -> np.ndarray:
    return cocomask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


@pytest.mark.parametrize("case", golden_cases("mask_pairs.json"))
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_golden_rles_round_trip_and_crop(case: dict) -> None:
    for key in ("a", "b"):
        rle = case[key]
        full = _coco_decode(rle)
        assert full.shape == (case["height"], case["width"])
        assert np.array_equal(masks.decode(rle), full)
        assert masks.encode(full)["counts"] == rle["counts"]
        assert masks.area(rle) == case["expected"][f"area_{key}"] == int(full.sum())
        h, w = full.shape
        assert np.array_equal(masks.crop(rle, (1, 2, w - 1, h - 3)), full[2 : h - 3, 1 : w - 1])
        region = masks.box(rle)
        if region is not None:
            assert masks.paste(masks.crop(rle, region), region, h, w)["counts"] == rle["counts"]


@pytest.mark.parametrize("case", golden_cases("mask_pairs.json"))
def test_golden_polygons_rasterise_like_frpyobjects(case: dict) -> None:
    for key in ("a", "b"):
        polygon = case.get(f"{key}_polygon")
        if polygon is None:
            continue
        rle = masks.from_polygons(polygon, case["height"], case["width"])
        assert rle["counts"] == case[key]["counts"]


# (mask, expected area, expected COCO bbox): empty first
TINY = [
    (np.zeros((3, 4), bool), 0, (0, 0, 0, 0)),  # empty
    (np.eye(3, 4, dtype=bool), 3, (0, 0, 3, 3)),  # diagonal
    (np.ones((3, 4), bool), 12, (0, 0, 4, 3)),  # whole image
    (np.pad(np.ones((1, 1), bool), ((2, 0), (3, 0))), 1, (3, 2, 1, 1)),  # one pixel in the last corner
]


@pytest.mark.parametrize(("mask", "expected_area", "expected_bbox"), TINY)
def test_area_and_bbox_by_hand(mask: np.ndarray, expected_area: int, expected_bbox: tuple) -> None:
    rle = masks.encode(mask)
    assert masks.area(rle) == expected_area
    assert masks.bbox(rle) == expected_bbox


def test_crop_outside_the_image_is_clipped() -> None:
    mask = np.zeros((5, 5), bool)
    mask[4, 4] = True
    crop = masks.crop(masks.encode(mask), (3, 3, 9, 9))
    assert crop.shape == (2, 2)
    assert crop.tolist() == [[False, False], [False, True]]


def test_uncompressed_rle_is_compressed_like_pycocotools() -> None:
    rle = masks.from_uncompressed({"size": [3, 2], "counts": [1, 2, 3]})
    assert masks.decode(rle).T.ravel().tolist() == [False, True, True, False, False, False]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"size": [2, 2], "counts": [1, 2]}, "counts"),  # sums to 3, not 4
        ({"size": [2, 2], "counts": [-1, 5]}, "counts"),  # negative run
        ({"size": [2], "counts": "4"}, "size"),  # size not [h, w]
        ({"size": [2, 2], "counts": "0"}, "counts"),  # compressed runs sum to 0, not 4
        ({"size": [2, 2], "counts": "\x7f"}, "counts"),  # not a counts character
        ({"size": [2, 2], "counts": 4}, "counts"),  # wrong type
    ],
)
def test_invalid_rle_is_refused_with_its_field(bad: dict, field: str) -> None:
    with pytest.raises(InvalidMaskError) as info:
        masks.as_rle(bad)
    assert info.value.field == field


@pytest.mark.parametrize(
    "polygons",
    [
        [],  # no parts
        [[0, 0, 1, 1]],  # two points (pycocotools would read it as a box)
        [[0, 0, 1, 1, 2]],  # odd count
        [[0, 0, 1, float("nan"), 2, 2]],  # NaN
        [["a", 0, 1, 1, 2, 2]],  # not numbers
    ],
)
def test_invalid_polygons_are_refused(polygons: list) -> None:
    with pytest.raises(InvalidMaskError):
        masks.from_polygons(polygons, 8, 8)


@settings(max_examples=200, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_decode_encode_round_trip(mask: np.ndarray) -> None:
    rle = masks.encode(mask)
    assert np.array_equal(masks.decode(rle), mask)
    region = masks.box(rle)
    if region is not None:
        h, w = mask.shape
        assert masks.paste(masks.crop(rle, region), region, h, w) == rle


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.bool_, st.tuples(st.integers(1, 10), st.integers(1, 10))),
    st.tuples(st.integers(-2, 12), st.integers(-2, 12), st.integers(-2, 12), st.integers(-2, 12)),
)
def test_crop_equals_slicing(mask: np.ndarray, region: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = region
    h, w = mask.shape
    expected = mask[max(0, y0) : max(max(0, y0), min(h, y1)), max(0, x0) : max(max(0, x0), min(w, x1))]
    got = masks.crop(masks.encode(mask), region)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)


@settings(max_examples=200, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_bbox_equals_pycocotools_tobbox(mask: np.ndarray) -> None:
    rle = masks.encode(mask)
    expected = tuple(int(v) for v in cocomask.toBbox(masks.to_pycocotools(rle)))
    assert masks.bbox(rle) == expected
