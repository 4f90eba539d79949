"""CVAT readers against real exports (README of ../shared/refdata/interop), and the XML writer round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qc import masks
from qc.core import Category, ImageInfo, Segment
from qc.errors import InvalidOptionError
from qc.formats import cvat
from tests.formats._interop import check_mask, interop


def test_xml_masks_next_cvat() -> None:
    parsed = cvat.read_cvat_xml(interop("cvat-xml-masks_next-cvat/mask_annotations.xml"))
    assert parsed.rejections == []
    assert [c.name for c in parsed.categories.values()] == ["sand", "vegetation"]
    (image,) = parsed.images.values()
    assert (image.width, image.height) == (4096, 1536)
    assert "/" in image.file_name
    boxes = [(214, 0, 3721, 1536), (199, 0, 3709, 1536), (453, 673, 263, 96)]
    assert len(parsed.segments) == 3
    for (_, segment), box in zip(parsed.segments, boxes, strict=True):
        assert parsed.categories[segment.category_id].name == "vegetation"
        check_mask(segment, bbox=box)  # row-major decoding fills the stated box exactly


def test_xml_masks_map_to_project_classes_by_name() -> None:
    project = [Category(4, "Vegetation"), Category(9, "sand")]
    parsed = cvat.read_cvat_xml(interop("cvat-xml-masks_next-cvat/mask_annotations.xml"), categories=project)
    assert {s.category_id for _, s in parsed.segments} == {4}
    unknown = cvat.read_cvat_xml(
        interop("cvat-xml-masks_next-cvat/mask_annotations.xml"), categories=[Category(1, "road")]
    )
    assert unknown.segments == [] and len(unknown.rejections) == 3
    assert "vegetation" in unknown.rejections[0].message


def test_xml_polygons_agritech() -> None:
    parsed = cvat.read_cvat_xml(interop("cvat-xml-polygons_agritech/annotations.xml"))
    assert parsed.rejections == []
    assert len(parsed.images) == 99 and len(parsed.segments) == 99
    assert all((i.width, i.height) == (256, 256) for i in parsed.images.values())
    assert [c.name for c in parsed.categories.values()] == [
        "Healthy",
        "LB_EarlyStage",
        "LB_Advanced",
        "BR_EarlyStage",
        "BR_Advanced",
        "Esca_EarlyStage",
        "Esca_Advanced",
    ]
    assert sorted({i for i, _ in parsed.segments}) == sorted(parsed.images)
    for _, segment in parsed.segments:
        check_mask(segment)


def test_coco_rle_logseg_masks_are_instances_by_default() -> None:
    path = interop("cvat-coco-rle_logseg/annotations/instances_extra.json")
    parsed = cvat.read_cvat_coco(path)
    assert parsed.format == "cvat-coco" and parsed.rejections == []
    assert len(parsed.images) == 40 and len(parsed.segments) == 75
    assert {parsed.categories[s.category_id].name for _, s in parsed.segments} == {"cut"}
    assert not any(s.iscrowd for _, s in parsed.segments)
    stated = {a["id"]: a for a in json.loads(path.read_text())["annotations"]}
    for _, segment in parsed.segments:
        check_mask(segment, bbox=tuple(int(v) for v in stated[segment.id]["bbox"]), area=stated[segment.id]["area"])
    crowd = cvat.read_cvat_coco(path, crowd="crowd")
    assert all(s.iscrowd for _, s in crowd.segments)


def test_coco_polygons_sakib() -> None:
    parsed = cvat.read_cvat_coco(interop("cvat-coco-polygons_sakib/annotations/instances_default.json"))
    assert parsed.rejections == []
    assert len(parsed.images) == 6 and len(parsed.segments) == 29 and len(parsed.categories) == 23
    assert len({s.category_id for _, s in parsed.segments}) == 10
    sizes = sorted((i.width, i.height) for i in parsed.images.values())
    assert sizes == [(640, 480)] * 3 + [(1200, 800)] * 2 + [(2000, 1333)]
    for _, segment in parsed.segments:
        check_mask(segment)


def test_segmask_kcl() -> None:
    parsed = cvat.read_cvat_segmask(interop("cvat-segmask_kcl-summerschool"))
    assert parsed.rejections == []
    assert [c.name for c in parsed.categories.values()] == ["tool"]
    assert sorted(parsed.images) == ["SSI1", "SSI2"]
    assert all((i.width, i.height) == (1920, 1080) for i in parsed.images.values())
    assert [(i, s.area) for i, s in parsed.segments] == [("SSI1", 26450), ("SSI2", 35170)]
    for _, segment in parsed.segments:
        check_mask(segment)


def test_xml_refuses_doctype_and_bad_shapes(tmp_path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><annotations>&x;</annotations>')
    parsed = cvat.read_cvat_xml(bomb)
    assert parsed.segments == [] and "DOCTYPE" in parsed.rejections[0].message
    doc = tmp_path / "a.xml"
    doc.write_text(
        '<annotations><image id="1" name="a.jpg" width="10" height="8">'
        '<polygon label="cat" points="1,1;5,1;5,5;1,5"/>'
        '<box label="cat" xtl="0" ytl="0" xbr="4" ybr="2"/>'
        '<polyline label="cat" points="1,1;5,5"/>'
        '<mask label="cat" rle="1, 2" left="8" top="0" width="3" height="1"/>'
        '<mask label="cat" rle="1, 2" left="0" top="0" width="2" height="2"/>'
        "</image></annotations>"
    )
    parsed = cvat.read_cvat_xml(doc)
    assert [(s.id, s.area) for _, s in parsed.segments] == [(1, 16), (2, 8)]
    assert [r.field for r in parsed.rejections] == ["polyline", "left", "rle"]


def test_xml_mask_is_row_major() -> None:
    runs = [1, 2, 3]  # 2x3 box: background 1, foreground 2, background 3 -> row 0 columns 1-2
    crop = np.repeat((np.arange(3) % 2).astype(bool), runs).reshape(2, 3)
    assert crop.tolist() == [[False, True, True], [False, False, False]]
    assert cvat.mask_runs(crop) == runs


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=7, max_size=7), min_size=5, max_size=5))
def test_xml_round_trip_is_pixel_exact(rows: list[list[bool]]) -> None:
    import tempfile
    from pathlib import Path

    mask = np.array(rows, dtype=bool)
    if not mask.any():
        return
    images = [ImageInfo(3, "x/a.jpg", 5, 7)]
    segments = [(3, Segment(1, 2, masks.encode(mask)))]
    path = Path(tempfile.mkdtemp()) / "out.xml"
    cvat.write_cvat_xml(path, images, segments, [Category(2, "cat")], comments={3: "redo the <edges> & tips"})
    back = cvat.read_cvat_xml(path, categories=[Category(2, "cat")])
    assert back.rejections == []
    assert [(i, s.category_id) for i, s in back.segments] == [(0, 2)]  # CVAT frame ids count from 0
    assert back.images[0].file_name == "x/a.jpg"
    assert np.array_equal(masks.decode(back.segments[0][1].rle), mask)
    assert "redo the &lt;edges&gt; &amp; tips" in path.read_text()


def test_crowd_policy_is_checked() -> None:
    with pytest.raises(InvalidOptionError, match="crowd must be one of crowd, instance; got 'maybe'"):
        cvat.read_cvat_coco(interop("cvat-coco-rle_logseg/annotations/instances_extra.json"), crowd="maybe")
