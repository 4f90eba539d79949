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

from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from qc.core import ImageInfo
from qc.errors import FormatError

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

    The size comes from the file header; a file that cannot be opened as an image raises
    :class:`FormatError` naming it.
    """
    files = image_files(paths)
    infos = []
    for number, file in enumerate(files, start=1):
        try:
            with Image.open(file) as image:
                width, height = image.size
        except OSError as exc:
            raise FormatError(f"cannot read the image header: {exc}", path=str(file)) from exc
        infos.append(ImageInfo(number, file.name, height, width))
    return infos, {f.name: str(f.resolve()) for f in files}
