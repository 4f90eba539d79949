"""Pieces shared by the COCO-style readers and writers: images, categories, the round's image ids.

>>> images = {1: ImageInfo(1, "a.jpg", 4, 4), 2: ImageInfo(2, "b.jpg", 4, 4)}
>>> parsed = ParsedAnnotations("a.json", "coco", images=images)
>>> kept = validate_image_ids(parsed, {1})
>>> sorted(kept.images), [r.image_id for r in kept.rejections]
([1], [2])
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from qc.core import Category, ImageInfo, Segment
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._jsonio import Invalid, check_keys_unique, describe, get_flag, get_id, get_int, get_str
from qc.formats._shapes import ImageSizes, check_declared_size

__all__ = [
    "CategoriesArg",
    "ImagesArg",
    "Where",
    "category_reference",
    "category_table",
    "check_relative_name",
    "group_segments",
    "image_table",
    "parse_categories",
    "parse_images",
    "temporary_beside",
    "top_list",
    "validate_image_ids",
    "write_json",
]

CategoriesArg = Mapping[int, Category] | Iterable[Category] | Iterable[int] | None
"""Allowed categories: ids, :class:`Category` objects, or a mapping id -> Category."""

ImagesArg = Mapping[Any, ImageInfo] | Iterable[ImageInfo]


@dataclass
class Where:
    """The ids known so far for the item being read, so a rejection can name them."""

    image_id: Any = None
    annotation_id: Any = None
    file_name: str | None = None

    def reject(self, path: str, bad: Invalid, place: str) -> Rejection:
        return Rejection(path, self.image_id, self.annotation_id, bad.field, f"{place}: {bad.message}", self.file_name)


def validate_image_ids(parsed: ParsedAnnotations, allowed_ids: Collection[Any]) -> ParsedAnnotations:
    """Drop the images (and their segments) that are not part of the round, each with a rejection."""
    allowed = set(allowed_ids)
    outside = [image_id for image_id in parsed.images if image_id not in allowed]
    if not outside:
        return parsed
    dropped = set(outside)
    rejections = list(parsed.rejections)
    for image_id in outside:
        rejections.append(
            Rejection(
                parsed.path,
                image_id,
                None,
                "image_id",
                f"image {image_id!r} is not part of this round; remove it from the file or add it to the round",
            )
        )
    for image_id, segment in parsed.segments:
        if image_id in dropped:
            rejections.append(
                Rejection(
                    parsed.path,
                    image_id,
                    segment.id,
                    "image_id",
                    f"the annotation belongs to image {image_id!r}, which is not part of this round",
                )
            )
    return dataclasses.replace(
        parsed,
        images={k: v for k, v in parsed.images.items() if k not in dropped},
        segments=[(i, s) for i, s in parsed.segments if i not in dropped],
        rejections=rejections,
    )


def top_list(data: dict[str, Any], key: str, path: str, rejections: list[Rejection]) -> list[Any]:
    """A required top-level list; a rejection (and ``[]``) when missing or of the wrong type."""
    value = data.get(key)
    if isinstance(value, list):
        return value
    found = "it is missing" if key not in data else f"got {describe(value)}"
    rejections.append(Rejection(path, None, None, key, f"the top-level key {key!r} must be a list; {found}"))
    return []


def parse_images(
    data: dict[str, Any], path: str, rejections: list[Rejection], sizes: ImageSizes | None = None
) -> tuple[dict[Any, ImageInfo], set[Any]]:
    """The file's ``images``: valid ones by id, plus the ids of images that were refused.

    An image larger than :data:`~qc.limits.MAX_IMAGE_PIXELS`, or whose size differs from the
    project's image of that file name (``sizes``), is refused, so none of its masks is decoded.
    """
    images: dict[Any, ImageInfo] = {}
    refused: set[Any] = set()
    for index, item in enumerate(top_list(data, "images", path, rejections)):
        where = Where()
        try:
            image = _parse_image(item, where, sizes)
            if image.id in images or image.id in refused:
                raise Invalid("id", f"image id {image.id!r} appears twice; the second is refused, give it its own id")
            images[image.id] = image
        except Invalid as bad:
            rejections.append(where.reject(path, bad, f"images[{index}]"))
            if where.image_id is not None and where.image_id not in images:
                refused.add(where.image_id)
    return images, refused


def parse_categories(
    data: dict[str, Any], path: str, rejections: list[Rejection], *, required: bool
) -> dict[int, Category]:
    """The file's ``categories`` by id (a rejection per bad entry; a missing list only matters if required)."""
    if "categories" not in data and not required:
        return {}
    categories: dict[int, Category] = {}
    for index, item in enumerate(top_list(data, "categories", path, rejections)):
        try:
            category = _parse_category(item)
            if category.id in categories:
                raise Invalid("id", f"category id {category.id} appears twice; give each category its own id")
            categories[category.id] = category
        except Invalid as bad:
            rejections.append(Rejection(path, None, None, bad.field, f"categories[{index}]: {bad.message}"))
    return categories


def category_reference(
    categories: CategoriesArg, file_categories: Mapping[int, Category]
) -> tuple[frozenset[int], dict[int, Category]]:
    """The allowed category ids and the categories to report: the given ones, else the file's."""
    if categories is None:
        return frozenset(file_categories), dict(file_categories)
    if isinstance(categories, Mapping):
        return frozenset(int(k) for k in categories), {int(k): v for k, v in categories.items()}
    given: list[Any] = list(categories)
    objects = {c.id: c for c in given if isinstance(c, Category)}
    ids = frozenset(c.id if isinstance(c, Category) else int(c) for c in given)
    known = {i: c for i, c in file_categories.items() if i in ids}
    return ids, {**known, **objects}


def image_table(images: ImagesArg) -> dict[Any, ImageInfo]:
    """Images by id for the writers; :class:`FormatError` on a repeated id."""
    if isinstance(images, Mapping):
        return dict(images)
    table: dict[Any, ImageInfo] = {}
    for image in images:
        if image.id in table:
            raise FormatError(f"image id {image.id!r} is given twice; pass each image once", image_id=image.id)
        table[image.id] = image
    return table


def category_table(categories: Mapping[int, Category] | Iterable[Category]) -> dict[int, Category]:
    """Categories by id for the writers."""
    if isinstance(categories, Mapping):
        return dict(categories)
    return {c.id: c for c in categories}


def group_segments(
    segments: Iterable[tuple[Any, Segment]], images: Mapping[Any, ImageInfo]
) -> dict[Any, list[Segment]]:
    """Segments per image id, checked to point at a known image of the same size."""
    grouped: dict[Any, list[Segment]] = {image_id: [] for image_id in images}
    for image_id, segment in segments:
        image = images.get(image_id)
        if image is None:
            raise FormatError(
                f"segment {segment.id!r} belongs to image {image_id!r}, which is not among the images to write; "
                "pass that image too",
                image_id=image_id,
                annotation_id=segment.id,
            )
        if list(segment.rle["size"]) != [image.height, image.width]:
            raise FormatError(
                f"segment {segment.id!r} has a mask of size {segment.rle['size']} but image {image_id!r} is "
                f"{image.height}x{image.width}; re-encode the mask at the image's size",
                image_id=image_id,
                annotation_id=segment.id,
                field="rle",
            )
        grouped[image_id].append(segment)
    return grouped


def check_relative_name(name: str) -> None:
    """Refuse a file name that is absolute or climbs out of its folder (``..``)."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if not name or pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":"):
        raise Invalid("file_name", f"file_name must be a relative path inside the folder; got {name!r}")


def temporary_beside(target: Path) -> Path:
    """``a.json.tmp`` beside ``target``, the file an atomic write renames; a path with no file name
    (``-o ""`` is the working folder) is a :class:`~qc.errors.FormatError`.

    >>> temporary_beside(Path("out/a.json")).as_posix()
    'out/a.json.tmp'
    """
    if not target.name:
        raise FormatError(
            "is a folder, not a file: give the name of the file to write, e.g. accepted.json", path=str(target)
        )
    return target.with_name(target.name + ".tmp")


def write_json(document: dict[str, Any], path_or_stream: str | os.PathLike[str] | IO[str]) -> None:
    """Write JSON (no NaN allowed) to a stream, or atomically to a path (temporary file, then rename)."""
    import json

    if not isinstance(path_or_stream, str | os.PathLike):
        json.dump(document, path_or_stream, allow_nan=False)
        return
    target = Path(path_or_stream)
    temporary = temporary_beside(target)
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(document, handle, allow_nan=False)
        os.replace(temporary, target)
    except OSError as exc:
        raise FormatError(
            f"cannot write the file ({exc.strerror}); check the folder exists and is writable", path=str(target)
        ) from exc


# --- internals -------------------------------------------------------------------------------------------


def _parse_image(item: Any, where: Where, sizes: ImageSizes | None) -> ImageInfo:
    if not isinstance(item, dict):
        raise Invalid(None, f"an image must be an object with id, file_name, height and width; got {describe(item)}")
    where.image_id = get_id(item, "id")
    check_keys_unique(item)
    where.file_name = file_name = get_str(item, "file_name")
    height, width = get_int(item, "height", minimum=1), get_int(item, "width", minimum=1)
    check_declared_size(file_name, height, width, sizes)
    return ImageInfo(where.image_id, file_name, height, width)


def _parse_category(item: Any) -> Category:
    if not isinstance(item, dict):
        raise Invalid(None, f"a category must be an object with id and name; got {describe(item)}")
    check_keys_unique(item)
    category_id = get_int(item, "id")
    name = get_str(item, "name")
    return Category(category_id, name, get_flag(item, "isthing", default=True))
