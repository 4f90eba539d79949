"""COCO instances JSON: read (validating every annotation) and write.

Reading never raises for bad content: each refused image, category or annotation
becomes a :class:`~qc.formats._base.Rejection` naming the file, image id, annotation
id and field, and the valid rest is returned. Masks come back as compressed RLE
(``str`` counts) whatever the file used: polygons (several parts are merged),
compressed RLE or uncompressed (column-major) RLE.

>>> import json, tempfile
>>> doc = {"images": [{"id": 1, "file_name": "a.jpg", "height": 8, "width": 8}],
...        "categories": [{"id": 3, "name": "cat"}],
...        "annotations": [{"id": 10, "image_id": 1, "category_id": 3, "segmentation": [[1, 1, 5, 1, 5, 5, 1, 5]]},
...                        {"id": 11, "image_id": 1, "category_id": 4, "segmentation": [[1, 1, 5, 1, 5, 5]]}]}
>>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
...     json.dump(doc, handle)
>>> parsed = read_instances(handle.name)
>>> [(image_id, s.id, s.area) for image_id, s in parsed.segments]
[(1, 10, 16)]
>>> [(r.annotation_id, r.field) for r in parsed.rejections]
[(11, 'category_id')]
>>> out = to_coco_dict(parsed.images, parsed.segments, parsed.categories)
>>> out["annotations"][0]["area"], out["annotations"][0]["bbox"]
(16.0, [1.0, 1.0, 4.0, 4.0])
>>> os.remove(handle.name)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import IO, Any

from qc import masks
from qc.core import Category, ImageInfo, Segment
from qc.errors import FormatError, InvalidMaskError, InvalidOptionError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import (
    CategoriesArg,
    ImagesArg,
    Where,
    category_reference,
    category_table,
    group_segments,
    image_table,
    parse_categories,
    parse_images,
    top_list,
    validate_image_ids,
    write_json,
)
from qc.formats._jsonio import (
    Invalid,
    check_keys_unique,
    check_optional_numbers,
    describe,
    get_flag,
    get_id,
    get_int,
    is_int,
    is_number,
    load_json,
)
from qc.formats._shapes import ImageSizes
from qc.limits import EDGE_TOLERANCE
from qc.masks import RLE

__all__ = ["CROWD_POLICIES", "FORMAT", "read_instances", "to_coco_dict", "write_instances"]

FORMAT = "coco"
CROWD_POLICIES = ("crowd", "instance")
"""What ``iscrowd: 1`` means when reading: a crowd region, or an ordinary instance mask."""

_ALL_NUMBERS = object()


def read_instances(
    path: str | os.PathLike[str],
    *,
    categories: CategoriesArg = None,
    image_ids: Iterable[Any] | None = None,
    crowd: str = "crowd",
    image_sizes: ImageSizes | None = None,
) -> ParsedAnnotations:
    """Read a COCO instances file; refuse bad items one by one and return the valid rest.

    ``crowd`` says what ``iscrowd: 1`` means: ``"crowd"`` (the default) keeps it as a
    crowd region, which PQ and matching treat specially; ``"instance"`` reads it as an
    ordinary instance mask (CVAT writes every mask with ``iscrowd: 1``).

    ``categories`` (ids or :class:`Category` objects, e.g. the project's classes) are
    the allowed category ids; without it the file's own ``categories`` list is the
    reference. ``image_ids`` (the round's images) refuses every other image and its
    annotations; ``image_sizes`` (the project's, by file name) refuses an image declared at
    another size before any of its masks is decoded. Raises :class:`~qc.errors.FormatError`
    only when ``path`` cannot be read.
    """
    name = os.fspath(path)
    if crowd not in CROWD_POLICIES:
        raise InvalidOptionError("crowd", CROWD_POLICIES, crowd)
    data, failure = load_json(path)
    if failure is not None:
        return ParsedAnnotations(name, FORMAT, rejections=[failure])
    if not isinstance(data, dict):
        message = f"the file must hold a JSON object with images, annotations and categories; got {describe(data)}"
        return ParsedAnnotations(name, FORMAT, rejections=[Rejection(name, None, None, None, message)])
    rejections: list[Rejection] = []
    images, refused_images = parse_images(data, name, rejections, image_sizes)
    file_categories = parse_categories(data, name, rejections, required=categories is None)
    allowed, reported = category_reference(categories, file_categories)
    reader = _AnnotationReader(name, images, refused_images, allowed)
    reader.keep_crowd = crowd == "crowd"
    segments = reader.read_all(top_list(data, "annotations", name, rejections), rejections)
    parsed = ParsedAnnotations(name, FORMAT, images, segments, rejections, reported)
    return parsed if image_ids is None else validate_image_ids(parsed, set(image_ids))


def to_coco_dict(
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    *,
    info: Mapping[str, Any] | None = None,
    attributes: Mapping[Any, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A COCO instances document: RLE with ``str`` counts, float ``area`` and ``bbox`` ``[x, y, w, h]``.

    ``attributes`` (annotation id -> a JSON object) gives annotations an ``attributes`` object,
    as CVAT's COCO export does (qc puts the provenance of accepted segments there).

    Raises :class:`~qc.errors.FormatError` when a segment points at an image that is
    not given, has a mask of another size, or repeats an annotation id.
    """
    table = image_table(images)
    grouped = group_segments(segments, table)
    seen: set[Any] = set()
    annotations = []
    for image_id, image_segments in grouped.items():
        for segment in image_segments:
            if segment.id in seen:
                raise FormatError(
                    f"annotation id {segment.id!r} is used twice; COCO needs unique annotation ids, renumber them",
                    image_id=image_id,
                    annotation_id=segment.id,
                )
            seen.add(segment.id)
            annotation = _annotation_dict(image_id, segment)
            if attributes is not None and segment.id in attributes:
                annotation["attributes"] = dict(attributes[segment.id])
            annotations.append(annotation)
    return {
        "info": dict(info) if info is not None else {"description": "written by qc"},
        "licenses": [],
        "images": [image.to_dict() for image in table.values()],
        "annotations": annotations,
        "categories": [{"id": c.id, "name": c.name} for c in category_table(categories).values()],
    }


def write_instances(
    path_or_stream: str | os.PathLike[str] | IO[str],
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    *,
    info: Mapping[str, Any] | None = None,
    attributes: Mapping[Any, Mapping[str, Any]] | None = None,
) -> None:
    """Write :func:`to_coco_dict` as JSON to a text stream, or atomically to a path."""
    write_json(to_coco_dict(images, segments, categories, info=info, attributes=attributes), path_or_stream)


# --- reading annotations ---------------------------------------------------------------------------------


class _AnnotationReader:
    """Reads the ``annotations`` list against the file's images and the allowed categories."""

    def __init__(self, path: str, images: dict[Any, ImageInfo], refused: set[Any], allowed: frozenset[int]) -> None:
        self.path = path
        self.images = images
        self.refused = refused
        self.allowed = allowed
        self.seen_ids: dict[Any, int] = {}
        self.keep_crowd = True

    def read_all(self, items: list[Any], rejections: list[Rejection]) -> list[tuple[Any, Segment]]:
        segments: list[tuple[Any, Segment]] = []
        for index, item in enumerate(items):
            where = Where()
            try:
                segments.append(self.read_one(item, index, where))
            except Invalid as bad:
                rejections.append(where.reject(self.path, bad, f"annotations[{index}]"))
        return segments

    def read_one(self, item: Any, index: int, where: Where) -> tuple[Any, Segment]:
        if not isinstance(item, dict):
            raise Invalid(None, f"an annotation must be an object; got {describe(item)}")
        where.annotation_id = annotation_id = get_id(item, "id")
        first = self.seen_ids.setdefault(annotation_id, index)
        where.image_id = image_id = get_id(item, "image_id")
        if first != index:
            raise Invalid(
                "id",
                f"annotation id {annotation_id!r} is already used by annotations[{first}]; "
                "this second one is refused, give it its own id",
            )
        check_keys_unique(item)
        image = self._image(image_id)
        category_id = get_int(item, "category_id")
        if category_id not in self.allowed:
            raise Invalid(
                "category_id",
                f"category id {category_id} is not one of the allowed categories "
                f"{_preview(self.allowed)}; map it to a known class",
            )
        iscrowd = get_flag(item, "iscrowd") and self.keep_crowd
        check_optional_numbers(item, "area")
        check_optional_numbers(item, "bbox", 4)
        rle = segmentation_rle(item.get("segmentation"), image.height, image.width, present="segmentation" in item)
        if masks.area(rle) == 0:
            raise Invalid("segmentation", "the mask is empty (zero area); remove the annotation or redraw it")
        return image_id, Segment(annotation_id, category_id, rle, iscrowd)

    def _image(self, image_id: Any) -> ImageInfo:
        image = self.images.get(image_id)
        if image is not None:
            return image
        if image_id in self.refused:
            raise Invalid("image_id", f"image {image_id!r} was refused (see its rejection); fix the image entry")
        raise Invalid("image_id", f"image {image_id!r} is not in this file's images; add the image or fix the id")


def segmentation_rle(value: Any, height: int, width: int, *, present: bool = True) -> RLE:
    """A COCO ``segmentation`` (polygons, compressed or uncompressed RLE) as compressed RLE; raises Invalid."""
    if not present:
        raise Invalid(
            "segmentation",
            "the key 'segmentation' is missing; box-only annotations cannot be used, add a polygon or RLE mask",
        )
    try:
        if isinstance(value, list):
            _check_polygons(value, height, width)
            return masks.from_polygons(value, height, width)
        if isinstance(value, dict):
            return _rle_of(value, height, width)
    except InvalidMaskError as exc:
        field = f"segmentation.{exc.field}" if exc.field and exc.field != "segmentation" else "segmentation"
        raise Invalid(field, f"{exc.message} (re-export the mask as COCO RLE or polygons)") from exc
    raise Invalid("segmentation", f"'segmentation' must be a list of polygons or an RLE object; got {describe(value)}")


def _check_polygons(parts: list[Any], height: int, width: int) -> None:
    if not parts:
        raise Invalid("segmentation", "the polygon list is empty (zero area); add a polygon or drop the annotation")
    for index, part in enumerate(parts):
        if not isinstance(part, list):
            raise Invalid(
                "segmentation", f"polygon part {index} must be a flat list [x1, y1, x2, y2, ...]; got {describe(part)}"
            )
        bad = next((v for v in part if not is_number(v)), _ALL_NUMBERS)
        if bad is not _ALL_NUMBERS:
            raise Invalid(
                "segmentation",
                f"polygon part {index} must hold only finite numbers; got {describe(bad)}; fix the coordinate",
            )
        if len(part) % 2 or len(part) < 6:
            raise Invalid(
                "segmentation",
                f"polygon part {index} has {len(part)} coordinates; a polygon needs an "
                "even number and at least 6 (3 points)",
            )
        for axis, values, limit in (("x", part[0::2], width), ("y", part[1::2], height)):
            low, high = min(values), max(values)
            if low < -EDGE_TOLERANCE or high > limit + EDGE_TOLERANCE:
                raise Invalid(
                    "segmentation",
                    f"polygon part {index} has {axis} from {low} to {high}, outside the "
                    f"image (0 to {limit}) by more than {EDGE_TOLERANCE:g} px; fix the coordinates or "
                    "the image size",
                )


def _rle_of(value: dict[str, Any], height: int, width: int) -> RLE:
    check_keys_unique(value)
    size = value.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(is_int(v) for v in size)):
        raise Invalid("segmentation.size", f"RLE 'size' must be [height, width]; got {describe(size)}")
    if size != [height, width]:
        raise Invalid(
            "segmentation.size",
            f"RLE size {size} differs from the image's [{height}, {width}]; re-encode the mask at the image's size",
        )
    counts = value.get("counts")
    if isinstance(counts, str):
        return masks.as_rle({"size": size, "counts": counts})
    if isinstance(counts, list):
        return masks.from_uncompressed({"size": size, "counts": counts})
    raise Invalid(
        "segmentation.counts",
        f"RLE 'counts' must be a string (compressed) or a list of run lengths (uncompressed); got {describe(counts)}",
    )


def _preview(ids: frozenset[int]) -> str:
    ordered = sorted(ids)
    shown = ", ".join(map(str, ordered[:10]))
    return f"[{shown}{', ...' if len(ordered) > 10 else ''}]" if ordered else "(none: the file lists no categories)"


# --- writing ---------------------------------------------------------------------------------------------


def _annotation_dict(image_id: Any, segment: Segment) -> dict[str, Any]:
    x, y, w, h = masks.bbox(segment.rle)
    return {
        "id": segment.id,
        "image_id": image_id,
        "category_id": segment.category_id,
        "segmentation": {"size": list(segment.rle["size"]), "counts": segment.rle["counts"]},
        "area": float(masks.area(segment.rle)),
        "bbox": [float(x), float(y), float(w), float(h)],
        "iscrowd": int(segment.iscrowd),
    }
