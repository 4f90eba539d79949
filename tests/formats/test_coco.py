"""COCO instances: every rejection kind on tiny hand-built files (writing: test_coco_write.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as cocomask

from qc import masks
from qc.errors import FormatError
from qc.formats import (
    Category,
    ImageInfo,
    ParsedAnnotations,
    read_instances,
    validate_image_ids,
)
from tests.formats.docs import CROWD, SQUARE, coco_doc, write_json
from tests.support.data import REFDATA_DIR

PANOPTIC_SAMPLE = REFDATA_DIR / "interop/coco-panoptic_panopticapi"


def read_doc(tmp_path: Path, document: Any, **options: Any) -> ParsedAnnotations:
    return read_instances(write_json(tmp_path / "ann.json", document), **options)


def ids_of(parsed: ParsedAnnotations) -> list[Any]:
    return [segment.id for _, segment in parsed.segments]


# --- the valid file ----------------------------------------------------------------------------------------


def test_valid_file_reads_every_annotation(tmp_path: Path) -> None:
    parsed = read_doc(tmp_path, coco_doc())
    assert parsed.rejections == []
    assert parsed.format == "coco"
    assert sorted(parsed.images) == [1, 2]
    assert parsed.images[1] == ImageInfo(1, "a.jpg", 10, 12)
    assert sorted(parsed.categories) == [1, 2]
    by_id = {segment.id: (image_id, segment) for image_id, segment in parsed.segments}
    assert sorted(by_id) == [1, 2, 3]
    # polygon with two parts: pycocotools rasterises the 4x4 square to 16 px; both parts are merged
    polygon = by_id[1][1]
    expected = cocomask.merge(cocomask.frPyObjects([[0, 0, 4, 0, 4, 4, 0, 4], [8, 6, 11, 6, 11, 9]], 10, 12))
    assert polygon.area == int(cocomask.area(expected))
    assert np.array_equal(masks.decode(polygon.rle), cocomask.decode(expected).astype(bool))
    assert np.array_equal(masks.decode(by_id[2][1].rle), SQUARE)
    assert (by_id[3][0], by_id[3][1].iscrowd, by_id[3][1].category_id) == (2, True, 1)
    assert np.array_equal(masks.decode(by_id[3][1].rle), CROWD)
    assert all(isinstance(segment.rle["counts"], str) for _, segment in parsed.segments)


def test_vertices_up_to_one_pixel_outside_are_accepted(tmp_path: Path) -> None:
    document = coco_doc()
    document["annotations"][0]["segmentation"] = [[-1, -1, 13, -1, 13, 11, -1, 11]]  # image is 10 x 12
    parsed = read_doc(tmp_path, document)
    assert parsed.rejections == []
    assert {s.id: s.area for _, s in parsed.segments}[1] == 120  # clipped to the whole image


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(coco_doc()).encode())
    assert ids_of(read_instances(path)) == [1, 2, 3]


# --- one bad annotation among valid ones -------------------------------------------------------------------

BAD = {"id": 99, "image_id": 1, "category_id": 1}


def _with(**changes: Any) -> dict[str, Any]:
    annotation = {**BAD, "segmentation": [[1, 1, 5, 1, 5, 5]]}
    annotation.update(changes)
    return {k: v for k, v in annotation.items() if v is not _DROP}


_DROP = object()

# (case id, bad annotation appended to the valid file, expected field, image id, annotation id)
ANNOTATION_CASES: list[tuple[str, Any, str | None, Any, Any]] = [
    ("not-an-object", 5, None, None, None),
    ("polygon-two-points", _with(segmentation=[[1, 1, 5, 1]]), "segmentation", 1, 99),
    ("polygon-odd-count", _with(segmentation=[[1, 1, 5, 1, 5, 5, 1]]), "segmentation", 1, 99),
    ("polygon-second-part-bad", _with(segmentation=[[1, 1, 5, 1, 5, 5], [1, 1, 2, 2]]), "segmentation", 1, 99),
    ("polygon-empty-list", _with(segmentation=[]), "segmentation", 1, 99),
    ("polygon-outside-x", _with(segmentation=[[1, 1, 13.5, 1, 5, 5]]), "segmentation", 1, 99),  # width 12
    ("polygon-outside-y", _with(segmentation=[[1, -1.5, 5, 1, 5, 5]]), "segmentation", 1, 99),
    ("polygon-nan", _with(segmentation=[[1, 1, math.nan, 1, 5, 5]]), "segmentation", 1, 99),
    ("polygon-inf", _with(segmentation=[[1, 1, math.inf, 1, 5, 5]]), "segmentation", 1, 99),
    ("polygon-bool-coordinate", _with(segmentation=[[True, 1, 5, 1, 5, 5]]), "segmentation", 1, 99),
    ("polygon-string-coordinate", _with(segmentation=[["1", 1, 5, 1, 5, 5]]), "segmentation", 1, 99),
    ("polygon-huge-int", _with(segmentation=[[10**400, 1, 5, 1, 5, 5]]), "segmentation", 1, 99),
    ("rle-wrong-size", _with(segmentation={"size": [8, 8], "counts": [64]}), "segmentation.size", 1, 99),
    ("rle-size-not-pair", _with(segmentation={"size": [10], "counts": [120]}), "segmentation.size", 1, 99),
    ("rle-bool-size", _with(segmentation={"size": [True, 12], "counts": [12]}), "segmentation.size", 1, 99),
    ("rle-sum-short", _with(segmentation={"size": [10, 12], "counts": [100, 5]}), "segmentation.counts", 1, 99),
    ("rle-negative-run", _with(segmentation={"size": [10, 12], "counts": [130, -10]}), "segmentation.counts", 1, 99),
    ("rle-float-run", _with(segmentation={"size": [10, 12], "counts": [60.0, 60]}), "segmentation.counts", 1, 99),
    ("rle-bad-string", _with(segmentation={"size": [10, 12], "counts": "~~~"}), "segmentation.counts", 1, 99),
    ("rle-string-sum", _with(segmentation={"size": [10, 12], "counts": "52"}), "segmentation.counts", 1, 99),
    ("rle-counts-number", _with(segmentation={"size": [10, 12], "counts": 120}), "segmentation.counts", 1, 99),
    ("zero-area-rle", _with(segmentation={"size": [10, 12], "counts": [120]}), "segmentation", 1, 99),
    ("zero-area-polygon", _with(segmentation=[[1, 1, 1, 1, 1, 1]]), "segmentation", 1, 99),
    ("segmentation-missing", _with(segmentation=_DROP), "segmentation", 1, 99),
    ("segmentation-string", _with(segmentation="mask"), "segmentation", 1, 99),
    ("unknown-category", _with(category_id=7), "category_id", 1, 99),
    ("category-bool", _with(category_id=True), "category_id", 1, 99),
    ("category-string", _with(category_id="1"), "category_id", 1, 99),
    ("category-missing", _with(category_id=_DROP), "category_id", 1, 99),
    ("duplicate-annotation-id", _with(id=2), "id", 1, 2),
    ("id-bool", _with(id=True), "id", None, None),
    ("id-float", _with(id=99.5), "id", None, None),
    ("id-null", _with(id=None), "id", None, None),
    ("id-missing", _with(id=_DROP), "id", None, None),
    ("unknown-image", _with(image_id=42), "image_id", 42, 99),
    ("image-id-bool", _with(image_id=True), "image_id", None, 99),
    ("image-id-string-of-int", _with(image_id="1"), "image_id", "1", 99),
    ("iscrowd-two", _with(iscrowd=2), "iscrowd", 1, 99),
    ("iscrowd-string", _with(iscrowd="0"), "iscrowd", 1, 99),
    ("area-nan", _with(area=math.nan), "area", 1, 99),
    ("bbox-three-numbers", _with(bbox=[1, 2, 3]), "bbox", 1, 99),
    ("bbox-infinity", _with(bbox=[1, 2, math.inf, 3]), "bbox", 1, 99),
]


@pytest.mark.parametrize(
    ("bad", "field", "image_id", "annotation_id"),
    [pytest.param(*case[1:], id=case[0]) for case in ANNOTATION_CASES],
)
def test_bad_annotation_is_refused_and_the_rest_kept(
    tmp_path: Path, bad: Any, field: str | None, image_id: Any, annotation_id: Any
) -> None:
    document = coco_doc()
    document["annotations"].append(bad)
    parsed = read_doc(tmp_path, document)
    assert ids_of(parsed) == [1, 2, 3]  # the valid annotations, unchanged
    assert len(parsed.rejections) == 1, [str(r) for r in parsed.rejections]
    rejection = parsed.rejections[0]
    assert (rejection.field, rejection.image_id, rejection.annotation_id) == (field, image_id, annotation_id)
    assert rejection.path == str(tmp_path / "ann.json")
    assert rejection.message.startswith("annotations[3]: ")
    assert len(rejection.message) > len("annotations[3]: ") + 20


def test_duplicate_id_keeps_the_first_mask(tmp_path: Path) -> None:
    document = coco_doc()
    document["annotations"].append({**BAD, "id": 2, "segmentation": [[0, 0, 9, 0, 9, 9, 0, 9]]})
    parsed = read_doc(tmp_path, document)
    first = {s.id: s for _, s in parsed.segments}[2]
    assert np.array_equal(masks.decode(first.rle), SQUARE)
    assert "already used by annotations[1]" in parsed.rejections[0].message


def test_repeated_key_in_an_annotation_is_refused(tmp_path: Path) -> None:
    text = json.dumps(coco_doc())
    bad = '{"id": 99, "image_id": 1, "category_id": 1, "category_id": 2, "segmentation": [[1, 1, 5, 1, 5, 5]]}'
    path = tmp_path / "dup.json"
    path.write_text(text[: text.rindex("]}")] + ", " + bad + "]}")
    parsed = read_instances(path)
    assert ids_of(parsed) == [1, 2, 3]
    assert [(r.field, r.annotation_id) for r in parsed.rejections] == [("category_id", 99)]
    assert "more than once" in parsed.rejections[0].message


# --- bad images and categories -----------------------------------------------------------------------------

# (case id, bad image appended, expected field, image id)
IMAGE_CASES: list[tuple[str, Any, str | None, Any]] = [
    ("not-an-object", [1], None, None),
    ("height-bool", {"id": 5, "file_name": "e.jpg", "height": True, "width": 4}, "height", 5),
    ("height-zero", {"id": 5, "file_name": "e.jpg", "height": 0, "width": 4}, "height", 5),
    ("width-float", {"id": 5, "file_name": "e.jpg", "height": 4, "width": 4.0}, "width", 5),
    ("width-nan", {"id": 5, "file_name": "e.jpg", "height": 4, "width": math.nan}, "width", 5),
    ("file-name-missing", {"id": 5, "height": 4, "width": 4}, "file_name", 5),
    ("id-missing", {"file_name": "e.jpg", "height": 4, "width": 4}, "id", None),
    ("too-large-for-rle", {"id": 5, "file_name": "e.jpg", "height": 70000, "width": 70000}, "height", 5),
]


@pytest.mark.parametrize(("bad", "field", "image_id"), [pytest.param(*case[1:], id=case[0]) for case in IMAGE_CASES])
def test_bad_image_is_refused_and_the_rest_kept(tmp_path: Path, bad: Any, field: str | None, image_id: Any) -> None:
    document = coco_doc()
    document["images"].append(bad)
    parsed = read_doc(tmp_path, document)
    assert sorted(parsed.images) == [1, 2]
    assert ids_of(parsed) == [1, 2, 3]
    assert [(r.field, r.image_id, r.annotation_id) for r in parsed.rejections] == [(field, image_id, None)]
    assert parsed.rejections[0].message.startswith("images[2]: ")


def test_annotations_of_a_refused_image_say_so(tmp_path: Path) -> None:
    document = coco_doc()
    document["images"].append({"id": 5, "file_name": "e.jpg", "height": -3, "width": 4})
    document["annotations"].append({**BAD, "image_id": 5, "segmentation": [[0, 0, 2, 0, 2, 2]]})
    parsed = read_doc(tmp_path, document)
    assert [(r.field, r.image_id, r.annotation_id) for r in parsed.rejections] == [
        ("height", 5, None),
        ("image_id", 5, 99),
    ]
    assert "was refused" in parsed.rejections[1].message


def test_duplicate_image_id_keeps_the_first(tmp_path: Path) -> None:
    document = coco_doc()
    document["images"].append({"id": 1, "file_name": "other.jpg", "height": 99, "width": 99})
    parsed = read_doc(tmp_path, document)
    assert parsed.images[1].file_name == "a.jpg"
    assert [(r.field, r.image_id) for r in parsed.rejections] == [("id", 1)]
    assert ids_of(parsed) == [1, 2, 3]


def test_bad_category_entry_is_refused(tmp_path: Path) -> None:
    document = coco_doc()
    document["categories"].append({"id": "three", "name": "x"})
    document["categories"].append({"id": 1, "name": "again"})
    parsed = read_doc(tmp_path, document)
    assert [(r.field, r.message[:14]) for r in parsed.rejections] == [
        ("id", "categories[2]:"),
        ("id", "categories[3]:"),
    ]
    assert parsed.categories[1].name == "cat"


# --- whole-file problems: one rejection, nothing else ------------------------------------------------------


def _text(text: str) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _bytes(raw: bytes) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(raw)
        return path

    return write


_VALID_TEXT = json.dumps(coco_doc())

FILE_CASES = [
    pytest.param(_text("{"), "truncated", id="one-brace"),
    pytest.param(_text(_VALID_TEXT[: len(_VALID_TEXT) // 2]), "truncated", id="truncated-half"),
    pytest.param(_text(""), "not valid JSON", id="empty-file"),
    pytest.param(_text("{'images': []}"), "not valid JSON", id="single-quotes"),
    pytest.param(_bytes(b'{"images": "\xff\xfe"}'), "not UTF-8", id="latin-1-bytes"),
    pytest.param(_text("[1, 2, 3]"), "JSON object", id="top-level-list"),
    pytest.param(_text("NaN"), "JSON object", id="top-level-nan"),
    pytest.param(_text('{"images": [], "images": []}'), "more than once", id="repeated-top-level-key"),
    pytest.param(_text("[" * 100_000 + "]" * 100_000), "cannot be read", id="deep-nesting"),
]


@pytest.mark.parametrize(("write", "phrase"), FILE_CASES)
def test_unparseable_file_gives_one_rejection(tmp_path: Path, write: Callable[[Path], Path], phrase: str) -> None:
    path = write(tmp_path / "broken.json")
    parsed = read_instances(path)
    assert (parsed.images, parsed.segments, parsed.categories) == ({}, [], {})
    assert len(parsed.rejections) == 1
    rejection = parsed.rejections[0]
    assert (rejection.path, rejection.image_id, rejection.annotation_id, rejection.field) == (
        str(path),
        None,
        None,
        None,
    )
    assert phrase in rejection.message


@pytest.mark.parametrize("key", ["images", "annotations", "categories"])
def test_missing_top_level_list_is_refused(tmp_path: Path, key: str) -> None:
    document = coco_doc()
    del document[key]
    parsed = read_doc(tmp_path, document)
    assert [r.field for r in parsed.rejections if r.annotation_id is None] == [key]
    if key == "annotations":
        assert sorted(parsed.images) == [1, 2] and parsed.segments == []


def test_top_level_nan_value_is_refused(tmp_path: Path) -> None:
    document = coco_doc()
    document["annotations"] = math.nan
    parsed = read_doc(tmp_path, document)
    assert [(r.field, "NaN" in r.message) for r in parsed.rejections] == [("annotations", True)]


def test_unreadable_path_raises_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError) as missing:
        read_instances(tmp_path / "absent.json")
    assert missing.value.path == str(tmp_path / "absent.json")
    with pytest.raises(FormatError):
        read_instances(tmp_path)  # a folder


# --- categories and round membership -----------------------------------------------------------------------


@pytest.mark.parametrize("classes", [[Category(1, "cat")], {1}, {1: Category(1, "cat")}])
def test_project_categories_override_the_files(tmp_path: Path, classes: Any) -> None:
    parsed = read_doc(tmp_path, coco_doc(), categories=classes)
    assert ids_of(parsed) == [1, 3]
    assert [(r.field, r.annotation_id) for r in parsed.rejections] == [("category_id", 2)]
    assert list(parsed.categories) == [1]


def test_project_categories_make_the_files_list_optional(tmp_path: Path) -> None:
    document = coco_doc()
    del document["categories"]
    parsed = read_doc(tmp_path, document, categories=[1, 2])
    assert parsed.rejections == [] and ids_of(parsed) == [1, 2, 3]


def test_images_outside_the_round_are_refused(tmp_path: Path) -> None:
    parsed = read_doc(tmp_path, coco_doc(), image_ids=[1])
    assert sorted(parsed.images) == [1] and ids_of(parsed) == [1, 2]
    assert [(r.field, r.image_id, r.annotation_id) for r in parsed.rejections] == [
        ("image_id", 2, None),
        ("image_id", 2, 3),
    ]


def test_validate_image_ids_keeps_a_file_inside_the_round_unchanged(tmp_path: Path) -> None:
    parsed = read_doc(tmp_path, coco_doc())
    assert validate_image_ids(parsed, {1, 2, 3}) is parsed
