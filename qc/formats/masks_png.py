"""Label PNGs: semantic masks (pixel value -> class) and instance masks (pixel value = instance id).

A PNG must be grayscale (8/16/32-bit), bilevel or palette (the palette *index* is
the value); RGB is refused with a hint. When the expected ``height``/``width`` are
given a PNG of another size is refused. Every refused value or file is a
:class:`~qc.formats._base.Rejection`; the valid rest of the image is returned.

>>> import tempfile
>>> import numpy as np
>>> from PIL import Image
>>> path = tempfile.mkdtemp() + "/a.png"
>>> Image.fromarray(np.array([[0, 1, 1], [2, 9, 0]], dtype=np.uint8)).save(path)
>>> parsed = read_semantic_png(path, image_id="a", classes={1: 10, 2: 20})
>>> [(s.id, s.category_id, s.area) for _, s in parsed.segments]
[(10, 10, 2), (20, 20, 1)]
>>> [(r.field, r.message[:30]) for r in parsed.rejections]
[('pixels', '1 pixels have value 9, which t')]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy.typing as npt

from qc import masks
from qc.core import ImageInfo, Segment
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._jsonio import Invalid, read_bytes
from qc.formats._png import GRAY_MODES, LabelRuns, decode_png
from qc.masks import RLE

__all__ = [
    "INSTANCE_FORMAT",
    "SEMANTIC_FORMAT",
    "read_instance_folder",
    "read_instance_png",
    "read_semantic_folder",
    "read_semantic_png",
]

SEMANTIC_FORMAT = "png_semantic"
INSTANCE_FORMAT = "png_instance"


def read_semantic_png(
    path: str | os.PathLike[str],
    *,
    image_id: Any,
    classes: Mapping[int, int],
    height: int | None = None,
    width: int | None = None,
    ignore: Collection[int] = (0,),
) -> ParsedAnnotations:
    """One segment per class (``Segment.id`` = class id) from a class-value PNG.

    ``classes`` maps pixel value -> class id (several values may share a class);
    values in ``ignore`` (default 0, unlabelled) give nothing; any other value is
    refused with its pixel count. Raises :class:`~qc.errors.FormatError` only when
    ``path`` cannot be read.
    """
    name = os.fspath(path)
    labels, image, rejections = _load(name, read_bytes(name), image_id, height, width)
    segments: list[tuple[Any, Segment]] = []
    if labels is not None:
        runs = LabelRuns(labels)
        by_class: dict[int, list[int]] = {}
        for value, count in runs.counts.items():
            if value in classes:
                by_class.setdefault(int(classes[value]), []).append(value)
            elif value not in ignore:
                rejections.append(_unmapped(name, image_id, value, count, "the class map does not map"))
        for class_id, values in sorted(by_class.items()):
            segments.append((image_id, Segment(class_id, class_id, _merged(runs, values))))
    return _result(name, SEMANTIC_FORMAT, image, segments, rejections)


def read_instance_png(
    path: str | os.PathLike[str],
    *,
    image_id: Any,
    classes: Mapping[int, int] | None = None,
    category_id: int = 0,
    height: int | None = None,
    width: int | None = None,
) -> ParsedAnnotations:
    """One segment per instance id (``Segment.id`` = pixel value) from an instance-id PNG; 0 is background.

    ``classes`` maps instance id -> class id, and then unmapped instance ids are
    refused; without it every instance gets ``category_id``. Raises
    :class:`~qc.errors.FormatError` only when ``path`` cannot be read.
    """
    name = os.fspath(path)
    labels, image, rejections = _load(name, read_bytes(name), image_id, height, width)
    segments: list[tuple[Any, Segment]] = []
    if labels is not None:
        runs = LabelRuns(labels)
        for value, count in sorted(runs.counts.items()):
            if value == 0:
                continue
            if classes is not None and value not in classes:
                rejections.append(_unmapped(name, image_id, value, count, "the instance -> class map does not list"))
                continue
            category = int(classes[value]) if classes is not None else category_id
            segments.append((image_id, Segment(value, category, runs.rle(value))))
    return _result(name, INSTANCE_FORMAT, image, segments, rejections)


def read_semantic_folder(
    folder: str | os.PathLike[str],
    images: Iterable[ImageInfo],
    *,
    classes: Mapping[int, int],
    ignore: Collection[int] = (0,),
) -> ParsedAnnotations:
    """:func:`read_semantic_png` for each image, the PNG named after its ``file_name`` with ``.png``."""
    return _read_folder(
        folder,
        images,
        SEMANTIC_FORMAT,
        lambda path, image: read_semantic_png(
            path,
            image_id=image.id,
            classes=classes,
            height=image.height,
            width=image.width,
            ignore=ignore,
        ),
    )


def read_instance_folder(
    folder: str | os.PathLike[str],
    images: Iterable[ImageInfo],
    *,
    classes: Mapping[int, int] | None = None,
    category_id: int = 0,
) -> ParsedAnnotations:
    """:func:`read_instance_png` for each image, the PNG named after its ``file_name`` with ``.png``."""
    return _read_folder(
        folder,
        images,
        INSTANCE_FORMAT,
        lambda path, image: read_instance_png(
            path,
            image_id=image.id,
            classes=classes,
            category_id=category_id,
            height=image.height,
            width=image.width,
        ),
    )


# --- internals -------------------------------------------------------------------------------------------


def _load(
    name: str, raw: bytes, image_id: Any, height: int | None, width: int | None
) -> tuple[npt.NDArray[Any] | None, ImageInfo | None, list[Rejection]]:
    try:
        labels = decode_png(raw, modes=GRAY_MODES, height=height, width=width)
    except Invalid as bad:
        return None, None, [Rejection(name, image_id, None, bad.field, bad.message)]
    if labels.ndim != 2:  # a PIL mode outside GRAY_MODES slipped through; refuse rather than guess
        message = f"expected a single-channel PNG; got an array of shape {labels.shape}; save it as grayscale"
        return None, None, [Rejection(name, image_id, None, "mode", message)]
    image = ImageInfo(image_id, Path(name).name, int(labels.shape[0]), int(labels.shape[1]))
    return labels, image, []


def _unmapped(name: str, image_id: Any, value: int, count: int, what: str) -> Rejection:
    return Rejection(
        name,
        image_id,
        None,
        "pixels",
        f"{count} pixels have value {value}, which {what}; add {value} to the map or paint those pixels 0",
    )


def _merged(runs: LabelRuns, values: list[int]) -> RLE:
    return runs.rle(values[0]) if len(values) == 1 else masks.merge([runs.rle(v) for v in values])


def _result(
    name: str, kind: str, image: ImageInfo | None, segments: list[tuple[Any, Segment]], rejections: list[Rejection]
) -> ParsedAnnotations:
    images = {image.id: image} if image is not None else {}
    return ParsedAnnotations(name, kind, images, segments, rejections)


def _read_folder(
    folder: str | os.PathLike[str],
    images: Iterable[ImageInfo],
    kind: str,
    read: Callable[[Path, ImageInfo], ParsedAnnotations],
) -> ParsedAnnotations:
    """Images whose PNG is missing or refused are left out of ``images`` (so they never look unlabelled)."""
    root = Path(folder)
    if not root.is_dir():
        raise FormatError(f"the PNG folder {root} does not exist; check the path", path=str(root))
    merged = ParsedAnnotations(str(root), kind)
    for image in images:
        png = root / Path(image.file_name.replace("\\", "/")).with_suffix(".png").name
        if not png.is_file():
            merged.rejections.append(
                Rejection(
                    str(png),
                    image.id,
                    None,
                    "file_name",
                    f"no mask PNG for image {image.id!r}; add {png.name} to {root}",
                )
            )
            continue
        parsed = read(png, image)
        if parsed.images:
            merged.images[image.id] = image
        merged.segments.extend(parsed.segments)
        merged.rejections.extend(parsed.rejections)
    return merged
