"""Hostile files, each read in a child process (a crash fails the test; memory is capped and measured).

Issue 13: a coordinate of 1e12 killed the process (SIGSEGV) in the CVAT XML, Label Studio and
labelme readers, 4e8 took ~23 GB; a 322-byte CVAT mask declaring 60000 x 60000 reached 7 GB,
a 0.5 MB panoptic PNG of 12000 x 14000 for a 176 x 224 image 6.8 GB. Now every such item is
refused on its own, naming its field, before anything is allocated for it; the valid rest of
the file is read. Peak memory is the child's (``RUSAGE_CHILDREN``), never a timing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.formats._isolated import run_child
from tests.formats.hostile_docs import (
    SQUARE,
    cvat_box,
    cvat_mask,
    cvat_polygon,
    cvat_xml,
    labelme_doc,
    labelme_mask_png,
    labelme_shape,
    ls_brush,
    ls_export,
    ls_polygon,
    ls_rectangle,
    png_bomb,
)

BASELINE_MB = 250
"""A child that imports qc, reads a small file and answers stays below this (about 100 MB in practice)."""


def read_in_child(path: Path, *, images: list[tuple[str, int, int]] | None = None, memory_mb: int = 1500) -> Any:
    """``read_any(path)`` (with the project's ``images`` when given) in a child; its summary and peak memory."""
    project = "None" if images is None else f"[ImageInfo(i, n, h, w) for i, (n, h, w) in enumerate({images!r})]"
    child = run_child(
        f"""
        import json
        from qc.core import ImageInfo
        from qc.formats.detect import read_any
        from tests.formats.hostile_docs import summary
        print(json.dumps(summary(read_any({str(path)!r}, images={project}))))
        """,
        memory_mb=memory_mb,
    )
    return child.json(), child.peak_mb


def fields(answer: dict[str, Any]) -> list[str | None]:
    return [r[2] for r in answer["rejections"]]


# --- item 1: huge coordinates ----------------------------------------------------------------------------


def test_cvat_xml_huge_coordinates_are_refused_one_by_one(tmp_path: Path) -> None:
    shapes = [
        cvat_polygon(SQUARE),
        cvat_polygon([[0, 0], [1e12, 0], [1e12, 1e12]]),  # SIGSEGV before
        cvat_polygon([[0, 0], [4e8, 0], [4e8, 4e8]]),  # ~23 GB before
        cvat_polygon([[-1e12, 0], [5, 0], [5, 5]]),
        cvat_polygon([[0, 0], ["nan", 0], [5, 5]]),
        cvat_box(1, 1, 1e12, 5),
        cvat_box(-3e9, 1, 5, 5, rotation=30),
        cvat_box(1, 1, 5, "inf"),
    ]
    path = tmp_path / "ana.xml"
    path.write_text(cvat_xml("".join(shapes)))
    answer, peak = read_in_child(path)
    assert [s[1:3] for s in answer["segments"]] == [["1", 36]]
    assert fields(answer) == ["points", "points", "points", "points", "xtl", "xtl", "ybr"]
    assert all(r[0] == "0" for r in answer["rejections"])  # each names its image
    assert "outside the image (0 to 20)" in answer["rejections"][0][3]
    assert peak < BASELINE_MB


def test_labelstudio_huge_coordinates_are_refused_one_by_one(tmp_path: Path) -> None:
    results = [
        ls_polygon(SQUARE),
        ls_polygon([[0, 0], [1e12, 0], [1e12, 1e12]]),
        ls_polygon([[0, 0], [-4e8, 0], [5, 5]]),
        ls_rectangle(10, 10, 1e12, 20),
        ls_rectangle(10, 10, 20, 1e300, rotation=45),
        ls_rectangle(1e308, 10, 1e308, 20),  # x + width overflows to inf
    ]
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(ls_export(results)))
    answer, peak = read_in_child(path)
    assert [s[1:3] for s in answer["segments"]] == [["r0", 36]]
    assert fields(answer) == ["points", "points", "value", "value", "value"]
    assert peak < BASELINE_MB


def test_labelme_huge_coordinates_are_refused_one_by_one(tmp_path: Path) -> None:
    shapes = [
        labelme_shape("polygon", SQUARE),
        labelme_shape("polygon", [[0, 0], [1e12, 0], [1e12, 1e12]]),
        labelme_shape("rectangle", [[1, 1], [4e8, 5]]),
        labelme_shape("circle", [[5, 5], [5, 1e12]]),
        labelme_shape("circle", [[-1e12, 5], [5, 5]]),
    ]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(labelme_doc(shapes)))
    answer, peak = read_in_child(path)
    assert [s[1:3] for s in answer["segments"]] == [["1", 36]]
    assert fields(answer) == ["points"] * 4
    assert peak < BASELINE_MB


def test_shapes_a_tool_lets_cross_the_border_are_cut_at_it(tmp_path: Path) -> None:
    """A circle near the edge and a rotated box partly outside are kept, cut at the image border."""
    circle = tmp_path / "a.json"
    circle.write_text(json.dumps(labelme_doc([labelme_shape("circle", [[18, 5], [18, 0]])])))
    box = tmp_path / "b.xml"
    box.write_text(cvat_xml(cvat_box(12, 2, 19, 8, rotation=45)))
    (circle_answer, _), (box_answer, _) = read_in_child(circle), read_in_child(box)
    for answer in (circle_answer, box_answer):
        assert answer["rejections"] == []
        ((_, _, area, (x, y, w, h)),) = answer["segments"]
        assert area > 20 and x >= 0 and y >= 0 and x + w <= 20 and y + h <= 10
    assert circle_answer["segments"][0][3][0] + circle_answer["segments"][0][3][2] == 20  # reaches the border


# --- item 4: declared sizes before allocation ------------------------------------------------------------


def test_cvat_mask_declaring_60000_square_is_refused_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "ana.xml"
    path.write_text(cvat_xml(cvat_mask(0, 0, 60000, 60000, "0, 3600000000"), height=60000, width=60000))
    assert path.stat().st_size < 500
    answer, peak = read_in_child(path)
    assert answer["segments"] == []
    assert fields(answer) == ["height"] and "67,108,864 pixels" in answer["rejections"][0][3]
    assert peak < BASELINE_MB


def test_an_image_declared_at_another_size_than_the_projects_is_refused_before_its_masks(tmp_path: Path) -> None:
    path = tmp_path / "ana.xml"
    mask = cvat_mask(0, 0, 8000, 8000, "0, 64000000")  # fits the declared 8000 x 8000 image
    path.write_text(cvat_xml(mask, height=8000, width=8000))
    answer, peak = read_in_child(path, images=[("a.jpg", 10, 20)])
    assert answer["segments"] == [] and fields(answer) == ["height"]
    assert "the project's image is 10x20" in answer["rejections"][0][3]
    assert peak < BASELINE_MB


def test_panoptic_png_of_12000_by_14000_for_a_small_image_is_refused_from_its_header(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    raw = png_bomb(folder / "street.png", 12000, 14000)
    assert len(raw) < 1_000_000
    document = {
        "images": [{"id": 1, "file_name": "street.jpg", "height": 12000, "width": 14000}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"image_id": 1, "file_name": "street.png", "segments_info": []}],
    }
    (tmp_path / "p.json").write_text(json.dumps(document))
    answer, peak = read_in_child(tmp_path / "p.json", images=[("street.jpg", 176, 224)])
    assert answer["segments"] == [] and "height" in fields(answer)
    assert peak < BASELINE_MB
    alone, alone_peak = read_in_child(tmp_path / "p.json")  # without the project: the cap on image pixels
    assert "height" in fields(alone) and alone_peak < BASELINE_MB


def test_cvat_segmentation_mask_png_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    export = tmp_path / "export"
    (export / "SegmentationClass").mkdir(parents=True)
    (export / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:255,0,0::\n")
    png_bomb(export / "SegmentationClass" / "a.png", 12000, 14000)
    answer, peak = read_in_child(export)
    assert answer["segments"] == [] and fields(answer) == ["size"]
    project, project_peak = read_in_child(export, images=[("a.png", 10, 20)])
    assert fields(project) == ["size"] and "image is 10x20" in project["rejections"][0][3]
    assert peak < BASELINE_MB and project_peak < BASELINE_MB


def test_labelstudio_brush_on_a_declared_huge_image_is_refused_before_decoding(tmp_path: Path) -> None:
    brush = ls_brush(np.ones((2, 2), bool), height=30000, width=30000)
    brush["value"]["rle"] = _brush_stream(30000 * 30000 * 4)  # a valid stream that fills 3.6e9 values
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(ls_export([brush])))
    assert path.stat().st_size < 2_000_000
    answer, peak = read_in_child(path)
    assert answer["segments"] == [] and fields(answer) == ["original_width"]
    assert peak < BASELINE_MB


def test_labelme_mask_png_larger_than_its_image_is_refused_from_its_header(tmp_path: Path) -> None:
    shape = labelme_shape("mask", [[0, 0], [19, 9]], mask="")
    shape["mask"] = __import__("base64").b64encode(png_bomb(None, 12000, 14000, channels=1)).decode()
    small = labelme_shape("mask", [[2, 2], [7, 7]], mask=labelme_mask_png(np.ones((6, 6), bool)))
    path = tmp_path / "a.json"
    path.write_text(json.dumps(labelme_doc([shape, small])))
    answer, peak = read_in_child(path)
    assert [s[1:3] for s in answer["segments"]] == [["1", 36]]
    assert fields(answer) == ["size"]
    assert peak < BASELINE_MB


@pytest.mark.parametrize("kind", ["instance", "semantic", "colour"])
def test_label_png_bomb_is_refused_from_its_header(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "a.png"
    png_bomb(path, 12000, 14000, channels=3 if kind == "colour" else 1)
    child = run_child(
        f"""
        import json
        from qc.formats.masks_png import read_{kind}_png
        from tests.formats.hostile_docs import summary
        options = {{"semantic": dict(classes={{1: 1}}), "colour": dict(colours={{"#ff0000": 1}})}}.get({kind!r}, {{}})
        print(json.dumps(summary([read_{kind}_png({str(path)!r}, image_id="a", **options)])))
        """
    )
    answer = child.json()
    assert answer["segments"] == [] and [r[2] for r in answer["rejections"]] == ["size"]
    assert child.peak_mb < BASELINE_MB


def test_coco_image_declared_at_another_size_refuses_the_image_and_names_it(tmp_path: Path) -> None:
    document = {
        "images": [{"id": 7, "file_name": "a.jpg", "height": 60000, "width": 60000}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "segmentation": [[0, 0, 59000, 0, 59000, 59000]]}],
    }
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(document))
    answer, _ = read_in_child(path, images=[("a.jpg", 10, 20)])
    assert answer["segments"] == []
    assert [r[:3] for r in answer["rejections"]] == [["7", "None", "height"], ["7", "1", "image_id"]]


def _brush_stream(count: int) -> list[int]:
    """A Label Studio brush stream of ``count`` zero values in runs of 2^16 (what a 30000^2 RGBA image holds)."""
    header = f"{count:032b}{7:05b}" + "".join(f"{x - 1:04b}" for x in (3, 4, 8, 16))
    run = f"1{3:02b}{(1 << 16) - 1:016b}{0:08b}"
    bits = header + run * (count // (1 << 16)) + f"1{3:02b}{count % (1 << 16) - 1:016b}{0:08b}"
    bits += "0" * (-len(bits) % 8)
    return list(int(bits, 2).to_bytes(len(bits) // 8, "big"))


def test_cvat_xml_in_an_encoding_python_does_not_know_is_refused_as_a_file(tmp_path: Path) -> None:
    """Found by the fuzzing on a fresh clone: ``encoding="atf-8"`` raised LookupError out of the reader."""
    from qc.formats import cvat

    path = tmp_path / "ana.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="atf-8"?>\n<annotations><version>1.1</version></annotations>')
    parsed = cvat.read_cvat_xml(path)
    assert parsed.segments == []
    (rejection,) = parsed.rejections
    assert "cannot be parsed (unknown encoding: atf-8)" in rejection.message


def test_labelme_polygon_without_points_is_refused_and_the_next_shape_kept(tmp_path: Path) -> None:
    """Found by the fuzzing on a fresh clone: ``"points": []`` raised ValueError (min of an empty list)."""
    from qc.formats import labelme

    shapes = [
        {"label": "cat", "points": [], "shape_type": "polygon", "group_id": None},
        {"label": "cat", "points": [[1, 1], [6, 5]], "shape_type": "rectangle", "group_id": None},
    ]
    document = {"version": "5.4.1", "imagePath": "a.jpg", "imageHeight": 10, "imageWidth": 20, "shapes": shapes}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(document))
    parsed = labelme.read_labelme(path)
    assert [segment.area for _, segment in parsed.segments] == [20]  # the rectangle: 5 x 4 pixels
    (rejection,) = parsed.rejections
    assert rejection.field is not None and "points" in rejection.field
    assert "the shape has no points" in rejection.message
