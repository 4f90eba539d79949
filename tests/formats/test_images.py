"""Image headers: folders are expanded in name order, sizes come from the header, a bad file is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qc.errors import FormatError
from qc.formats.images import read_image_infos
from tests.formats.hostile_docs import png_header_bomb


def test_no_paths_give_no_images() -> None:
    assert read_image_infos([]) == ([], {})


def test_folder_and_file_are_read_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(folder / "b.PNG")
    Image.fromarray(np.zeros((10, 20, 3), np.uint8)).save(folder / "a.jpg")
    (folder / "readme.md").write_text("skipped: not an image suffix")
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(tmp_path / "c.tif")
    infos, paths = read_image_infos([folder, tmp_path / "c.tif"])
    assert [(i.id, i.file_name, i.height, i.width) for i in infos] == [
        (1, "a.jpg", 10, 20),
        (2, "b.PNG", 48, 64),
        (3, "c.tif", 5, 7),
    ]
    assert paths == {
        name: str(path.resolve())
        for name, path in [("a.jpg", folder / "a.jpg"), ("b.PNG", folder / "b.PNG"), ("c.tif", tmp_path / "c.tif")]
    }


def test_a_file_that_is_no_image_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(FormatError, match="cannot read the image header") as caught:
        read_image_infos([bad])
    assert caught.value.path == str(bad) and str(bad) in str(caught.value)


@pytest.mark.parametrize(("height", "width", "phrase"), [(9000, 9000, "81,000,000 pixels"), (60000, 60000, "larger")])
def test_an_image_larger_than_qc_reads_is_refused_from_its_header(
    tmp_path: Path, height: int, width: int, phrase: str
) -> None:
    """Issue 13: MAX_IMAGE_PIXELS is the largest image; 60000 x 60000 was a bare PIL DecompressionBombError."""
    big = tmp_path / "big.png"
    big.write_bytes(png_header_bomb(height, width))
    with pytest.raises(FormatError, match=phrase) as caught:
        read_image_infos([big])
    assert caught.value.path == str(big) and caught.value.field == "size" and "tile it" in str(caught.value).lower()
