"""Image files: which files a path names, and each image's size read from its header (PIL; pixels stay on disk).

>>> import tempfile
>>> from PIL import Image
>>> folder = Path(tempfile.mkdtemp())
>>> Image.new("L", (64, 48)).save(folder / "b.png")
>>> (folder / "notes.txt").write_text("not an image")
12
>>> infos, paths = read_image_infos([folder])
>>> [(i.id, i.file_name, i.height, i.width) for i in infos], paths["b.png"] == str((folder / "b.png").resolve())
([(1, 'b.png', 48, 64)], True)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from qc.core import ImageInfo
from qc.errors import FormatError
from qc.limits import MAX_IMAGE_PIXELS

__all__ = ["IMAGE_SUFFIXES", "image_files", "read_image_infos"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
"""The file endings a folder is searched for (case does not matter)."""


def image_files(paths: Iterable[Path]) -> list[Path]:
    """Each path that is a file, and the image files (:data:`IMAGE_SUFFIXES`) of each folder, sorted by name."""
    files: list[Path] = []
    for path in paths:
        files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if path.is_dir() else [path]
    return files


def read_image_infos(paths: Iterable[Path]) -> tuple[list[ImageInfo], dict[str, str]]:
    """An :class:`ImageInfo` per image file (folders expanded; ids from 1), and each file name's absolute path.

    The size comes from the file header; a file that cannot be opened as an image, or one of
    more than :data:`~qc.limits.MAX_IMAGE_PIXELS` pixels, raises :class:`FormatError` naming it.
    """
    files = image_files(paths)
    infos = []
    for number, file in enumerate(files, start=1):
        height, width = _header_size(file)
        if height * width > MAX_IMAGE_PIXELS:
            raise FormatError(
                f"the image is {height}x{width} (h x w), {height * width:,} pixels; qc works on images of at most "
                f"{MAX_IMAGE_PIXELS:,} pixels. Tile it into smaller images first",
                path=str(file),
                field="size",
            )
        infos.append(ImageInfo(number, file.name, height, width))
    return infos, {f.name: str(f.resolve()) for f in files}


def _header_size(file: Path) -> tuple[int, int]:
    """``(height, width)`` from the header only (PIL's own bomb warning is ours to give)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                width, height = image.size
    except Image.DecompressionBombError as exc:
        message = f"the image is larger than qc reads ({exc}); tile it into smaller images first"
        raise FormatError(message, path=str(file), field="size") from exc
    except OSError as exc:
        raise FormatError(f"cannot read the image header: {exc}", path=str(file)) from exc
    return height, width
