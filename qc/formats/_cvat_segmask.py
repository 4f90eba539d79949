"""CVAT's "Segmentation mask 1.1" export: a folder of ``labelmap.txt`` and class / object PNGs.

Private to :mod:`qc.formats.cvat`, which lists :func:`read_cvat_segmask` among CVAT's readers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from qc.core import ImageInfo, Segment
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import CategoriesArg
from qc.formats._jsonio import Invalid, read_bytes
from qc.formats._names import NameMap
from qc.formats._png import LabelRuns, decode_png, rgb_ids

SEGMASK_FORMAT = "cvat-segmask"


def read_cvat_segmask(
    folder: str | os.PathLike[str], *, categories: CategoriesArg = None, image_suffix: str = ".jpg"
) -> ParsedAnnotations:
    """Read a "Segmentation mask 1.1" export folder (``labelmap.txt``, class and object PNGs).

    Each object colour of ``SegmentationObject/<stem>.png`` becomes one instance whose
    class is the class colour under it (an object painted in two classes gives one
    segment per class); without object PNGs each class colour is one segment. Image
    ids are the stems; file names are ``stem + image_suffix`` (the export does not
    keep the image's extension). Raises :class:`FormatError` when the folder has no
    ``labelmap.txt``.
    """
    root = Path(folder)
    colours = _labelmap(root / "labelmap.txt")
    names = NameMap(categories, [n for n, rgb in colours.items() if rgb != (0, 0, 0)])
    parsed = ParsedAnnotations(str(root), SEGMASK_FORMAT, categories=names.categories)
    class_ids: dict[int, int] = {}
    for label, (r, g, b) in colours.items():
        if (r, g, b) == (0, 0, 0):
            continue
        try:
            class_ids[r + 256 * g + 65536 * b] = names.category_id(label)
        except Invalid as bad:
            parsed.rejections.append(Rejection(str(root / "labelmap.txt"), None, None, "label", bad.message))
    for png in sorted((root / "SegmentationClass").glob("*.png")):
        _segmask_image(parsed, png, root / "SegmentationObject" / png.name, class_ids, image_suffix)
    return parsed


def _labelmap(path: Path) -> dict[str, tuple[int, int, int]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        message = f"cannot read labelmap.txt ({exc.strerror}); is this a CVAT mask export?"
        raise FormatError(message, path=str(path)) from exc
    out: dict[str, tuple[int, int, int]] = {}
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        try:
            r, g, b = (int(v) for v in rest.split(":")[0].split(","))
        except ValueError:
            raise FormatError(f"labelmap line {line!r} must be name:R,G,B::", path=str(path), field="color") from None
        out[name] = (r, g, b)
    return out


def _segmask_image(
    parsed: ParsedAnnotations, class_png: Path, object_png: Path, class_ids: Mapping[int, int], suffix: str
) -> None:
    image_id = class_png.stem
    try:
        classes = rgb_ids(decode_png(read_bytes(class_png), modes={"RGB"}))
        h, w = classes.shape
        objects = (
            rgb_ids(decode_png(read_bytes(object_png), modes={"RGB"}, height=h, width=w))
            if object_png.is_file()
            else classes
        )
    except Invalid as bad:
        parsed.rejections.append(Rejection(str(class_png), image_id, None, bad.field, bad.message))
        return
    parsed.images[image_id] = ImageInfo(image_id, image_id + suffix, h, w)
    combined = objects * (1 << 24) + classes
    runs = LabelRuns(combined)
    for key, count in sorted(runs.counts.items()):
        obj, colour = divmod(key, 1 << 24)
        if obj == 0 or colour == 0:
            continue
        if colour not in class_ids:
            message = f"{count} pixels have class colour {colour:06x}, which labelmap.txt does not list"
            parsed.rejections.append(Rejection(str(class_png), image_id, obj, "pixels", message))
            continue
        parsed.segments.append((image_id, Segment(len(parsed.segments) + 1, class_ids[colour], runs.rle(key))))
