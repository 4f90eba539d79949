"""COCO panoptic: rejections on tiny hand-built files, writing, round trip, and the real panopticapi sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from qc import masks
from qc.core import Segment
from qc.errors import FormatError, InvalidMaskError
from qc.formats import (
    Category,
    ImageInfo,
    ParsedAnnotations,
    panoptic_png,
    read_panoptic,
    to_panoptic_dict,
    write_panoptic,
)
from tests.formats.docs import panoptic_doc, panoptic_labels, save_rgb_ids, write_panoptic_fixture
from tests.support.data import REFDATA_DIR

SAMPLE = REFDATA_DIR / "interop/coco-panoptic_panopticapi"


def summary(parsed: ParsedAnnotations) -> list[tuple[Any, int, int, bool, int]]:
    return [(i, s.id, s.category_id, s.iscrowd, s.area) for i, s in parsed.segments]


VALID = [(1, 1, 1, False, 6), (1, 300, 2, True, 9), (1, 70000, 3, False, 2), (2, 5, 1, False, 9)]


def test_valid_files_read_every_segment(tmp_path: Path) -> None:
    parsed = read_panoptic(write_panoptic_fixture(tmp_path))
    assert parsed.rejections == []
    assert parsed.format == "coco_panoptic"
    assert summary(parsed) == VALID
    assert parsed.categories[3] == Category(3, "sky", isthing=False)
    labels = panoptic_labels()
    for image_id, segment in parsed.segments:
        assert np.array_equal(masks.decode(segment.rle), labels[image_id] == segment.id)


def test_png_dir_can_be_given(tmp_path: Path) -> None:
    json_path = write_panoptic_fixture(tmp_path)
    moved = json_path.rename(tmp_path / "elsewhere.json")
    assert summary(read_panoptic(moved, tmp_path / "panoptic")) == VALID
    with pytest.raises(FormatError):
        read_panoptic(moved)  # no ``elsewhere/`` folder


def test_unlisted_pixel_id_is_refused_and_the_rest_kept(tmp_path: Path) -> None:
    labels = panoptic_labels()
    labels[1][0, 6] = 4242  # one pixel of an id segments_info does not list
    parsed = read_panoptic(write_panoptic_fixture(tmp_path, labels=labels))
    assert summary(parsed) == VALID
    (rejection,) = parsed.rejections
    assert rejection.path == str(tmp_path / "panoptic" / "one.png")
    assert (rejection.image_id, rejection.annotation_id, rejection.field) == (1, 4242, "segments_info")
    assert "1 pixels have segment id 4242" in rejection.message


def test_listed_id_absent_from_png_is_refused(tmp_path: Path) -> None:
    document = panoptic_doc()
    document["annotations"][1]["segments_info"].append({"id": 6, "category_id": 2, "iscrowd": 0})
    parsed = read_panoptic(write_panoptic_fixture(tmp_path, document))
    assert summary(parsed) == VALID
    assert [(r.image_id, r.annotation_id, r.field) for r in parsed.rejections] == [(2, 6, "segments_info")]


# (case id, change to segments_info[0] of image 1 (segment 1), expected field)
ENTRY_CASES = [
    ("unknown-category", {"category_id": 9}, "category_id"),
    ("category-bool", {"category_id": True}, "category_id"),
    ("iscrowd-three", {"iscrowd": 3}, "iscrowd"),
    ("area-infinity", {"area": float("inf")}, "area"),
    ("bbox-string", {"bbox": "0 0 3 2"}, "bbox"),
]


@pytest.mark.parametrize(("change", "field"), [pytest.param(c[1], c[2], id=c[0]) for c in ENTRY_CASES])
def test_bad_segment_entry_is_refused_once(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    document = panoptic_doc()
    document["annotations"][0]["segments_info"][0].update(change)
    parsed = read_panoptic(write_panoptic_fixture(tmp_path, document))
    assert summary(parsed) == VALID[1:]  # segment 1 refused; its pixels are not reported a second time
    assert [(r.image_id, r.annotation_id, r.field) for r in parsed.rejections] == [(1, 1, field)]
    assert parsed.rejections[0].message.startswith("annotations[0].segments_info[0]: ")


@pytest.mark.parametrize(
    ("entry", "annotation_id", "field"),
    [
        pytest.param({"id": 0, "category_id": 1}, None, "id", id="id-zero"),
        pytest.param({"id": True, "category_id": 1}, None, "id", id="id-bool"),
        pytest.param({"id": 2**24, "category_id": 1}, 2**24, "id", id="id-too-large"),
        pytest.param({"id": 300, "category_id": 1}, 300, "id", id="id-repeated"),
        pytest.param("segment", None, None, id="not-an-object"),
    ],
)
def test_bad_segment_id_is_refused(tmp_path: Path, entry: Any, annotation_id: Any, field: str | None) -> None:
    document = panoptic_doc()
    document["annotations"][0]["segments_info"].append(entry)
    parsed = read_panoptic(write_panoptic_fixture(tmp_path, document))
    assert summary(parsed) == VALID
    assert [(r.image_id, r.annotation_id, r.field) for r in parsed.rejections] == [(1, annotation_id, field)]


def _png_problem(tmp_path: Path, damage: str) -> ParsedAnnotations:
    json_path = write_panoptic_fixture(tmp_path)
    png = tmp_path / "panoptic" / "two.png"
    if damage == "missing":
        png.unlink()
    elif damage == "truncated":
        png.write_bytes(png.read_bytes()[:60])
    elif damage == "not-png":
        png.write_bytes(b"GIF89a" + bytes(40))
    elif damage == "grayscale":
        Image.fromarray(np.zeros((5, 5), dtype=np.uint8)).save(png)
    elif damage == "wrong-size":
        save_rgb_ids(png, np.full((5, 6), 5, dtype=np.int64))
    return read_panoptic(json_path)


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        ("missing", "file_name"),
        ("truncated", "file_name"),
        ("not-png", "file_name"),
        ("grayscale", "mode"),
        ("wrong-size", "size"),
    ],
)
def test_unusable_png_refuses_its_image_only(tmp_path: Path, damage: str, field: str) -> None:
    parsed = _png_problem(tmp_path, damage)
    assert summary(parsed) == VALID[:3]
    assert sorted(parsed.images) == [1]  # image 2 must not look like an image with nothing labelled
    (rejection,) = parsed.rejections
    assert (rejection.path, rejection.image_id, rejection.annotation_id, rejection.field) == (
        str(tmp_path / "panoptic" / "two.png"),
        2,
        None,
        field,
    )
    assert "1 segments of this image are not read" in rejection.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"file_name": "../two.png"}, "file_name", id="file-name-climbs-out"),
        pytest.param({"file_name": "/etc/two.png"}, "file_name", id="file-name-absolute"),
        pytest.param({"image_id": 9}, "image_id", id="unknown-image"),
        pytest.param({"segments_info": {"id": 5}}, "segments_info", id="segments-info-object"),
    ],
)
def test_bad_annotation_entry_is_refused(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    document = panoptic_doc()
    document["annotations"][1].update(change)
    parsed = read_panoptic(write_panoptic_fixture(tmp_path, document))
    assert summary(parsed) == VALID[:3]
    assert sorted(parsed.images) == [1]
    fields = [r.field for r in parsed.rejections]
    # an unknown image id leaves image 2 without an entry, which is refused too
    assert fields == ([field, "annotations"] if field == "image_id" else [field])


def test_second_entry_for_an_image_is_refused(tmp_path: Path) -> None:
    document = panoptic_doc()
    document["annotations"].append({"image_id": 1, "file_name": "two.png", "segments_info": []})
    parsed = read_panoptic(write_panoptic_fixture(tmp_path, document))
    assert summary(parsed) == VALID
    assert [(r.image_id, r.field) for r in parsed.rejections] == [(1, "image_id")]


def test_image_without_entry_is_refused(tmp_path: Path) -> None:
    document = panoptic_doc()
    del document["annotations"][1]
    parsed = read_panoptic(write_panoptic_fixture(tmp_path, document))
    assert sorted(parsed.images) == [1]
    assert [(r.image_id, r.field) for r in parsed.rejections] == [(2, "annotations")]


def test_broken_json_gives_one_rejection(tmp_path: Path) -> None:
    json_path = write_panoptic_fixture(tmp_path)
    json_path.write_text(json_path.read_text()[:-30])
    parsed = read_panoptic(json_path)
    assert (parsed.images, parsed.segments) == ({}, [])
    assert [(r.path, r.field) for r in parsed.rejections] == [(str(json_path), None)]
    assert "truncated" in parsed.rejections[0].message


def test_project_categories_and_round(tmp_path: Path) -> None:
    json_path = write_panoptic_fixture(tmp_path)
    parsed = read_panoptic(json_path, categories=[Category(1, "person"), Category(2, "car")], image_ids=[1])
    assert summary(parsed) == VALID[:2]
    assert [(r.image_id, r.annotation_id, r.field) for r in parsed.rejections] == [
        (1, 70000, "category_id"),
        (2, None, "image_id"),
        (2, 5, "image_id"),
    ]


# --- writing -----------------------------------------------------------------------------------------------

IMAGES = [ImageInfo(1, "one.jpg", 6, 7), ImageInfo(2, "sub/two.jpg", 5, 5)]
CATEGORIES = [Category(1, "person"), Category(2, "car"), Category(3, "sky", isthing=False)]


def _segments() -> list[tuple[Any, Segment]]:
    labels = panoptic_labels()
    kinds = {1: (1, False), 300: (2, True), 70000: (3, False), 5: (1, False)}
    return [
        (image_id, Segment(i, kinds[i][0], masks.encode(labels[image_id] == i), kinds[i][1]))
        for image_id in (1, 2)
        for i in np.unique(labels[image_id])
        if i
    ]


def test_to_panoptic_dict_values() -> None:
    document = to_panoptic_dict(IMAGES, _segments(), CATEGORIES)
    first, second = document["annotations"]
    assert (first["file_name"], second["file_name"]) == ("one.png", "two.png")
    assert first["segments_info"][1] == {"id": 300, "category_id": 2, "iscrowd": 1, "area": 9, "bbox": [4, 3, 3, 3]}
    assert document["categories"][2] == {"id": 3, "name": "sky", "isthing": 0}


def test_panoptic_png_encodes_ids_in_rgb() -> None:
    rgb = panoptic_png(IMAGES[0], [s for i, s in _segments() if i == 1])
    assert rgb.shape == (6, 7, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[3, 4]) == (44, 1, 0)  # 300 = 44 + 256
    assert tuple(rgb[5, 0]) == (112, 17, 1)  # 70000 = 112 + 17*256 + 65536
    assert tuple(rgb[0, 6]) == (0, 0, 0)


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    segments = _segments()
    write_panoptic(tmp_path / "out.json", tmp_path / "out", IMAGES, segments, CATEGORIES)
    parsed = read_panoptic(tmp_path / "out.json")
    assert parsed.rejections == []
    assert [(i, s.id, s.category_id, s.iscrowd, s.rle) for i, s in parsed.segments] == [
        (i, s.id, s.category_id, s.iscrowd, s.rle) for i, s in segments
    ]
    assert sorted(parsed.categories) == [1, 2, 3] and not parsed.categories[3].isthing


@pytest.mark.parametrize(
    ("segments", "error"),
    [
        pytest.param([(2, Segment(0, 1, masks.encode(np.eye(5))))], FormatError, id="id-zero"),
        pytest.param([(2, Segment("a", 1, masks.encode(np.eye(5))))], FormatError, id="id-string"),
        pytest.param(
            [(2, Segment(1, 1, masks.encode(np.eye(5)))), (2, Segment(2, 1, masks.encode(np.eye(5))))],
            InvalidMaskError,
            id="overlap",
        ),
        pytest.param([(2, Segment(1, 1, masks.encode(np.eye(6))))], FormatError, id="wrong-size"),
    ],
)
def test_writer_refuses_what_panoptic_cannot_hold(
    tmp_path: Path, segments: list[tuple[Any, Segment]], error: type[Exception]
) -> None:
    with pytest.raises(error):
        write_panoptic(tmp_path / "out.json", tmp_path / "out", IMAGES, segments, CATEGORIES)
    assert not (tmp_path / "out.json").exists()


def test_writer_refuses_colliding_png_names(tmp_path: Path) -> None:
    images = [ImageInfo(1, "a/x.jpg", 5, 5), ImageInfo(2, "b/x.png", 5, 5)]
    with pytest.raises(FormatError):
        to_panoptic_dict(images, [], CATEGORIES)


# --- the real panopticapi sample ---------------------------------------------------------------------------


def test_real_panopticapi_sample() -> None:
    json_path = SAMPLE / "sample_data/panoptic_examples.json"
    if not json_path.exists():
        pytest.skip(f"reference sample {json_path} is absent: set QC_SHARED_DIR to the folder holding refdata/")
    parsed = read_panoptic(json_path)
    assert parsed.rejections == []
    assert {i: (img.height, img.width) for i, img in parsed.images.items()} == {142238: (427, 640), 439180: (360, 640)}
    per_image = {i: [s for j, s in parsed.segments if j == i] for i in parsed.images}
    assert {i: len(s) for i, s in per_image.items()} == {142238: 18, 439180: 32}
    assert {i: sum(x.iscrowd for x in s) for i, s in per_image.items()} == {142238: 1, 439180: 2}
    assert len(parsed.categories) == 133 and sum(c.isthing for c in parsed.categories.values()) == 80
    stated = {
        (a["image_id"], s["id"]): s["area"]
        for a in json.loads(json_path.read_text())["annotations"]
        for s in a["segments_info"]
    }
    assert {(i, s.id): s.area for i, s in parsed.segments} == stated  # README: areas equal PNG pixel counts


def test_real_sample_round_trips_through_the_writer(tmp_path: Path) -> None:
    json_path = SAMPLE / "sample_data/panoptic_examples.json"
    if not json_path.exists():
        pytest.skip(f"reference sample {json_path} is absent: set QC_SHARED_DIR to the folder holding refdata/")
    parsed = read_panoptic(json_path)
    write_panoptic(tmp_path / "p.json", tmp_path / "p", parsed.images, parsed.segments, parsed.categories)
    again = read_panoptic(tmp_path / "p.json")
    assert again.rejections == []
    assert [(i, s.id, s.rle) for i, s in again.segments] == [(i, s.id, s.rle) for i, s in parsed.segments]
    for name in ("000000142238.png", "000000439180.png"):
        with Image.open(json_path.with_suffix("") / name) as before, Image.open(tmp_path / "p" / name) as after:
            assert np.array_equal(np.asarray(after), np.asarray(before.convert("RGB")))
