"""Label PNGs: semantic masks (pixel value -> class) and instance masks (pixel value = instance id).

A PNG must be grayscale (8/16/32-bit), bilevel or palette (the palette *index* is
the value); RGB is refused with a hint, except by :func:`read_colour_png`, which maps
each RGB colour to a class (e.g. the guideline's class colours). When the expected ``height``/``width`` are
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
from qc.formats._png import GRAY_MODES, LabelRuns, decode_png, rgb_ids
from qc.masks import RLE

__all__ = [
    "INSTANCE_FORMAT",
    "SEMANTIC_FORMAT",
    "read_colour_png",
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
        segments = _class_segments(runs, image_id, classes, ignore, rejections.append, _unmapped_value(name))
    return _result(name, SEMANTIC_FORMAT, image, segments, rejections)


def read_colour_png(
    path: str | os.PathLike[str],
    *,
    image_id: Any,
    colours: Mapping[str, int],
    height: int | None = None,
    width: int | None = None,
    ignore: Collection[str] = ("#000000",),
) -> ParsedAnnotations:
    """One segment per class (``Segment.id`` = class id) from an RGB PNG painted in class colours.

    ``colours`` maps ``'#rrggbb'`` (lower case) -> class id; colours in ``ignore`` (default
    black, unlabelled) give nothing; any other colour is refused with its pixel count (the
    first :data:`MAX_LISTED` colours one by one, the rest in one rejection). The format is
    ``png_semantic``. Raises :class:`~qc.errors.FormatError` only when ``path`` cannot be read.

    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> path = tempfile.mkdtemp() + "/b.png"
    >>> pixels = np.zeros((2, 3, 3), np.uint8); pixels[0, :2] = (255, 0, 0); pixels[1, 2] = (1, 2, 3)
    >>> Image.fromarray(pixels).save(path)
    >>> parsed = read_colour_png(path, image_id="b", colours={"#ff0000": 4})
    >>> [(s.id, s.area) for _, s in parsed.segments], [r.message[:34] for r in parsed.rejections]
    ([(4, 2)], ['1 pixels have colour #010203, whic'])
    """
    name = os.fspath(path)
    try:
        pixels = decode_png(read_bytes(name), modes={"RGB"}, height=height, width=width)
    except Invalid as bad:
        return _result(name, SEMANTIC_FORMAT, None, [], [Rejection(name, image_id, None, bad.field, bad.message)])
    image = ImageInfo(image_id, Path(name).name, int(pixels.shape[0]), int(pixels.shape[1]))
    packed = {_packed(text): class_id for text, class_id in colours.items()}
    rejections: list[Rejection] = []
    runs = LabelRuns(rgb_ids(pixels))
    skipped = {_packed(text) for text in ignore}
    segments = _class_segments(runs, image_id, packed, skipped, rejections.append, _unmapped_colour(name, colours))
    return _result(name, SEMANTIC_FORMAT, image, segments, rejections)


def read_instance_png(
    path: str | os.PathLike[str],
    *,
    image_id: Any,
    classes: Mapping[int, int] | None = None,
    category_id: int = 0,
    height: int | None = None,
    width: int | None = None,
    ignore: Collection[int] = (),
) -> ParsedAnnotations:
    """One segment per instance id (``Segment.id`` = pixel value) from an instance-id PNG; 0 is background.

    ``classes`` maps instance id -> class id, and then unmapped instance ids are
    refused; without it every instance gets ``category_id``. Instance ids in ``ignore``
    give nothing (e.g. those whose class the caller refused already). Raises
    :class:`~qc.errors.FormatError` only when ``path`` cannot be read.
    """
    name = os.fspath(path)
    labels, image, rejections = _load(name, read_bytes(name), image_id, height, width)
    segments: list[tuple[Any, Segment]] = []
    if labels is not None:
        runs = LabelRuns(labels)
        for value, count in sorted(runs.counts.items()):
            if value == 0 or value in ignore:
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


MAX_LISTED = 10
"""The most unknown values or colours of one PNG refused one by one; the rest are refused together."""


def _class_segments(
    runs: LabelRuns,
    image_id: Any,
    classes: Mapping[int, int],
    ignore: Collection[int],
    reject: Callable[[Rejection], None],
    unmapped: Callable[[Any, list[tuple[int, int]]], Rejection],
) -> list[tuple[Any, Segment]]:
    """One segment per class of the mapped labels; the unknown ones refused (at most MAX_LISTED rejections + 1)."""
    by_class: dict[int, list[int]] = {}
    unknown: list[tuple[int, int]] = []
    for value, count in sorted(runs.counts.items()):
        if value in classes:
            by_class.setdefault(int(classes[value]), []).append(value)
        elif value not in ignore:
            unknown.append((value, count))
    for index in range(0, min(len(unknown), MAX_LISTED + 1)):
        reject(unmapped(image_id, unknown[index:] if index == MAX_LISTED else [unknown[index]]))
    return [(image_id, Segment(c, c, _merged(runs, values))) for c, values in sorted(by_class.items())]


def _unmapped_value(name: str) -> Callable[[Any, list[tuple[int, int]]], Rejection]:
    def rejection(image_id: Any, found: list[tuple[int, int]]) -> Rejection:
        if len(found) == 1:
            return _unmapped(name, image_id, *found[0], "the class map does not map")
        return _many(name, image_id, found, "values", "map them or paint those pixels 0")

    return rejection


def _unmapped_colour(name: str, colours: Mapping[str, int]) -> Callable[[Any, list[tuple[int, int]]], Rejection]:
    shown = [f"{text} class {class_id}" for text, class_id in sorted(colours.items(), key=lambda item: item[1])]
    known = ", ".join(shown[:8]) + (", ..." if len(shown) > 8 else "") or "none"

    def rejection(image_id: Any, found: list[tuple[int, int]]) -> Rejection:
        if len(found) > 1:
            return _many(name, image_id, found, "colours", "paint them in class colours or black")
        value, count = found[0]
        colour = f"#{value & 0xFF:02x}{value >> 8 & 0xFF:02x}{value >> 16:02x}"
        message = (
            f"{count} pixels have colour {colour}, which is no class colour ({known}); paint them in their "
            "class's colour (the guideline's `colour`), or black when unlabelled"
        )
        return Rejection(name, image_id, None, "pixels", message)

    return rejection


def _many(name: str, image_id: Any, found: list[tuple[int, int]], what: str, fix: str) -> Rejection:
    pixels = sum(count for _, count in found)
    message = f"{pixels} more pixels have {len(found)} other unknown {what}; {fix}"
    return Rejection(name, image_id, None, "pixels", message)


def _packed(colour: str) -> int:
    """``'#rrggbb'`` as :func:`~qc.formats._png.rgb_ids` packs it: ``R + 256 G + 65536 B``."""
    return int(colour[1:3], 16) | int(colour[3:5], 16) << 8 | int(colour[5:7], 16) << 16


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
