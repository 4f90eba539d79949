"""Format detection and read_any over every real export."""

from __future__ import annotations

import json

import pytest

from qc.core import ImageInfo
from qc.errors import FormatError
from qc.formats import detect_format, read_any
from tests.formats._interop import interop

CASES = [
    ("cvat-xml-masks_next-cvat/mask_annotations.xml", "cvat-xml", [(None, 3)]),
    ("cvat-xml-polygons_agritech/annotations.xml", "cvat-xml", [(None, 99)]),
    ("cvat-coco-rle_logseg/annotations/instances_extra.json", "cvat-coco", [(None, 75)]),
    ("cvat-coco-polygons_sakib/annotations/instances_default.json", "cvat-coco", [(None, 29)]),
    ("cvat-segmask_kcl-summerschool", "cvat-segmask", [(None, 2)]),
    ("labelstudio-json_sdk-tests/test_export_coco/data.json", "labelstudio", [("308", 2)]),
    ("labelstudio-json_sdk-tests/test_export_yolo/data_polygons.json", "labelstudio", [("1", 1)]),
    ("labelstudio-brush_ml-backend/test_brush_labels.json", "labelstudio", [("yolo", 3)]),
    ("labelme_labelme-examples/primitives/primitives.json", "labelme", [(None, 5)]),
    ("labelme_labelme-examples/instance_segmentation/2011_000003.json", "labelme", [(None, 3)]),
    ("coco-panoptic_panopticapi/sample_data/panoptic_coco_detection_format.json", "coco", [(None, 50)]),
    ("coco-panoptic_panopticapi/sample_data/panoptic_examples.json", "coco_panoptic", [(None, 50)]),
]


@pytest.mark.parametrize(("relative", "kind", "found"), CASES)
def test_detect_and_read_any(relative: str, kind: str, found: list[tuple[str | None, int]]) -> None:
    path = interop(relative)
    assert detect_format(path) == kind
    parsed = read_any(path)
    assert [(p.annotator, len(p.segments)) for p in parsed] == found
    assert all(p.format == kind for p in parsed)


def test_unknown_files_raise(tmp_path) -> None:
    with pytest.raises(FormatError, match="labelmap"):
        detect_format(tmp_path)
    with pytest.raises(FormatError, match="CVAT"):
        detect_format(interop("labelstudio-json_sdk-tests/test_export_coco/label_config.xml"))
    other = tmp_path / "x.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(FormatError, match="cannot tell"):
        detect_format(other)


def test_model_results(tmp_path) -> None:
    polygon = [[0, 0, 4, 0, 4, 4, 0, 4]]
    results = [
        {"image_id": 1, "category_id": 2, "segmentation": polygon, "score": 0.9},
        {"image_id": 1, "category_id": 2, "segmentation": polygon, "score": 0.1},
        {"image_id": 5, "category_id": 2, "segmentation": polygon, "score": 0.9},
    ]
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(results))
    (parsed,) = read_any(path, images=[ImageInfo(1, "a.jpg", 8, 8)], categories=[2])
    assert [(i, s.id, s.area) for i, s in parsed.segments] == [(1, 1, 16)]
    assert [(r.annotation_id, r.field) for r in parsed.rejections] == [(3, "image_id")]


@pytest.mark.parametrize("annotations", [None, {"1": {"id": 1}}, "none"])
def test_coco_with_annotations_that_are_not_a_list_is_refused_naming_the_field(tmp_path, annotations) -> None:
    """Issue 13 item 6: such a file was detected as Label Studio and stored nothing, with exit 0."""
    document = {
        "images": [{"id": 1, "file_name": "a.jpg", "height": 8, "width": 8}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": annotations,
    }
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(document))
    with pytest.raises(FormatError, match="looks like a COCO file but its top-level 'annotations'") as caught:
        detect_format(path)
    assert caught.value.field == "annotations" and caught.value.path == str(path)


def test_labelstudio_task_whose_annotations_are_not_a_list_is_refused_naming_it(tmp_path) -> None:
    tasks = [{"id": 1, "data": {"image": "a.jpg"}, "annotations": []}, {"id": 2, "data": {}, "annotations": None}]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks))
    with pytest.raises(FormatError, match="task 1's 'annotations' is null") as caught:
        detect_format(path)
    assert caught.value.field == "annotations"
    single = tmp_path / "one.json"
    single.write_text(json.dumps(tasks[0]))
    assert detect_format(single) == "labelstudio"
