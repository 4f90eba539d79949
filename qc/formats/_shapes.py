"""Shapes to masks for the readers that draw them (CVAT XML, Label Studio, labelme), with the bounds checked first.

pycocotools rasterises a polygon along its whole perimeter, so a vertex at 1e12 takes
all the memory there is (or crashes the process). Every coordinate is therefore checked
before rasterising: finite, and inside the image up to :data:`~qc.limits.EDGE_TOLERANCE`
(as the COCO reader checks polygons). Shapes that a tool lets cross the border, because
they are drawn from a centre or rotated (circles, rotated boxes), have their *defining*
points checked and the drawn polygon cut at the same margin. Declared sizes are checked
against :data:`~qc.limits.MAX_IMAGE_PIXELS` and the project's image before any mask of the
image is decoded.

>>> image = ImageInfo(1, "a.jpg", 10, 10)
>>> masks.area(polygon_rle([1, 1, 5, 1, 5, 5, 1, 5], image))
16
>>> try:
...     polygon_rle([1, 1, 1e12, 1, 5, 5], image)
... except Invalid as bad:
...     print(bad.field, bad.message.split(',')[0])
points x runs from 1 to 1000000000000.0
>>> clip_polygon([-5.0, -5.0, 5.0, -5.0, 5.0, 5.0, -5.0, 5.0], image)
[-1.0, -1.0, 5.0, -1.0, 5.0, 5.0, -1.0, 5.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from qc import masks
from qc.core import ImageInfo
from qc.errors import InvalidMaskError
from qc.formats._jsonio import Invalid
from qc.limits import EDGE_TOLERANCE, MAX_IMAGE_PIXELS, MAX_MASK_PIXELS

__all__ = [
    "ImageSizes",
    "check_declared_size",
    "check_image_size",
    "check_inside",
    "check_mask_pixels",
    "clip_polygon",
    "polygon_rle",
]

ImageSizes = Mapping[str, tuple[int, int]]
"""The project's images: file name -> ``(height, width)``; a reader refuses a file's image that disagrees."""


def check_image_size(height: int, width: int, *, field: str = "height") -> None:
    """Refuse an image of more than :data:`~qc.limits.MAX_IMAGE_PIXELS` pixels (declared, so nothing is decoded)."""
    if height * width > MAX_IMAGE_PIXELS:
        raise Invalid(
            field,
            f"the image is {height}x{width} (h x w), {height * width:,} pixels; qc reads images of at most "
            f"{MAX_IMAGE_PIXELS:,} pixels. Tile the image, or fix the declared size",
        )


def check_declared_size(
    file_name: str, height: int, width: int, sizes: ImageSizes | None, *, field: str = "height"
) -> None:
    """Refuse a declared image size that differs from the project's image of that file name (when known)."""
    check_image_size(height, width, field=field)
    expected = None if sizes is None else sizes.get(file_name)
    if expected is not None and tuple(expected) != (height, width):
        raise Invalid(
            field,
            f"image {file_name!r} is declared {height}x{width} (h x w) but the project's image is "
            f"{expected[0]}x{expected[1]}; nothing of it was decoded. Export the annotations at the original size",
        )


def check_mask_pixels(height: int, width: int, image: ImageInfo, *, field: str) -> None:
    """Refuse a mask box larger than its image or than :data:`~qc.limits.MAX_MASK_PIXELS`, before decoding it."""
    if height * width > MAX_MASK_PIXELS or height > image.height or width > image.width:
        raise Invalid(
            field,
            f"the mask is {height}x{width} (h x w) but image {image.id!r} is {image.height}x{image.width} "
            f"(and a mask may hold at most {MAX_MASK_PIXELS:,} pixels); nothing was decoded, export the mask again",
        )


def check_inside(coords: Sequence[float], image: ImageInfo, *, field: str = "points") -> None:
    """Every ``x, y`` of a flat list is finite and inside the image up to :data:`~qc.limits.EDGE_TOLERANCE`."""
    if len(coords) < 2:
        raise Invalid(field, "the shape has no points; draw it again or remove it")
    if not all(map(math.isfinite, coords)):
        raise Invalid(field, "a coordinate is NaN or infinite; fix the coordinate")
    for axis, values, limit in (("x", coords[0::2], image.width), ("y", coords[1::2], image.height)):
        low, high = min(values), max(values)
        if low < -EDGE_TOLERANCE or high > limit + EDGE_TOLERANCE:
            raise Invalid(
                field,
                f"{axis} runs from {low} to {high}, outside the image (0 to {limit}) by more than "
                f"{EDGE_TOLERANCE:g} px; fix the coordinates or the image size",
            )


def polygon_rle(coords: Sequence[float], image: ImageInfo, *, field: str = "points") -> masks.RLE:
    """One polygon ``[x1, y1, x2, y2, ...]`` rasterised in ``image`` after :func:`check_inside`; Invalid if bad."""
    check_inside(coords, image, field=field)
    try:
        return masks.from_polygons([list(coords)], image.height, image.width)
    except InvalidMaskError as exc:
        raise Invalid(field, exc.message) from exc


def clip_polygon(coords: Sequence[float], image: ImageInfo) -> list[float]:
    """A convex polygon cut at the image border plus :data:`~qc.limits.EDGE_TOLERANCE` (Sutherland-Hodgman).

    Pixels inside the image are those pycocotools gives for the polygon cut at that margin;
    fewer than three points left means the shape lies outside the image.
    """
    points = list(zip(coords[0::2], coords[1::2], strict=True))
    low, high_x, high_y = -EDGE_TOLERANCE, image.width + EDGE_TOLERANCE, image.height + EDGE_TOLERANCE
    for axis, limit, sign in ((0, low, 1.0), (0, high_x, -1.0), (1, low, 1.0), (1, high_y, -1.0)):
        kept: list[tuple[float, float]] = []
        for index, end in enumerate(points):
            start = points[index - 1]
            start_in, end_in = sign * (start[axis] - limit) >= 0, sign * (end[axis] - limit) >= 0
            if start_in != end_in:
                t = (limit - start[axis]) / (end[axis] - start[axis])
                kept.append((start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])))
            if end_in:
                kept.append(end)
        points = kept
    return [c for point in points for c in point]
