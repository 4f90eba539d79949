"""Label Studio reader against real exports, the brush RLE port, and the writer round trip."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qc import masks
from qc.core import Category, ImageInfo, Segment
from qc.formats import labelstudio as ls
from tests.formats._interop import check_mask, interop


def test_brush_labels_ml_backend() -> None:
    path = interop("labelstudio-brush_ml-backend/test_brush_labels.json")
    (parsed,) = ls.read_labelstudio(path)
    assert parsed.annotator == "yolo" and parsed.rejections == []
    (image,) = parsed.images.values()
    assert (image.width, image.height) == (768, 576)
    assert [c.name for c in parsed.categories.values()] == ["Person"]
    assert [s.area for _, s in parsed.segments] == [12104, 5716, 11709]
    raw = json.loads(path.read_text())[0]["result"]
    assert [len(r["value"]["rle"]) for r in raw] == [1469, 966, 1529]
    for result, (_, segment) in zip(raw, parsed.segments, strict=True):
        check_mask(segment)
        values = ls.decode_brush(bytes(result["value"]["rle"]))
        assert values.size == 768 * 576 * 4
        rgba = values.reshape(576, 768, 4)
        assert set(np.unique(rgba[:, :, 3]).tolist()) == {0, 255}
        assert np.array_equal(rgba[:, :, 0], rgba[:, :, 3])  # mask2rle repeats grey into all channels
        # our encoder reproduces Label Studio's bytes exactly
        assert ls.encode_brush(rgba[:, :, 3].astype(np.uint8)) == result["value"]["rle"]


def test_export_coco_sdk() -> None:
    (parsed,) = ls.read_labelstudio(interop("labelstudio-json_sdk-tests/test_export_coco/data.json"))
    assert parsed.annotator == "308"  # no completed_by in this export: updated_by names the person
    (image,) = parsed.images.values()
    assert (image.file_name, image.width, image.height) == ("test_image1.jpg", 500, 320)
    names = {s.id: parsed.categories[s.category_id].name for _, s in parsed.segments}
    assert names == {"G1wj68-AlF": "rectangle_label", "ceW2r_kjT_": "polygon_label"}
    assert [r.field for r in parsed.rejections] == ["type", "type"]  # the 2 keypoints
    rectangle = parsed.segments[0][1]
    # x 31.94%, y 4.11%, w 6.35%, h 9.93% of 500x320 -> about 31.76 x 31.77 px at (159.7, 13.2)
    assert rectangle.bbox[:2] == (160, 13) and abs(rectangle.area - 31.76 * 31.77) < 40
    for _, segment in parsed.segments:
        check_mask(segment)


def test_export_yolo_polygons_sdk() -> None:
    (parsed,) = ls.read_labelstudio(
        interop("labelstudio-json_sdk-tests/test_export_yolo/data_polygons.json"),
        categories=[Category(5, "airplane")],
    )
    assert parsed.annotator == "1" and parsed.rejections == []
    (image,) = parsed.images.values()
    assert (image.width, image.height) == (640, 426)
    ((_, segment),) = parsed.segments
    assert segment.category_id == 5
    check_mask(segment)


def test_several_annotators_become_several_submissions(tmp_path) -> None:
    def polygon(label: str) -> dict[str, object]:
        value = {"points": [[10, 10], [50, 10], [50, 50]], "polygonlabels": [label]}
        return {"id": "r1", "type": "polygonlabels", "value": value, "original_width": 20, "original_height": 10}

    tasks = [
        {
            "id": 7,
            "data": {"image": "/data/local-files/?d=folder/a%20b.jpg"},
            "annotations": [
                {"completed_by": {"id": 3, "email": "ann@x.org"}, "result": [polygon("cat")]},
                {"completed_by": 4, "result": [polygon("dog")]},
                {"completed_by": 5, "was_cancelled": True, "result": [polygon("dog")]},
            ],
            "predictions": [{"model_version": "m1", "result": [polygon("cat")]}],
        }
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    parsed = ls.read_labelstudio(path)
    assert [p.annotator for p in parsed] == ["ann@x.org", "4"]
    assert parsed[0].images[7].file_name == "a b.jpg"
    assert [parsed[0].categories[s.category_id].name for _, s in parsed[0].segments] == ["cat"]
    assert [p.annotator for p in ls.read_labelstudio(path, predictions=True)] == ["ann@x.org", "4", "m1"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=4, max_size=4))
def test_round_trip_is_pixel_exact(rows: list[list[bool]]) -> None:
    import tempfile
    from pathlib import Path

    mask = np.array(rows, dtype=bool)
    if not mask.any():
        return
    path = Path(tempfile.mkdtemp()) / "tasks.json"
    images, segments = [ImageInfo(11, "a.jpg", 4, 6)], [(11, Segment(1, 2, masks.encode(mask)))]
    ls.write_labelstudio(path, images, segments, [Category(2, "cat")], comments={11: "tighter edges"})
    (back,) = ls.read_labelstudio(path, predictions=True, categories=[Category(2, "cat")])
    assert back.annotator == "qc" and back.rejections == []
    assert [(i, s.id, s.category_id) for i, s in back.segments] == [(11, "1", 2)]
    assert np.array_equal(masks.decode(back.segments[0][1].rle), mask)
    assert json.loads(path.read_text())[0]["data"]["qc_feedback"] == "tighter edges"


def test_truncated_brush_is_a_rejection(tmp_path) -> None:
    value = {"format": "rle", "rle": [0, 0, 0], "brushlabels": ["cat"]}
    result = {"id": "b", "type": "brushlabels", "value": value, "original_width": 2, "original_height": 2}
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"id": 1, "data": {"image": "a.png"}, "annotations": [{"result": [result]}]}]))
    (parsed,) = ls.read_labelstudio(path)
    assert parsed.segments == [] and parsed.rejections[0].field == "rle"
