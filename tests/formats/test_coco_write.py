"""COCO instances: writing (to_coco_dict, write_instances) and round trips through pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO

from qc import masks
from qc.core import Segment
from qc.errors import FormatError
from qc.formats import (
    Category,
    ImageInfo,
    read_instances,
    to_coco_dict,
    write_instances,
)
from tests.formats.docs import coco_doc, write_json
from tests.support.data import REFDATA_DIR

PANOPTIC_SAMPLE = REFDATA_DIR / "interop/coco-panoptic_panopticapi"


# --- writing -----------------------------------------------------------------------------------------------

IMAGE = ImageInfo(7, "x.jpg", 6, 8)


def _square_segment(segment_id: Any = 4, iscrowd: bool = False) -> Segment:
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:5, 2:4] = True  # x 2..3, y 1..4: 8 px
    return Segment(segment_id, 3, masks.encode(mask), iscrowd)


def test_to_coco_dict_values() -> None:
    document = to_coco_dict([IMAGE], [(7, _square_segment(iscrowd=True))], [Category(3, "car")])
    assert document["images"] == [{"id": 7, "file_name": "x.jpg", "height": 6, "width": 8}]
    assert document["categories"] == [{"id": 3, "name": "car"}]
    (annotation,) = document["annotations"]
    assert annotation["area"] == 8.0 and isinstance(annotation["area"], float)
    assert annotation["bbox"] == [2.0, 1.0, 2.0, 4.0] and all(isinstance(v, float) for v in annotation["bbox"])
    assert annotation["iscrowd"] == 1
    assert annotation["segmentation"]["size"] == [6, 8]
    assert isinstance(annotation["segmentation"]["counts"], str)


@pytest.mark.parametrize(
    "segments",
    [
        pytest.param([(8, _square_segment())], id="unknown-image"),
        pytest.param([(7, Segment(4, 3, masks.empty(5, 8)))], id="wrong-size"),
        pytest.param([(7, _square_segment(4)), (7, _square_segment(4))], id="duplicate-id"),
    ],
)
def test_to_coco_dict_refuses_inconsistent_input(segments: list[tuple[Any, Segment]]) -> None:
    with pytest.raises(FormatError):
        to_coco_dict([IMAGE], segments, [Category(3, "car")])


def test_write_instances_to_a_stream_and_a_path(tmp_path: Path) -> None:
    stream = io.StringIO()
    write_instances(stream, [IMAGE], [(7, _square_segment())], [Category(3, "car")])
    write_instances(tmp_path / "out.json", [IMAGE], [(7, _square_segment())], [Category(3, "car")])
    assert json.loads(stream.getvalue()) == json.loads((tmp_path / "out.json").read_text())
    assert not list(tmp_path.glob("*.tmp"))


# --- round trips through pycocotools -----------------------------------------------------------------------


def _load_coco(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def _assert_same_masks(original: Path, written: Path) -> int:
    source, result = _load_coco(original), _load_coco(written)
    assert sorted(source.getAnnIds()) == sorted(result.getAnnIds())
    for annotation_id in source.getAnnIds():
        before, after = source.loadAnns(annotation_id)[0], result.loadAnns(annotation_id)[0]
        expected = source.annToMask(before)
        assert np.array_equal(result.annToMask(after), expected), annotation_id
        assert after["area"] == float(expected.sum())
        assert (after["image_id"], after["category_id"], after["iscrowd"]) == (
            before["image_id"],
            before["category_id"],
            before.get("iscrowd", 0),
        )
    return len(source.getAnnIds())


def test_round_trip_through_pycocotools(tmp_path: Path) -> None:
    original = write_json(tmp_path / "in.json", coco_doc())
    parsed = read_instances(original)
    written = tmp_path / "out.json"
    write_instances(written, parsed.images, parsed.segments, parsed.categories)
    assert _assert_same_masks(original, written) == 3
    again = read_instances(written)
    assert again.rejections == []
    assert [s.rle for _, s in again.segments] == [s.rle for _, s in parsed.segments]


def test_real_detection_format_file(tmp_path: Path) -> None:
    path = PANOPTIC_SAMPLE / "sample_data/panoptic_coco_detection_format.json"
    if not path.exists():
        pytest.skip(f"reference sample {path} is absent: set QC_SHARED_DIR to the folder holding refdata/")
    parsed = read_instances(path)
    assert parsed.rejections == []
    assert len(parsed.segments) == 50 and len(parsed.categories) == 133
    assert sum(s.iscrowd for _, s in parsed.segments) == 3
    stated = {a["id"]: a["area"] for a in json.loads(path.read_text())["annotations"]}
    assert {s.id: s.area for _, s in parsed.segments} == stated  # README: pycocotools areas equal the stated ones
    written = tmp_path / "out.json"
    write_instances(written, parsed.images, parsed.segments, parsed.categories)
    assert _assert_same_masks(path, written) == 50
