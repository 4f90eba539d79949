"""Label PNGs: semantic (value -> class) and instance (value = instance id), single files and folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from qc import masks
from qc.errors import FormatError
from qc.formats import (
    ImageInfo,
    ParsedAnnotations,
    read_instance_folder,
    read_instance_png,
    read_semantic_folder,
    read_semantic_png,
)

# 4 x 5: value 0 background, 1 and 2 two classes, 3 a value the class map does not know
VALUES = np.array(
    [
        [0, 1, 1, 0, 2],
        [0, 1, 1, 0, 2],
        [3, 0, 0, 0, 2],
        [0, 0, 4, 4, 0],
    ],
    dtype=np.uint8,
)


def save_gray(path: Path, values: npt.NDArray[np.integer]) -> Path:
    Image.fromarray(values.astype(np.uint8)).save(path)
    return path


def save_palette(path: Path, values: npt.NDArray[np.integer]) -> Path:
    image = Image.frombytes("P", (values.shape[1], values.shape[0]), values.astype(np.uint8).tobytes())
    image.putpalette([0, 0, 0, 200, 0, 0, 0, 200, 0, 0, 0, 200, 90, 90, 90] + [0] * (3 * 251))
    image.save(path)
    return path


def save_16bit(path: Path, values: npt.NDArray[np.integer]) -> Path:
    Image.frombytes("I;16", (values.shape[1], values.shape[0]), values.astype("<u2").tobytes()).save(path)
    return path


def areas(parsed: ParsedAnnotations) -> dict[int, tuple[int, int]]:
    return {s.id: (s.category_id, s.area) for _, s in parsed.segments}


@pytest.mark.parametrize("save", [save_gray, save_palette, save_16bit], ids=["L", "P", "I;16"])
def test_semantic_png_maps_values_to_classes(tmp_path: Path, save: object) -> None:
    path = save(tmp_path / "m.png", VALUES)  # type: ignore[operator]
    parsed = read_semantic_png(path, image_id=7, classes={1: 10, 2: 20, 4: 10}, height=4, width=5)
    assert parsed.format == "png_semantic"
    assert parsed.images == {7: ImageInfo(7, "m.png", 4, 5)}
    assert areas(parsed) == {10: (10, 6), 20: (20, 3)}  # values 1 and 4 both map to class 10
    class_10 = next(s for _, s in parsed.segments if s.id == 10)
    assert np.array_equal(masks.decode(class_10.rle), (VALUES == 1) | (VALUES == 4))
    (rejection,) = parsed.rejections
    assert (rejection.path, rejection.image_id, rejection.annotation_id, rejection.field) == (
        str(path),
        7,
        None,
        "pixels",
    )
    assert "1 pixels have value 3" in rejection.message


def test_semantic_values_above_255(tmp_path: Path) -> None:
    values = VALUES.astype(np.uint16) * 1000
    parsed = read_semantic_png(
        save_16bit(tmp_path / "m.png", values), image_id=1, classes={1000: 1, 2000: 2, 3000: 3, 4000: 4}
    )
    assert parsed.rejections == [] and areas(parsed) == {1: (1, 4), 2: (2, 3), 3: (3, 1), 4: (4, 2)}


def test_semantic_ignore_values(tmp_path: Path) -> None:
    path = save_gray(tmp_path / "m.png", VALUES)
    parsed = read_semantic_png(path, image_id=1, classes={1: 1}, ignore=(0, 2, 3, 4))
    assert parsed.rejections == [] and areas(parsed) == {1: (1, 4)}
    mapped_zero = read_semantic_png(path, image_id=1, classes={0: 5, 1: 1, 2: 2, 3: 3, 4: 4}, ignore=())
    assert areas(mapped_zero)[5] == (5, 10)


@pytest.mark.parametrize(("height", "width"), [(5, 5), (4, 4), (5, 4)], ids=["taller", "narrower", "transposed"])
def test_wrong_size_is_refused(tmp_path: Path, height: int, width: int) -> None:
    path = save_gray(tmp_path / "m.png", VALUES)
    for parsed in (
        read_semantic_png(path, image_id=1, classes={1: 1}, height=height, width=width),
        read_instance_png(path, image_id=1, height=height, width=width),
    ):
        assert (parsed.images, parsed.segments) == ({}, [])
        assert [(r.image_id, r.field) for r in parsed.rejections] == [(1, "size")]
        assert "4x5" in parsed.rejections[0].message


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA"])
def test_wrong_mode_is_refused(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "m.png"
    Image.new(mode, (5, 4)).save(path)
    parsed = read_semantic_png(path, image_id=1, classes={1: 1})
    assert [(r.field, mode in r.message) for r in parsed.rejections] == [("mode", True)]
    assert parsed.segments == []


@pytest.mark.parametrize(
    "raw", [b"", b"not a png at all", b"\x89PNG\r\n\x1a\n" + bytes(20)], ids=["empty", "text", "header-only"]
)
def test_undecodable_png_is_refused(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "m.png"
    path.write_bytes(raw)
    parsed = read_instance_png(path, image_id=3)
    assert [(r.path, r.image_id, r.field) for r in parsed.rejections] == [(str(path), 3, "file_name")]


def test_truncated_png_is_refused(tmp_path: Path) -> None:
    path = save_gray(tmp_path / "m.png", np.arange(64 * 64).reshape(64, 64) % 7)
    path.write_bytes(path.read_bytes()[:-40])
    parsed = read_semantic_png(path, image_id=1, classes={i: i for i in range(7)})
    assert [r.field for r in parsed.rejections] == ["file_name"] and parsed.segments == []


def test_missing_path_raises_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError):
        read_semantic_png(tmp_path / "absent.png", image_id=1, classes={})


def test_instance_png_one_segment_per_id(tmp_path: Path) -> None:
    path = save_gray(tmp_path / "m.png", VALUES)
    parsed = read_instance_png(path, image_id="x", category_id=9)
    assert parsed.format == "png_instance" and parsed.rejections == []
    assert areas(parsed) == {1: (9, 4), 2: (9, 3), 3: (9, 1), 4: (9, 2)}
    with_classes = read_instance_png(path, image_id="x", classes={1: 5, 2: 6, 4: 5})
    assert areas(with_classes) == {1: (5, 4), 2: (6, 3), 4: (5, 2)}
    assert [(r.image_id, r.field, "value 3" in r.message) for r in with_classes.rejections] == [("x", "pixels", True)]


def test_folders(tmp_path: Path) -> None:
    save_gray(tmp_path / "a.png", VALUES)
    save_gray(tmp_path / "c.png", VALUES[:3])
    images = [ImageInfo(1, "a.jpg", 4, 5), ImageInfo(2, "b.jpg", 4, 5), ImageInfo(3, "sub/c.jpeg", 4, 5)]
    semantic = read_semantic_folder(tmp_path, images, classes={1: 1, 2: 2, 3: 3, 4: 4})
    assert sorted(semantic.images) == [1]  # b.png missing, c.png the wrong size: left out, not "unlabelled"
    assert [(i, s.id) for i, s in semantic.segments] == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert [(r.image_id, r.field) for r in semantic.rejections] == [(2, "file_name"), (3, "size")]
    instance = read_instance_folder(tmp_path, images[:1], classes={1: 1, 2: 1, 3: 1, 4: 1})
    assert [s.id for _, s in instance.segments] == [1, 2, 3, 4] and instance.rejections == []
    with pytest.raises(FormatError):
        read_instance_folder(tmp_path / "absent", images)
