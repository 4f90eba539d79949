"""Label Studio JSON exports: polygons, rectangles and brush masks, one submission per annotator.

An export is a list of tasks; each task's ``annotations[]`` were made by different
people (``completed_by``), so :func:`read_labelstudio` returns one
:class:`~qc.formats._base.ParsedAnnotations` per annotator, each with ``.annotator``
set. ``predictions[]`` (pre-labels) are read only with ``predictions=True``, as the
submissions of their ``model_version``; a bare list of predictions (what an ML
backend returns) is always read that way.

Geometry is in percent of ``original_width`` / ``original_height``. Rectangles rotate
about their top-left corner, as Label Studio draws them. Brush masks use Label
Studio's own RLE (the thi.ng ``rle-pack`` bit stream of the RGBA image; the mask is
alpha > 0): :func:`decode_brush` and :func:`encode_brush` port
``label_studio_converter/brush.py``. Keypoints and ellipses are refused one by one
(not used as regions); text, choice and other non-spatial results are skipped.

Image ids are the task ids (the index in the file when a task has none); file names
are the last part of the task's image reference (``?d=`` of local storage honoured).

>>> import numpy as np
>>> mask = np.zeros((3, 4), dtype=np.uint8); mask[1, 1:3] = 255
>>> values = decode_brush(encode_brush(mask))
>>> bool((values.reshape(3, 4, 4)[:, :, 3] == mask).all())
True
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from qc import masks
from qc.core import Category, ImageInfo, Segment
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._brush import decode_brush, encode_brush
from qc.formats._common import (
    CategoriesArg,
    ImagesArg,
    category_table,
    group_segments,
    image_table,
    temporary_beside,
)
from qc.formats._jsonio import Invalid, describe, is_int, is_number, load_json
from qc.formats._names import NameMap
from qc.formats._regions import ReworkRegion, labelstudio_regions
from qc.formats._shapes import ImageSizes, check_declared_size, check_inside, clip_polygon, polygon_rle
from qc.masks import RLE

__all__ = ["FORMAT", "decode_brush", "encode_brush", "read_labelstudio", "to_labelstudio", "write_labelstudio"]

FORMAT = "labelstudio"
FEEDBACK_FIELD = "qc_feedback"

_REGION_TYPES = {"polygonlabels", "rectanglelabels", "brushlabels"}
_REFUSED_TYPES = {"keypointlabels", "ellipselabels", "polygon", "rectangle", "keypoint", "ellipse", "brush"}


def read_labelstudio(
    path: str | os.PathLike[str],
    *,
    categories: CategoriesArg = None,
    predictions: bool = False,
    image_sizes: ImageSizes | None = None,
) -> list[ParsedAnnotations]:
    """One :class:`ParsedAnnotations` per annotator of a Label Studio JSON export.

    ``image_sizes`` (the project's images by file name) refuses a task whose
    ``original_width``/``original_height`` differ, before any of its regions is drawn.
    Raises :class:`~qc.errors.FormatError` only when ``path`` cannot be read; a file that is
    not a Label Studio export gives one result (annotator ``None``) with the rejection.
    """
    name = os.fspath(path)
    data, failure = load_json(path)
    if failure is not None:
        return [ParsedAnnotations(name, FORMAT, rejections=[failure])]
    tasks = data if isinstance(data, list) else [data]
    if not all(isinstance(t, dict) for t in tasks):
        message = f"a Label Studio export must be a list of task objects; got {describe(data)}"
        return [ParsedAnnotations(name, FORMAT, rejections=[Rejection(name, None, None, None, message)])]
    names = NameMap(categories, sorted(_labels(tasks)))
    reader = _Reader(name, names, strict=categories is not None, sizes=image_sizes)
    for index, task in enumerate(tasks):
        reader.task(task, index, predictions=predictions)
    return reader.results()


class _Reader:
    def __init__(self, path: str, names: NameMap, *, strict: bool, sizes: ImageSizes | None) -> None:
        self.path = path
        self.names = names
        self.strict = strict
        self.sizes = sizes
        self.by_annotator: dict[str | None, ParsedAnnotations] = {}
        self.loose: list[Rejection] = []

    def results(self) -> list[ParsedAnnotations]:
        if not self.by_annotator:
            return [ParsedAnnotations(self.path, FORMAT, rejections=self.loose, categories=self.names.categories)]
        out = list(self.by_annotator.values())
        out[0].rejections.extend(self.loose)
        return out

    def task(self, task: dict[str, Any], index: int, *, predictions: bool) -> None:
        if "result" in task and "annotations" not in task:  # a bare prediction (ML backend output)
            self.annotation(task, index, task, index, model=True)
            return
        entries = [(a, False) for a in _list(task, "annotations")]
        if predictions:
            entries += [(p, True) for p in _list(task, "predictions")]
        image_id = task.get("id", index)
        if isinstance(image_id, bool) or not isinstance(image_id, str | int):
            message = f"task {index}: 'id' must be a task id (an integer or a string); got {describe(image_id)}"
            self.loose.append(Rejection(self.path, None, None, "id", message, _file_name(task, index)))
            return
        for entry, model in entries:
            if isinstance(entry, dict) and not entry.get("was_cancelled"):
                self.annotation(task, image_id, entry, index, model=model)

    def annotation(
        self, task: dict[str, Any], image_id: Any, entry: dict[str, Any], index: int, *, model: bool
    ) -> None:
        try:
            annotator = _model_name(entry) if model else _annotator(entry)
        except Invalid as bad:
            self.loose.append(Rejection(self.path, image_id, None, bad.field, bad.message, _file_name(task, index)))
            return
        parsed = self.by_annotator.setdefault(
            annotator, ParsedAnnotations(self.path, FORMAT, categories=self.names.categories, annotator=annotator)
        )
        results = [r for r in _list(entry, "result") if isinstance(r, dict)]
        file_name = _file_name(task, index)
        try:
            image = _image(file_name, image_id, results, self.sizes)
        except Invalid as bad:
            parsed.rejections.append(Rejection(self.path, image_id, None, bad.field, bad.message, file_name))
            return
        parsed.images[image.id] = image
        seen: set[Any] = {s.id for i, s in parsed.segments if i == image.id}
        for number, result in enumerate(results):
            kind = str(result.get("type", ""))
            if kind not in _REGION_TYPES and kind not in _REFUSED_TYPES:
                continue
            given = result.get("id", number)
            usable = isinstance(given, str | int) and not isinstance(given, bool)
            segment_id = _unique(given if usable else number, seen)
            try:
                parsed.segments.append((image.id, self.segment(result, kind, segment_id, image)))
            except Invalid as bad:
                parsed.rejections.append(Rejection(self.path, image.id, segment_id, bad.field, f"{kind}: {bad}"))

    def segment(self, result: dict[str, Any], kind: str, segment_id: Any, image: ImageInfo) -> Segment:
        if kind in _REFUSED_TYPES:
            raise Invalid("type", f"a {kind} result is not a region qc can use; draw a polygon, rectangle or brush")
        value = result.get("value")
        if not isinstance(value, dict):
            raise Invalid("value", f"'value' must be an object; got {describe(value)}")
        if result.get("image_rotation") not in (None, 0):
            raise Invalid("image_rotation", "the image was rotated in Label Studio; annotate it unrotated")
        labels = value.get(kind)
        if not (isinstance(labels, list) and len(labels) == 1 and isinstance(labels[0], str)):
            raise Invalid(kind, f"{kind!r} must hold exactly one label; got {describe(labels)}")
        category_id = self.names.category_id(labels[0]) if self.strict else self.names.add(labels[0])
        if kind == "polygonlabels":
            rle = _polygon(value, image)
        elif kind == "rectanglelabels":
            rle = _rectangle(value, image)
        else:
            rle = _brush(value, image)
        if masks.area(rle) == 0:
            raise Invalid("value", "the region is empty (zero area); remove it or redraw it")
        return Segment(segment_id, category_id, rle)


def _labels(tasks: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for task in tasks:
        for entry in [task, *_list(task, "annotations"), *_list(task, "predictions")]:
            for result in _list(entry, "result") if isinstance(entry, dict) else []:
                if not isinstance(result, dict):
                    continue
                value, kind = result.get("value"), str(result.get("type"))
                labels = value.get(kind) if isinstance(value, dict) and kind in _REGION_TYPES else None
                if isinstance(labels, list):
                    out.update(v for v in labels if isinstance(v, str))
    return out


def _list(item: Any, key: str) -> list[Any]:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, list) else []


def _annotator(entry: dict[str, Any]) -> str | None:
    """Who made an annotation: a name, an email or Label Studio's numeric user id (as text); Invalid otherwise."""
    key = next((k for k in ("completed_by", "created_username", "updated_by") if k in entry), None)
    who = entry[key] if key is not None else None
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    if who is None:
        return None
    if isinstance(who, bool) or not isinstance(who, str | int):
        raise Invalid(
            key,
            f"{key!r} must name who annotated (a name, an email or a user id); got {describe(who)}, so this "
            "annotation was not read; export it again",
        )
    return str(who)


def _model_name(entry: dict[str, Any]) -> str:
    version = entry.get("model_version")
    return str(version) if isinstance(version, str | int) and not isinstance(version, bool) else "prediction"


def _unique(segment_id: Any, seen: set[Any]) -> Any:
    candidate, n = segment_id, 1
    while candidate in seen:
        n += 1
        candidate = f"{segment_id}#{n}"
    seen.add(candidate)
    return candidate


def _image(file_name: str, image_id: Any, results: list[dict[str, Any]], project: ImageSizes | None) -> ImageInfo:
    sizes = {repr(pair): pair for r in results if "original_width" in r for pair in [_declared_size(r)]}
    if len(sizes) != 1:
        found = "no result gives it" if not sizes else f"results disagree: {sorted(sizes)}"
        raise Invalid("original_width", f"the image size must be known from original_width/height; {found}")
    ((height, width),) = sizes.values()
    if not (is_int(height) and is_int(width) and height > 0 and width > 0):
        found = f"{describe(width)} x {describe(height)}"
        raise Invalid("original_width", f"original_width/height must be positive integers; got {found}")
    check_declared_size(file_name, height, width, project, field="original_width")
    return ImageInfo(image_id, file_name, height, width)


def _declared_size(result: dict[str, Any]) -> tuple[Any, Any]:
    return result.get("original_height"), result.get("original_width")


def _file_name(task: dict[str, Any], index: int) -> str:
    data = task.get("data")
    reference = None
    if isinstance(data, dict):
        reference = data.get("image") or next((v for v in data.values() if isinstance(v, str)), None)
    if not isinstance(reference, str) or not reference:
        return str(task.get("file_upload") or f"task-{task.get('id', index)}")
    parts = urlparse(reference)
    local = parse_qs(parts.query).get("d")
    return PurePosixPath(unquote(local[0] if local else parts.path)).name or reference


def _percent_points(points: Any, image: ImageInfo) -> list[float]:
    if not isinstance(points, list) or len(points) < 3:
        raise Invalid("points", f"a polygon needs at least 3 points [x%, y%]; got {describe(points)}")
    coords: list[float] = []
    for point in points:
        if not (isinstance(point, list) and len(point) == 2 and all(is_number(v) for v in point)):
            raise Invalid("points", f"each point must be [x%, y%] with finite numbers; got {describe(point)}")
        coords += [float(point[0]) / 100 * image.width, float(point[1]) / 100 * image.height]
    return coords


def _polygon(value: dict[str, Any], image: ImageInfo) -> RLE:
    return polygon_rle(_percent_points(value.get("points"), image), image)


def _rectangle(value: dict[str, Any], image: ImageInfo) -> RLE:
    numbers = [value.get(k, 0.0 if k == "rotation" else None) for k in ("x", "y", "width", "height", "rotation")]
    if not all(is_number(v) for v in numbers):
        raise Invalid("value", "a rectangle needs finite x, y, width, height (and rotation) numbers")
    x, y, w, h, rotation = (float(v) for v in numbers)  # type: ignore[arg-type]
    x0, y0 = x / 100 * image.width, y / 100 * image.height
    w, h = w / 100 * image.width, h / 100 * image.height
    check_inside([x0, y0, x0 + w, y0 + h], image, field="value")
    angle = math.radians(rotation)
    cos, sin = math.cos(angle), math.sin(angle)
    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    coords = [c for dx, dy in corners for c in (x0 + dx * cos - dy * sin, y0 + dx * sin + dy * cos)]
    if not angle:
        return polygon_rle(coords, image, field="value")
    turned = clip_polygon(coords, image)  # Label Studio lets a rotated box cross the border
    return polygon_rle(turned, image, field="value") if len(turned) >= 6 else masks.empty(image.height, image.width)


def _brush(value: dict[str, Any], image: ImageInfo) -> RLE:
    data = value.get("rle")
    if value.get("format", "rle") != "rle" or not isinstance(data, list):
        raise Invalid("rle", f"a brush needs format 'rle' and a list of bytes; got {describe(data)}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 256 for v in data):
        raise Invalid("rle", "the brush rle must be a list of bytes (0..255)")
    values = decode_brush(bytes(data), expected=image.height * image.width * 4)
    alpha = values.reshape(image.height, image.width, 4)[:, :, 3]
    return masks.encode(alpha > 0)


# --- writing ---------------------------------------------------------------------------------------------


def to_labelstudio(
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    *,
    comments: Mapping[Any, str] | None = None,
    model_version: str | None = "qc",
    annotator: str | None = None,
    regions: Mapping[Any, Sequence[ReworkRegion]] | None = None,
) -> list[dict[str, Any]]:
    """Label Studio tasks holding each image's segments as brush masks.

    With ``model_version`` (the default) the segments are ``predictions`` (pre-labels to
    correct); with ``model_version=None`` they are ``annotations`` completed by
    ``annotator``. ``comments`` (image id -> text) go into ``data.qc_feedback`` and a
    ``textarea`` result, so the annotator sees the reviewer's feedback; ``regions`` (image id ->
    objects sent back) ``rectanglelabels`` results with the note and ``data.qc_regions``.
    """
    table = image_table(images)
    grouped = group_segments(segments, table)
    labels = category_table(categories)
    notes = dict(comments or {})
    tasks = []
    for image_id, image in table.items():
        results = [_brush_result(s, image, labels) for s in grouped[image_id] if s.box is not None]
        data: dict[str, Any] = {"image": image.file_name}
        if image_id in notes:
            data[FEEDBACK_FIELD] = notes[image_id]
            results.append(_feedback_result(notes[image_id], image))
        if (regions or {}).get(image_id):
            boxes, data["qc_regions"] = labelstudio_regions((regions or {})[image_id], image, labels)
            results += boxes
        entry: dict[str, Any] = {"result": results}
        if model_version is not None:
            tasks.append({"id": image_id, "data": data, "predictions": [{"model_version": model_version, **entry}]})
        else:
            tasks.append({"id": image_id, "data": data, "annotations": [{"completed_by": annotator, **entry}]})
    return tasks


def write_labelstudio(
    path: str | os.PathLike[str],
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    **options: Any,
) -> None:
    """Write :func:`to_labelstudio` (same options) atomically to ``path``."""
    tasks = to_labelstudio(images, segments, categories, **options)
    target = Path(path)
    temporary = temporary_beside(target)
    try:
        temporary.write_text(json.dumps(tasks, allow_nan=False), encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:
        raise FormatError(f"cannot write the file ({exc.strerror}); check the folder", path=str(target)) from exc


def _base_result(image: ImageInfo) -> dict[str, Any]:
    return {"to_name": "image", "image_rotation": 0, "original_width": image.width, "original_height": image.height}


def _brush_result(segment: Segment, image: ImageInfo, labels: Mapping[int, Category]) -> dict[str, Any]:
    category = labels.get(segment.category_id)
    name = category.name if category is not None else str(segment.category_id)
    alpha = masks.decode(segment.rle).astype(np.uint8) * 255
    value = {"format": "rle", "rle": encode_brush(alpha), "brushlabels": [name]}
    return {"id": str(segment.id), "type": "brushlabels", "from_name": "label", "value": value, **_base_result(image)}


def _feedback_result(text: str, image: ImageInfo) -> dict[str, Any]:
    value = {"text": [text]}
    return {"id": "qc-feedback", "type": "textarea", "from_name": FEEDBACK_FIELD, "value": value, **_base_result(image)}
