"""labelme JSON (one file per image): polygons, rectangles, circles and ``mask`` shapes.

Shapes with the same ``label`` and a non-null ``group_id`` are the parts of one
instance and are merged. A ``mask`` shape holds a base64 PNG covering the box of its
two corner points, both inclusive (labelme pastes it at the integer part of the
first corner). Circles (centre, point on the rim) are drawn as 64-sided polygons.
Lines, line strips and points are refused (not regions), and so are shapes
labelled ``__ignore__`` (labelme's ignore label; qc has no ignore regions). The image
id and file name are the base name of ``imagePath``; segment ids count from 1.

>>> import json, pathlib, tempfile
>>> doc = {"imagePath": "a.jpg", "imageHeight": 10, "imageWidth": 10, "shapes": [
...     {"label": "cat", "points": [[1, 1], [4, 1], [4, 4], [1, 4]], "shape_type": "polygon", "group_id": 3},
...     {"label": "cat", "points": [[6, 6], [8, 8]], "shape_type": "rectangle", "group_id": 3},
...     {"label": "cat", "points": [[1, 8]], "shape_type": "point", "group_id": None}]}
>>> path = tempfile.mkdtemp() + "/a.json"
>>> _ = pathlib.Path(path).write_text(json.dumps(doc))
>>> parsed = read_labelme(path)
>>> [(s.id, s.category_id, s.area) for _, s in parsed.segments], [r.field for r in parsed.rejections]
([(1, 1, 13)], ['shape_type'])
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from qc import masks
from qc.core import ImageInfo, Segment
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import CategoriesArg
from qc.formats._jsonio import Invalid, describe, is_int, is_number, load_json
from qc.formats._names import NameMap
from qc.formats._png import decode_png
from qc.formats._shapes import ImageSizes, check_declared_size, check_inside, clip_polygon, polygon_rle
from qc.masks import RLE

__all__ = ["FORMAT", "IGNORE_LABEL", "read_labelme"]

FORMAT = "labelme"
IGNORE_LABEL = "__ignore__"
_NOT_REGIONS = {"line", "linestrip", "point", "points"}


def read_labelme(
    path: str | os.PathLike[str], *, categories: CategoriesArg = None, image_sizes: ImageSizes | None = None
) -> ParsedAnnotations:
    """Read one labelme JSON; refuse bad shapes one by one and return the rest.

    ``image_sizes`` (the project's images by file name) refuses the image when its declared
    size differs, before any shape is drawn. Raises :class:`~qc.errors.FormatError` only
    when ``path`` cannot be read.
    """
    name = os.fspath(path)
    data, failure = load_json(path)
    if failure is not None:
        return ParsedAnnotations(name, FORMAT, rejections=[failure])
    file_name = _file_name(data)
    try:
        image, shapes = _document(data, file_name, image_sizes)
    except Invalid as bad:
        refused = Rejection(name, file_name, None, bad.field, bad.message, file_name)
        return ParsedAnnotations(name, FORMAT, rejections=[refused])
    labels = [
        s.get("label")
        for s in shapes
        if isinstance(s, dict) and s.get("label") != IGNORE_LABEL and not _not_region(s.get("shape_type"))
    ]
    names = NameMap(categories, [v for v in labels if isinstance(v, str)])
    rejections: list[Rejection] = []
    parts: dict[tuple[Any, ...], tuple[int, list[RLE]]] = {}
    for index, shape in enumerate(shapes):
        try:
            key, category_id, rle = _shape(shape, index, image, names)
        except Invalid as bad:
            rejections.append(Rejection(name, image.id, index + 1, bad.field, f"shapes[{index}]: {bad.message}"))
            continue
        parts.setdefault(key, (category_id, []))[1].append(rle)
    segments = [
        (image.id, Segment(number, category_id, rles[0] if len(rles) == 1 else masks.merge(rles)))
        for number, (category_id, rles) in enumerate(parts.values(), start=1)
    ]
    return ParsedAnnotations(name, FORMAT, {image.id: image}, segments, rejections, names.categories)


def _file_name(data: Any) -> str | None:
    image_path = data.get("imagePath") if isinstance(data, dict) else None
    if not isinstance(image_path, str) or not image_path:
        return None
    return PurePosixPath(image_path.replace("\\", "/")).name or None


def _document(data: Any, file_name: str | None, sizes: ImageSizes | None) -> tuple[ImageInfo, list[Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise Invalid("shapes", f"a labelme file must be an object with a 'shapes' list; got {describe(data)}")
    height: Any = data.get("imageHeight")
    width: Any = data.get("imageWidth")
    if not (is_int(height) and is_int(width) and height > 0 and width > 0):
        found = f"{describe(height)} x {describe(width)}"
        raise Invalid("imageHeight", f"imageHeight/imageWidth must be positive integers; got {found}")
    if file_name is None:
        raise Invalid("imagePath", f"'imagePath' must name the image; got {describe(data.get('imagePath'))}")
    check_declared_size(file_name, height, width, sizes, field="imageHeight")
    return ImageInfo(file_name, file_name, int(height), int(width)), data["shapes"]


def _not_region(kind: Any) -> bool:
    return isinstance(kind, str) and kind in _NOT_REGIONS


def _shape(shape: Any, index: int, image: ImageInfo, names: NameMap) -> tuple[tuple[Any, ...], int, RLE]:
    if not isinstance(shape, dict):
        raise Invalid(None, f"a shape must be an object; got {describe(shape)}")
    label, kind, group = shape.get("label"), shape.get("shape_type") or "polygon", shape.get("group_id")
    if not isinstance(label, str):
        raise Invalid("label", f"'label' must be a string; got {describe(label)}")
    if label == IGNORE_LABEL:
        raise Invalid("label", "__ignore__ regions are not used by qc; label the region or delete it")
    if not isinstance(kind, str):
        raise Invalid("shape_type", f"'shape_type' must be a string; got {describe(kind)}")
    if kind in _NOT_REGIONS:
        raise Invalid("shape_type", f"a {kind} is not a region; draw a polygon, rectangle, circle or mask")
    category_id = names.category_id(label)
    points = _points(shape.get("points"))
    if kind == "polygon":
        rle = polygon_rle([c for p in points for c in p], image)
    elif kind == "rectangle" and len(points) == 2:
        (x0, y0), (x1, y1) = points
        rle = polygon_rle([x0, y0, x1, y0, x1, y1, x0, y1], image)
    elif kind == "circle" and len(points) == 2:
        rle = _circle(points, image)
    elif kind == "mask" and len(points) == 2:
        rle = _mask(shape.get("mask"), points, image)
    else:
        raise Invalid("shape_type", f"unknown shape_type {kind!r} with {len(points)} points")
    if masks.area(rle) == 0:
        raise Invalid("points", "the shape is empty (zero area); remove it or redraw it")
    key = (label, group) if is_int(group) else ("single", index)
    return key, category_id, rle


def _points(value: Any) -> list[tuple[float, float]]:
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(is_number(v) for v in p) for p in value
    ):
        raise Invalid("points", f"'points' must be a list of [x, y] finite numbers; got {describe(value)}")
    return [(float(p[0]), float(p[1])) for p in value]


def _circle(points: list[tuple[float, float]], image: ImageInfo) -> RLE:
    (cx, cy), (px, py) = points
    check_inside([cx, cy, px, py], image)
    radius = math.hypot(px - cx, py - cy)
    angles = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    coords = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)
    drawn = clip_polygon(coords.ravel().tolist(), image)  # a circle near the border crosses it
    return polygon_rle(drawn, image) if len(drawn) >= 6 else masks.empty(image.height, image.width)


def _mask(encoded: Any, points: list[tuple[float, float]], image: ImageInfo) -> RLE:
    if not isinstance(encoded, str) or not encoded:
        raise Invalid("mask", "a mask shape needs 'mask': a base64 PNG")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("mask", "'mask' is not valid base64; save the file again in labelme") from None
    check_inside([c for point in points for c in point], image)
    x0, y0 = max(0, int(points[0][0])), max(0, int(points[0][1]))
    pixels = decode_png(raw, modes={"1", "L", "P"}, within=(image.height - y0, image.width - x0))
    height, width = pixels.shape[:2]
    return masks.paste(pixels != 0, (x0, y0, x0 + width, y0 + height), image.height, image.width)
