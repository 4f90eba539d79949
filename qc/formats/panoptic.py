"""COCO panoptic: a JSON of ``segments_info`` per image plus a folder of RGB-encoded id PNGs.

A pixel's segment id is ``R + 256·G + 256²·B``; id 0 is unlabelled. Each
``segments_info`` entry becomes a :class:`~qc.match.Segment` (``iscrowd`` kept) whose
RLE is cut from the PNG. Pixels whose id is not listed, and listed ids absent from
the PNG, are rejections; the rest of the image is still returned. Segment ids are
unique only within one image (as in the COCO files). Only one image's label map
is in memory at a time.

>>> import tempfile
>>> from qc.masks import from_polygons
>>> folder = tempfile.mkdtemp()
>>> image = ImageInfo(7, "street.jpg", 6, 8)
>>> seg = Segment(1, 3, from_polygons([[1, 1, 4, 1, 4, 4, 1, 4]], 6, 8))
>>> write_panoptic(f"{folder}/p.json", f"{folder}/p", [image], [(7, seg)], [Category(3, "car")])
>>> parsed = read_panoptic(f"{folder}/p.json")
>>> [(i, s.id, s.category_id, s.area) for i, s in parsed.segments], parsed.rejections
([(7, 1, 3, 9)], [])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from qc import masks
from qc.core import Category, ImageInfo, Segment
from qc.errors import FormatError, InvalidMaskError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import (
    CategoriesArg,
    ImagesArg,
    Where,
    category_reference,
    category_table,
    check_relative_name,
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
    get_list,
    get_str,
    load_json,
)
from qc.formats._png import LabelRuns, decode_png, rgb_ids
from qc.formats._shapes import ImageSizes

__all__ = [
    "FORMAT",
    "MAX_SEGMENT_ID",
    "panoptic_png",
    "png_name",
    "read_panoptic",
    "to_panoptic_dict",
    "write_panoptic",
]

FORMAT = "coco_panoptic"
MAX_SEGMENT_ID = 256**3 - 1
"""The largest id an RGB pixel can hold."""


def read_panoptic(
    json_path: str | os.PathLike[str],
    png_dir: str | os.PathLike[str] | None = None,
    *,
    categories: CategoriesArg = None,
    image_ids: Iterable[Any] | None = None,
    image_sizes: ImageSizes | None = None,
) -> ParsedAnnotations:
    """Read a COCO panoptic JSON and its PNGs; refuse bad items one by one and return the valid rest.

    ``png_dir`` defaults to the JSON path without its suffix (``panoptic_val2017.json``
    -> ``panoptic_val2017/``), the COCO layout. ``categories``, ``image_ids`` and
    ``image_sizes`` work as in :func:`qc.formats.coco.read_instances`; a PNG's header must match its image.
    Raises :class:`~qc.errors.FormatError` only when the JSON or the PNG folder cannot be read at all.
    """
    name = os.fspath(json_path)
    folder = Path(png_dir) if png_dir is not None else Path(name).with_suffix("")
    if not folder.is_dir():
        raise FormatError(f"the PNG folder {folder} does not exist; pass png_dir=", path=name, field="png_dir")
    data, failure = load_json(name)
    if failure is not None:
        return ParsedAnnotations(name, FORMAT, rejections=[failure])
    if not isinstance(data, dict):
        message = f"the file must hold a JSON object with images, annotations and categories; got {describe(data)}"
        return ParsedAnnotations(name, FORMAT, rejections=[Rejection(name, None, None, None, message)])
    rejections: list[Rejection] = []
    images, refused_images = parse_images(data, name, rejections, image_sizes)
    file_categories = parse_categories(data, name, rejections, required=categories is None)
    allowed, reported = category_reference(categories, file_categories)
    reader = _PanopticReader(name, folder, images, refused_images, allowed, rejections)
    for index, item in enumerate(top_list(data, "annotations", name, rejections)):
        reader.read_image(item, index)
    reader.reject_unannotated()
    parsed = ParsedAnnotations(name, FORMAT, images, reader.segments, rejections, reported)
    return parsed if image_ids is None else validate_image_ids(parsed, set(image_ids))


def to_panoptic_dict(
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    *,
    info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The panoptic JSON document (``area`` and ``bbox`` as integers, as panopticapi writes them).

    Each image's PNG is named after its ``file_name`` with the suffix ``.png``. Raises
    :class:`~qc.errors.FormatError` for segment ids outside 1..256³-1 or repeated
    within an image, and :class:`~qc.errors.InvalidMaskError` for overlapping segments.
    """
    table = image_table(images)
    grouped = group_segments(segments, table)
    _check_png_names(table)
    annotations = []
    for image_id, image_segments in grouped.items():
        _check_writable(image_id, image_segments)
        annotations.append(
            {
                "image_id": image_id,
                "file_name": png_name(table[image_id]),
                "segments_info": [_segment_info(s) for s in image_segments],
            }
        )
    return {
        "info": dict(info) if info is not None else {"description": "written by qc"},
        "licenses": [],
        "images": [image.to_dict() for image in table.values()],
        "annotations": annotations,
        "categories": [
            {"id": c.id, "name": c.name, "isthing": int(c.isthing)} for c in category_table(categories).values()
        ],
    }


def panoptic_png(image: ImageInfo, segments: Iterable[Segment]) -> npt.NDArray[np.uint8]:
    """The ``(h, w, 3)`` RGB id image of one image's segments (each painted only inside its box)."""
    ids = np.zeros((image.height, image.width), dtype=np.int64)
    for segment in segments:
        region = masks.box(segment.rle)
        if region is None:
            continue
        x0, y0, x1, y1 = region
        ids[y0:y1, x0:x1][masks.crop(segment.rle, region)] = segment.id
    return np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)


def write_panoptic(
    json_path: str | os.PathLike[str],
    png_dir: str | os.PathLike[str],
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    *,
    info: Mapping[str, Any] | None = None,
) -> None:
    """Write the panoptic JSON (atomically) and one RGB PNG per image into ``png_dir``."""
    table = image_table(images)
    pairs = list(segments)
    document = to_panoptic_dict(table, pairs, categories, info=info)
    grouped = group_segments(pairs, table)
    folder = Path(png_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for image_id, image_segments in grouped.items():
            target = folder / png_name(table[image_id])
            Image.fromarray(panoptic_png(table[image_id], image_segments)).save(target, format="PNG")
    except OSError as exc:
        raise FormatError(f"cannot write the PNGs ({exc}); check the folder is writable", path=str(folder)) from exc
    write_json(document, json_path)


def png_name(image: ImageInfo) -> str:
    """The PNG name COCO panoptic uses for an image: the base name of its ``file_name`` with the suffix ``.png``."""
    return PurePosixPath(image.file_name.replace("\\", "/")).stem + ".png"


# --- reading ---------------------------------------------------------------------------------------------


class _PanopticReader:
    """Reads ``annotations`` entries (one per image) and the PNG each names."""

    def __init__(
        self,
        path: str,
        folder: Path,
        images: dict[Any, ImageInfo],
        refused: set[Any],
        allowed: frozenset[int],
        rejections: list[Rejection],
    ) -> None:
        self.path, self.folder = path, folder
        self.images, self.refused, self.allowed = images, refused, allowed
        self.rejections = rejections
        self.segments: list[tuple[Any, Segment]] = []
        self.done_images: dict[Any, int] = {}

    def read_image(self, item: Any, index: int) -> None:
        where = Where()
        try:
            image, entries, png_path = self._entry(item, index, where)
        except Invalid as bad:
            self.rejections.append(where.reject(self.path, bad, f"annotations[{index}]"))
            if where.image_id in self.images and self.done_images.get(where.image_id) == index:
                del self.images[where.image_id]  # its only entry is unusable: it must not look unlabelled
            return
        infos, listed = self._segment_infos(entries, image.id, index)
        try:
            raw = png_path.read_bytes()
        except OSError as exc:
            self._reject_png(png_path, image, "file_name", f"cannot read the PNG ({exc.strerror}); add it", infos)
            return
        try:
            labels = rgb_ids(decode_png(raw, modes={"RGB"}, height=image.height, width=image.width))
        except Invalid as bad:
            self._reject_png(png_path, image, bad.field, bad.message, infos)
            return
        self._cut_segments(LabelRuns(labels), infos, listed, image.id, png_path)

    def _entry(self, item: Any, index: int, where: Where) -> tuple[ImageInfo, list[Any], Path]:
        if not isinstance(item, dict):
            raise Invalid(
                None,
                f"an annotation must be an object with image_id, file_name and segments_info; got {describe(item)}",
            )
        check_keys_unique(item)
        where.image_id = image_id = get_id(item, "image_id")
        if image_id in self.done_images:
            raise Invalid(
                "image_id",
                f"image {image_id!r} already has an annotation (annotations"
                f"[{self.done_images[image_id]}]); merge the two entries",
            )
        self.done_images[image_id] = index
        image = self.images.get(image_id)
        if image is None:
            state = "was refused (see its rejection)" if image_id in self.refused else "is not in this file's images"
            raise Invalid("image_id", f"image {image_id!r} {state}; fix the image entry or the id")
        file_name = get_str(item, "file_name")
        check_relative_name(file_name)
        return image, get_list(item, "segments_info"), self.folder / file_name

    def _segment_infos(
        self, entries: list[Any], image_id: Any, index: int
    ) -> tuple[dict[int, tuple[int, bool]], set[int]]:
        """Valid entries as ``{segment id: (category id, iscrowd)}`` and every listed id; the rest are rejected."""
        infos: dict[int, tuple[int, bool]] = {}
        seen: set[int] = set()
        for position, entry in enumerate(entries):
            where = Where(image_id=image_id)
            try:
                segment_id, category_id, iscrowd = self._segment_info(entry, where, seen)
                infos[segment_id] = (category_id, iscrowd)
            except Invalid as bad:
                self.rejections.append(where.reject(self.path, bad, f"annotations[{index}].segments_info[{position}]"))
        return infos, seen

    def _segment_info(self, entry: Any, where: Where, seen: set[int]) -> tuple[int, int, bool]:
        if not isinstance(entry, dict):
            raise Invalid(None, f"a segments_info entry must be an object; got {describe(entry)}")
        where.annotation_id = segment_id = get_int(entry, "id", minimum=1)
        if segment_id > MAX_SEGMENT_ID:
            raise Invalid("id", f"segment id {segment_id} does not fit an RGB pixel (at most {MAX_SEGMENT_ID})")
        if segment_id in seen:
            raise Invalid("id", f"segment id {segment_id} is listed twice for this image; the second is refused")
        seen.add(segment_id)
        check_keys_unique(entry)
        category_id = get_int(entry, "category_id")
        if category_id not in self.allowed:
            raise Invalid(
                "category_id",
                f"category id {category_id} is not one of the allowed categories; map it to a known class",
            )
        iscrowd = get_flag(entry, "iscrowd")
        check_optional_numbers(entry, "area")
        check_optional_numbers(entry, "bbox", 4)
        return segment_id, category_id, iscrowd

    def _cut_segments(
        self, runs: LabelRuns, infos: dict[int, tuple[int, bool]], listed: set[int], image_id: Any, png: Path
    ) -> None:
        for segment_id, (category_id, iscrowd) in infos.items():
            if segment_id not in runs.counts:
                self.rejections.append(
                    Rejection(
                        str(png),
                        image_id,
                        segment_id,
                        "segments_info",
                        f"segment {segment_id} is listed in segments_info but no pixel of the PNG has that id "
                        f"(RGB {_rgb(segment_id)}); paint it or remove the entry",
                    )
                )
                continue
            self.segments.append((image_id, Segment(segment_id, category_id, runs.rle(segment_id), iscrowd)))
        for pixel_id, count in runs.counts.items():
            if pixel_id != 0 and pixel_id not in listed:
                self.rejections.append(
                    Rejection(
                        str(png),
                        image_id,
                        pixel_id,
                        "segments_info",
                        f"{count} pixels have segment id {pixel_id} (RGB {_rgb(pixel_id)}), which segments_info does "
                        "not list; add an entry for it or paint those pixels 0 (unlabelled)",
                    )
                )

    def _reject_png(
        self, png: Path, image: ImageInfo, field: str | None, message: str, infos: dict[int, tuple[int, bool]]
    ) -> None:
        lost = f" ({len(infos)} segments of this image are not read)" if infos else ""
        self.rejections.append(Rejection(str(png), image.id, None, field, message + lost))
        del self.images[image.id]  # an unreadable image must not look like an image with nothing labelled

    def reject_unannotated(self) -> None:
        """Images that no ``annotations`` entry covers are refused (and left out of ``images``)."""
        for image_id in [i for i in self.images if i not in self.done_images]:
            del self.images[image_id]
            message = (
                f"image {image_id!r} has no entry in 'annotations'; add one (with empty segments_info if the "
                "image has nothing to label) or remove the image"
            )
            self.rejections.append(Rejection(self.path, image_id, None, "annotations", message))


def _rgb(segment_id: int) -> tuple[int, int, int]:
    return segment_id & 255, (segment_id >> 8) & 255, (segment_id >> 16) & 255


# --- writing ---------------------------------------------------------------------------------------------


def _check_writable(image_id: Any, segments: list[Segment]) -> None:
    seen: set[Any] = set()
    for segment in segments:
        segment_id = segment.id
        valid = isinstance(segment_id, int | np.integer) and not isinstance(segment_id, bool)
        if not valid or not 1 <= segment_id <= MAX_SEGMENT_ID or segment_id in seen:
            raise FormatError(
                f"segment id {segment_id!r} cannot be written: panoptic ids must be integers from 1 to "
                f"{MAX_SEGMENT_ID}, unique within the image; renumber the segments",
                image_id=image_id,
                annotation_id=segment_id,
            )
        seen.add(segment_id)
    if len(segments) > 1:
        union = masks.area(masks.merge([s.rle for s in segments]))
        if union != sum(masks.area(s.rle) for s in segments):
            raise InvalidMaskError(
                "panoptic segments must not overlap, but this image's segments share pixels; "
                "resolve the overlap (each pixel belongs to one segment) before writing",
                image_id=image_id,
            )


def _check_png_names(images: Mapping[Any, ImageInfo]) -> None:
    owners: dict[str, Any] = {}
    for image in images.values():
        name = png_name(image)
        if name.removesuffix(".png") in ("", ".", "..") or name in owners:
            raise FormatError(
                f"image {image.id!r} (file_name {image.file_name!r}) would be written as {name!r}, which is empty or "
                f"already taken by image {owners.get(name)!r}; give the images distinct file names",
                image_id=image.id,
            )
        owners[name] = image.id


def _segment_info(segment: Segment) -> dict[str, Any]:
    return {
        "id": int(segment.id),
        "category_id": segment.category_id,
        "iscrowd": int(segment.iscrowd),
        "area": masks.area(segment.rle),
        "bbox": list(masks.bbox(segment.rle)),
    }
