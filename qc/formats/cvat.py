"""CVAT exports: "CVAT for images 1.1" XML, "COCO 1.0" JSON and "Segmentation mask 1.1" folders.

CVAT labels by *name*: each label maps to the project's class of that name (given as
:class:`~qc.formats._base.Category` objects); without them the file's labels are
numbered 1, 2, ... in the order of ``<meta>`` (XML) or ``labelmap.txt``.

XML: ``<polygon points="x,y;...">``, ``<box xtl ytl xbr ybr rotation>`` and
``<mask rle left top width height>`` become segments (a mask's runs alternate
background/foreground, start with background and cover the box row-major; the box
corners are inclusive). Polylines, points, ellipses, skeletons and video tracks are
refused one by one (they are not regions); image-level ``<tag>`` elements are skipped.
A file with a DOCTYPE or ENTITY declaration is refused whole (no entity expansion).
Segment ids are the shapes' order in the file, from 1.

COCO 1.0: CVAT writes every mask as uncompressed column-major RLE with
``iscrowd: 1``. qc reads those as ordinary instance masks (``crowd="instance"``, the
default here); pass ``crowd="crowd"`` when the export's crowd flag marks true crowd
regions, which PQ and matching then treat specially.

Segmentation mask 1.1: read by the private :mod:`qc.formats._cvat_segmask`, listed here.

>>> import numpy as np, tempfile
>>> mask = np.zeros((6, 8), dtype=bool); mask[1:4, 2:6] = True; mask[2, 3] = False
>>> seg = Segment(1, 1, masks.encode(mask))
>>> path = tempfile.mkdtemp() + "/a.xml"
>>> write_cvat_xml(path, [ImageInfo(0, "a.jpg", 6, 8)], [(0, seg)], [Category(1, "cat")], comments={0: "fix it"})
>>> back = read_cvat_xml(path)
>>> [(i, s.category_id, s.area) for i, s in back.segments], back.rejections
([(0, 1, 11)], [])
>>> bool((masks.decode(back.segments[0][1].rle) == mask).all())
True
"""

from __future__ import annotations

import io
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qc import masks
from qc.core import Category, ImageInfo, Segment
from qc.errors import FormatError
from qc.formats import coco
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import (
    CategoriesArg,
    ImagesArg,
    category_table,
    group_segments,
    image_table,
    temporary_beside,
)
from qc.formats._cvat_segmask import SEGMASK_FORMAT, read_cvat_segmask
from qc.formats._jsonio import Invalid, read_bytes
from qc.formats._names import NameMap
from qc.formats._regions import ReworkRegion, cvat_region_box, cvat_region_label
from qc.formats._shapes import ImageSizes, check_declared_size, check_inside, clip_polygon, polygon_rle
from qc.masks import RLE

__all__ = [
    "COCO_FORMAT",
    "SEGMASK_FORMAT",
    "XML_FORMAT",
    "mask_runs",
    "read_cvat_coco",
    "read_cvat_segmask",
    "read_cvat_xml",
    "to_cvat_xml",
    "write_cvat_xml",
]

XML_FORMAT = "cvat-xml"
COCO_FORMAT = "cvat-coco"
FEEDBACK_ATTRIBUTE = "qc_feedback"
REWORK_TAG = "qc_rework"

_NOT_REGIONS = {"polyline", "points", "ellipse", "cuboid", "skeleton"}


# --- CVAT for images 1.1 (XML) ---------------------------------------------------------------------------


def read_cvat_xml(
    path: str | os.PathLike[str], *, categories: CategoriesArg = None, image_sizes: ImageSizes | None = None
) -> ParsedAnnotations:
    """Read a "CVAT for images 1.1" XML export; refuse bad shapes one by one and return the rest.

    ``image_sizes`` (the project's images by file name) refuses an ``<image>`` declared at
    another size before any of its shapes is drawn. Raises :class:`~qc.errors.FormatError`
    only when ``path`` cannot be read.
    """
    name = os.fspath(path)
    raw = read_bytes(path)
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        message = "the XML has a DOCTYPE or ENTITY declaration, which qc refuses (entity expansion); export it again"
        return ParsedAnnotations(name, XML_FORMAT, rejections=[Rejection(name, None, None, None, message)])
    reader = _XmlReader(name, categories, image_sizes)
    try:
        for _, element in ET.iterparse(io.BytesIO(raw), events=("end",)):
            reader.element(element)
    except (ET.ParseError, LookupError, UnicodeError) as exc:  # LookupError: an encoding Python does not know
        message = f"the XML cannot be parsed ({exc}); export the file again"
        reader.rejections.append(Rejection(name, None, None, None, message))
    return ParsedAnnotations(
        name, XML_FORMAT, reader.images, reader.segments, reader.rejections, reader.names().categories
    )


class _XmlReader:
    def __init__(self, path: str, categories: CategoriesArg, sizes: ImageSizes | None) -> None:
        self.path = path
        self.given = categories
        self.sizes = sizes
        self.meta_labels: list[str] = []
        self.images: dict[Any, ImageInfo] = {}
        self.segments: list[tuple[Any, Segment]] = []
        self.rejections: list[Rejection] = []
        self._names: NameMap | None = None

    def names(self) -> NameMap:
        if self._names is None:
            self._names = NameMap(self.given, self.meta_labels)
        return self._names

    def element(self, element: ET.Element) -> None:
        if element.tag == "label" and self._names is None:
            label = element.findtext("name")
            if label:
                self.meta_labels.append(label)
        elif element.tag == "image":
            self.image(element)
            element.clear()
        elif element.tag == "track":
            message = "video tracks are not supported; export the task as images (CVAT for images 1.1)"
            self.rejections.append(Rejection(self.path, None, element.get("id"), "track", message))
            element.clear()

    def image(self, element: ET.Element) -> None:
        try:
            image = _image_info(element, self.sizes)
        except Invalid as bad:
            name = element.get("name")
            self.rejections.append(Rejection(self.path, element.get("id"), None, bad.field, bad.message, name))
            return
        if image.id in self.images:
            message = f"image id {image.id} appears twice; the second is refused"
            self.rejections.append(Rejection(self.path, image.id, None, "id", message))
            return
        self.images[image.id] = image
        for shape in element:
            if shape.tag == "tag":
                continue
            segment_id = len(self.segments) + len(self.rejections) + 1
            try:
                self.segments.append((image.id, self.shape(shape, image, segment_id)))
            except Invalid as bad:
                self.rejections.append(Rejection(self.path, image.id, segment_id, bad.field, f"<{shape.tag}>: {bad}"))

    def shape(self, shape: ET.Element, image: ImageInfo, segment_id: int) -> Segment:
        if shape.tag in _NOT_REGIONS:
            raise Invalid(shape.tag, f"a {shape.tag} is not a region; draw it as a polygon, box or mask")
        if shape.tag not in ("polygon", "box", "mask"):
            raise Invalid(shape.tag, f"unknown shape <{shape.tag}>; expected polygon, box or mask")
        label = shape.get("label") or ""
        category_id = self.names().category_id(label) if self.given is not None else self.names().add(label)
        if shape.tag == "polygon":
            rle = _polygon(shape.get("points", ""), image)
        elif shape.tag == "box":
            rle = _box(shape, image)
        else:
            rle = _mask(shape, image)
        if masks.area(rle) == 0:
            raise Invalid(shape.tag, "the shape is empty (zero area); remove it or redraw it")
        return Segment(segment_id, category_id, rle)


def _image_info(element: ET.Element, sizes: ImageSizes | None) -> ImageInfo:
    image_id = _int(element, "id")
    height, width = _int(element, "height"), _int(element, "width")
    if height < 1 or width < 1:
        raise Invalid("height", f"image size {height}x{width} is not usable (height and width must be at least 1)")
    name = element.get("name") or str(image_id)
    check_declared_size(name, height, width, sizes)
    return ImageInfo(image_id, name, height, width)


def _int(element: ET.Element, key: str) -> int:
    value = element.get(key)
    try:
        return int(value or "")
    except ValueError:
        raise Invalid(key, f"attribute {key!r} must be an integer; got {value!r}") from None


def _float(element: ET.Element, key: str, default: float | None = None) -> float:
    value = element.get(key)
    if value is None and default is not None:
        return default
    try:
        number = float(value or "")
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise Invalid(key, f"attribute {key!r} must be a finite number; got {value!r}")
    return number


def _polygon(points: str, image: ImageInfo) -> RLE:
    try:
        coords = [float(v) for pair in points.split(";") for v in pair.split(",")]
    except ValueError:
        raise Invalid("points", f"points must be 'x1,y1;x2,y2;...'; got {points[:40]!r}") from None
    if len(coords) < 6 or len(coords) % 2 or not all(map(math.isfinite, coords)):
        raise Invalid("points", f"a polygon needs at least 3 finite x,y points; got {points[:40]!r}")
    return polygon_rle(coords, image)


def _box(shape: ET.Element, image: ImageInfo) -> RLE:
    x0, y0, x1, y1 = (_float(shape, k) for k in ("xtl", "ytl", "xbr", "ybr"))
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    check_inside(corners.ravel().tolist(), image, field="xtl")
    angle = math.radians(_float(shape, "rotation", 0.0))
    if not angle:
        return polygon_rle(corners.ravel().tolist(), image, field="xtl")
    centre = corners.mean(axis=0)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    turned = clip_polygon(((corners - centre) @ turn.T + centre).ravel().tolist(), image)
    return polygon_rle(turned, image, field="rotation") if len(turned) >= 6 else masks.empty(image.height, image.width)


def _mask(shape: ET.Element, image: ImageInfo) -> RLE:
    left, top, width, height = (_int(shape, k) for k in ("left", "top", "width", "height"))
    if left < 0 or top < 0 or width < 1 or height < 1 or left + width > image.width or top + height > image.height:
        raise Invalid(
            "left",
            f"mask box left={left} top={top} width={width} height={height} does not fit the "
            f"{image.width}x{image.height} image; export the mask again",
        )
    text = shape.get("rle", "")
    try:
        runs = np.array(text.replace(" ", "").replace("\n", "").split(","), dtype=np.int64)
    except ValueError:
        raise Invalid("rle", f"rle must be comma-separated run lengths; got {text[:40]!r}") from None
    if (runs < 0).any() or int(runs.sum()) != width * height:
        raise Invalid("rle", f"the runs add up to {int(runs.sum())} pixels but the box has {width * height}")
    values = (np.arange(runs.size) % 2).astype(bool)
    crop = np.repeat(values, runs).reshape(height, width)
    return masks.paste(crop, (left, top, left + width, top + height), image.height, image.width)


def mask_runs(crop: npt.NDArray[np.bool_]) -> list[int]:
    """CVAT mask runs of a crop: row-major, alternating background/foreground, starting with background.

    >>> mask_runs(np.array([[True, False], [False, True]]))
    [0, 1, 2, 1]
    """
    flat = np.asarray(crop, dtype=bool).ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(edges).tolist()
    return [0, *runs] if flat.size and flat[0] else runs


def to_cvat_xml(
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    *,
    comments: Mapping[Any, str] | None = None,
    regions: Mapping[Any, Sequence[ReworkRegion]] | None = None,
) -> bytes:
    """A "CVAT for images 1.1" document: each segment as a ``<mask>`` of its tight box.

    ``comments`` (image id -> text, e.g. a reviewer's feedback) become a ``qc_rework``
    tag with a ``qc_feedback`` attribute on that image, so CVAT shows them on import;
    ``regions`` (image id -> objects sent back) ``<box>`` es with their note (:mod:`qc.formats._regions`).
    """
    table = image_table(images)
    grouped = group_segments(segments, table)
    labels = category_table(categories)
    notes = dict(comments or {})
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    _meta(root, labels, with_feedback=bool(notes))
    if regions:
        cvat_region_label(root.findall("meta/task/labels")[0])
    for index, (image_id, image) in enumerate(table.items()):
        frame = ET.SubElement(
            root,
            "image",
            {"id": str(index), "name": image.file_name, "width": str(image.width), "height": str(image.height)},
        )
        for segment in grouped[image_id]:
            _mask_element(frame, segment, labels)
        for region in (regions or {}).get(image_id, ()):
            cvat_region_box(frame, region, labels)
        if image_id in notes:
            tag = ET.SubElement(frame, "tag", {"label": REWORK_TAG, "source": "manual"})
            ET.SubElement(tag, "attribute", {"name": FEEDBACK_ATTRIBUTE}).text = notes[image_id]
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def write_cvat_xml(
    path: str | os.PathLike[str],
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    *,
    comments: Mapping[Any, str] | None = None,
    regions: Mapping[Any, Sequence[ReworkRegion]] | None = None,
) -> None:
    """Write :func:`to_cvat_xml` atomically to ``path``."""
    target = Path(path)
    temporary = temporary_beside(target)
    try:
        temporary.write_bytes(to_cvat_xml(images, segments, categories, comments=comments, regions=regions))
        os.replace(temporary, target)
    except OSError as exc:
        raise FormatError(f"cannot write the file ({exc.strerror}); check the folder", path=str(target)) from exc


def _meta(root: ET.Element, labels: Mapping[int, Category], *, with_feedback: bool) -> None:
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "name").text = "qc export"
    holder = ET.SubElement(task, "labels")
    for category in labels.values():
        label = ET.SubElement(holder, "label")
        ET.SubElement(label, "name").text = category.name
        ET.SubElement(label, "type").text = "mask"
        ET.SubElement(label, "attributes")
    if with_feedback:
        label = ET.SubElement(holder, "label")
        ET.SubElement(label, "name").text = REWORK_TAG
        ET.SubElement(label, "type").text = "tag"
        attribute = ET.SubElement(ET.SubElement(label, "attributes"), "attribute")
        for key, value in (("name", FEEDBACK_ATTRIBUTE), ("mutable", "True"), ("input_type", "text")):
            ET.SubElement(attribute, key).text = value


def _mask_element(frame: ET.Element, segment: Segment, labels: Mapping[int, Category]) -> None:
    region = segment.box
    if region is None:
        return
    category = labels.get(segment.category_id)
    if category is None:
        raise FormatError(
            f"segment {segment.id!r} has category {segment.category_id}, which is not among the categories to write",
            annotation_id=segment.id,
        )
    x0, y0, x1, y1 = region
    attributes = {
        "label": category.name,
        "source": "manual",
        "occluded": "0",
        "rle": ", ".join(map(str, mask_runs(segment.tight_mask))),
        "left": str(x0),
        "top": str(y0),
        "width": str(x1 - x0),
        "height": str(y1 - y0),
        "z_order": "0",
    }
    ET.SubElement(frame, "mask", attributes)


# --- COCO 1.0 --------------------------------------------------------------------------------------------


def read_cvat_coco(
    path: str | os.PathLike[str],
    *,
    categories: CategoriesArg = None,
    crowd: str = "instance",
    image_sizes: ImageSizes | None = None,
) -> ParsedAnnotations:
    """Read CVAT's "COCO 1.0" export; masks (``iscrowd: 1``) are instances unless ``crowd="crowd"``.

    Categories map to the project's classes by name when :class:`Category` objects are given;
    ``image_sizes`` works as in :func:`qc.formats.coco.read_instances`.
    """
    parsed = coco.read_instances(path, crowd=crowd, image_sizes=image_sizes)
    names = NameMap(categories, [c.name for c in parsed.categories.values()])
    if names.categories == parsed.categories:
        return _with_format(parsed, COCO_FORMAT, parsed.segments, parsed.rejections, names.categories)
    segments, rejections = [], list(parsed.rejections)
    for image_id, segment in parsed.segments:
        try:
            new_id = names.category_id(parsed.categories[segment.category_id].name)
            segments.append((image_id, Segment(segment.id, new_id, segment.rle, segment.iscrowd)))
        except Invalid as bad:
            rejections.append(Rejection(parsed.path, image_id, segment.id, "category_id", bad.message))
    return _with_format(parsed, COCO_FORMAT, segments, rejections, names.categories)


def _with_format(
    parsed: ParsedAnnotations,
    kind: str,
    segments: list[tuple[Any, Segment]],
    rejections: list[Rejection],
    categories: dict[int, Category],
) -> ParsedAnnotations:
    return ParsedAnnotations(parsed.path, kind, parsed.images, segments, rejections, categories, parsed.annotator)
