"""A delivered label PNG (qc.formats.png_delivery): detected by the project's task, matched to its image by name,
read as class ids, guideline colours or instance ids with classes.json; whole-PNG problems tied to the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qc.core import Category, ImageInfo
from qc.errors import FormatError
from qc.formats import detect_format, read_any
from qc.formats.masks_png import MAX_LISTED, read_colour_png
from qc.formats.png_delivery import ClassesFile, read_classes_file, read_delivered_png

CLASSES = [Category(1, "road"), Category(2, "car")]
IMAGES = [ImageInfo(10, "img0.jpg", 4, 5), ImageInfo(11, "sub/img1.jpeg", 4, 5)]


def areas(parsed: object) -> list[tuple[object, int, int, int]]:
    return [(i, s.id, s.category_id, s.area) for i, s in parsed.segments]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("task", "expected"),
    [("semantic", "png_semantic"), ("instance", "png_instance"), ("panoptic", "png_instance")],
)
def test_a_png_is_detected_by_the_projects_task(tmp_path: Path, task: str, expected: str) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(path)
    assert detect_format(path, task=task) == expected


def test_a_png_without_a_task_is_refused_saying_how_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(path)
    with pytest.raises(FormatError, match="a label PNG is read by its project's task") as caught:
        read_any(path)
    assert caught.value.field == "task" and caught.value.path == str(path)


def test_a_palette_png_holds_class_ids_and_its_image_is_the_one_of_its_stem(tmp_path: Path) -> None:
    path = tmp_path / "img1.png"
    image = Image.frombytes("P", (5, 4), bytes([0, 1, 1, 2, 2] * 4))
    image.putpalette([0, 0, 0, 10, 10, 10, 200, 0, 0])
    image.save(path)
    (parsed,) = read_any(path, task="semantic", images=IMAGES, categories=CLASSES)
    assert parsed.format == "png_semantic" and parsed.images == {11: IMAGES[1]}  # the project's file name
    assert areas(parsed) == [(11, 1, 1, 8), (11, 2, 2, 8)] and parsed.rejections == []


def test_value_zero_is_a_class_when_the_project_has_class_zero(tmp_path: Path) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.array([[0, 0, 1, 1, 1]] * 4, np.uint8)).save(path)
    parsed = read_delivered_png(path, task="semantic", images=IMAGES, categories=[Category(0, "sky"), CLASSES[0]])
    assert areas(parsed) == [(10, 0, 0, 8), (10, 1, 1, 12)]


def test_black_is_a_class_when_a_class_is_black_and_unknown_colours_beyond_the_tenth_are_refused_together(
    tmp_path: Path,
) -> None:
    path = tmp_path / "img0.png"
    pixels = np.zeros((4, 5, 3), np.uint8)
    pixels.reshape(-1, 3)[:14] = [(i + 1, 0, 0) for i in range(14)]  # 14 unknown colours, one pixel each
    Image.fromarray(pixels).save(path)
    parsed = read_delivered_png(path, task="semantic", images=IMAGES, colours={"#000000": 2})
    assert areas(parsed) == [(10, 2, 2, 6)]
    assert len(parsed.rejections) == MAX_LISTED + 1
    assert parsed.rejections[0].message.startswith("1 pixels have colour #010000, which is no class colour")
    assert parsed.rejections[-1].message.startswith("4 more pixels have 4 other unknown colours")
    assert {(r.field, r.file_name, r.image_id) for r in parsed.rejections} == {("pixels", "img0.jpg", 10)}


def test_a_colour_png_of_another_size_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "b.png"
    Image.fromarray(np.zeros((5, 4, 3), np.uint8)).save(path)
    parsed = read_colour_png(path, image_id=1, colours={"#ff0000": 1}, height=4, width=5)
    assert parsed.images == {} and parsed.segments == []
    ((field, message),) = [(r.field, r.message) for r in parsed.rejections]
    assert field == "size" and message.startswith("the PNG is 5x4 (height x width) but the image is 4x5")


@pytest.mark.parametrize(
    ("task", "colours", "field", "start"),
    [
        ("instance", None, "mode", "the PNG has mode 'RGB' but one of"),  # instance ids are one channel
        ("semantic", None, "mode", "an RGB PNG is read by the guideline's class colours, and this round has none"),
    ],
)
def test_an_rgb_png_that_cannot_be_read_is_one_rejection_tied_to_its_image(
    tmp_path: Path, task: str, colours: dict[str, int] | None, field: str, start: str
) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(path)
    classes = ClassesFile(str(tmp_path / "classes.json"), {"img0": {}})
    parsed = read_delivered_png(path, task=task, images=IMAGES, colours=colours, classes=classes)
    assert parsed.images == {} and parsed.segments == []
    ((rejection),) = parsed.rejections
    assert (rejection.field, rejection.file_name) == (field, "img0.jpg") and rejection.message.startswith(start)


def test_a_stem_two_images_share_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(path)
    both = [IMAGES[0], ImageInfo(12, "img0.png", 4, 5)]
    with pytest.raises(FormatError, match=r"the name 'img0' fits several images \('img0.jpg', 'img0.png'\)"):
        read_delivered_png(path, task="semantic", images=both, categories=CLASSES)


@pytest.mark.parametrize(
    ("text", "field", "start"),
    [
        ("[1, 2]", "classes.json", "/classes.json must be an object of image stems"),
        ('{"img0": {}, "img0": {}}', "classes.json", "/classes.json cannot be read: top-level key(s) 'img0' appear"),
        ("{", "classes.json", "/classes.json cannot be read: "),
    ],
)
def test_an_unusable_classes_json_is_refused_naming_it(tmp_path: Path, text: str, field: str, start: str) -> None:
    path = tmp_path / "classes.json"
    path.write_text(text)
    with pytest.raises(FormatError) as caught:
        read_classes_file(path)
    assert caught.value.field == field and caught.value.message.startswith(str(tmp_path) + start)
    assert caught.value.path == str(path)


def test_bad_instance_entries_are_refused_one_by_one_and_their_pixels_not_twice(tmp_path: Path) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.array([[1, 2, 3, 4, 0]] * 4, np.uint8)).save(path)
    entry = {"1": "road", "2": 9, "3": True, "x": 1}  # 4 is painted but not listed
    classes = ClassesFile(str(tmp_path / "classes.json"), {"img0": entry})
    parsed = read_delivered_png(path, task="instance", images=IMAGES, categories=CLASSES, classes=classes)
    assert areas(parsed) == [(10, 1, 1, 4)]
    found = [(r.path.rsplit("/", 1)[-1], r.field, r.message[:49]) for r in parsed.rejections]
    assert found == [
        ("classes.json", "img0.2", "instance 2's class 9 is not one of the project's "),
        ("classes.json", "img0.3", "instance 3's class true (a boolean) is not one of"),
        ("classes.json", "img0.x", "'x' is no instance id: keys are the PNG's pixel v"),
        ("img0.png", "pixels", "4 pixels have value 4, which the instance -> clas"),
    ]


def test_an_instance_entry_that_repeats_an_id_refuses_its_png(tmp_path: Path) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.ones((4, 5), np.uint8)).save(path)
    (tmp_path / "classes.json").write_text('{"img0": {"1": "road", "1": "car"}}')
    classes = read_classes_file(tmp_path / "classes.json")
    with pytest.raises(FormatError, match="key '1' appears more than once in one object") as caught:
        read_delivered_png(path, task="instance", images=IMAGES, categories=CLASSES, classes=classes)
    assert caught.value.field == "img0.1"


def test_without_the_projects_classes_every_value_is_its_own_class(tmp_path: Path) -> None:
    path = tmp_path / "img0.png"
    Image.fromarray(np.array([[0, 5, 5, 300 % 256, 0]] * 4, np.uint8)).save(path)
    parsed = read_delivered_png(path, task="semantic", images=IMAGES)
    assert areas(parsed) == [(10, 5, 5, 8), (10, 44, 44, 4)] and parsed.rejections == []
