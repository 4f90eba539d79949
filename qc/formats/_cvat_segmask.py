"""CVAT's "Segmentation mask 1.1" export: a folder of ``labelmap.txt`` and class / object PNGs.

Private to :mod:`qc.formats.cvat`, which lists :func:`read_cvat_segmask` among CVAT's readers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from qc.core import ImageInfo, Segment
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import CategoriesArg
from qc.formats._jsonio import Invalid, read_bytes
from qc.formats._names import NameMap
from qc.formats._png import LabelRuns, decode_png, rgb_ids
from qc.formats._shapes import ImageSizes

SEGMASK_FORMAT = "cvat-segmask"


def read_cvat_segmask(
    folder: str | os.PathLike[str],
    *,
    categories: CategoriesArg = None,
    image_suffix: str = ".jpg",
    image_sizes: ImageSizes | None = None,
) -> ParsedAnnotations:
    """Read a "Segmentation mask 1.1" export folder (``labelmap.txt``, class and object PNGs).

    Each object colour of ``SegmentationObject/<stem>.png`` becomes one instance whose
    class is the class colour under it (an object painted in two classes gives one
    segment per class); without object PNGs each class colour is one segment. Image
    ids are the stems; file names are ``stem + image_suffix`` (the export does not
    keep the image's extension), unless ``image_sizes`` (the project's images by file name)
    holds exactly one image of that stem: then its file name, and a PNG of another size is
    refused from its header, before it is decoded. Raises :class:`FormatError` when the
    folder has no ``labelmap.txt``.
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
    names_by_stem = _project_names(image_sizes or {})
    for png in sorted((root / "SegmentationClass").glob("*.png")):
        file_name = names_by_stem.get(png.stem, png.stem + image_suffix)
        expected = (image_sizes or {}).get(file_name)
        _segmask_image(parsed, (png, root / "SegmentationObject" / png.name), class_ids, file_name, expected)
    return parsed


def _project_names(sizes: Mapping[str, tuple[int, int]]) -> dict[str, str]:
    """Project file names by stem, for the stems that name exactly one image."""
    by_stem: dict[str, list[str]] = {}
    for name in sizes:
        by_stem.setdefault(PurePosixPath(name.replace("\\", "/")).stem, []).append(name)
    return {stem: names[0] for stem, names in by_stem.items() if len(names) == 1}


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
    parsed: ParsedAnnotations,
    pngs: tuple[Path, Path],
    class_ids: Mapping[int, int],
    file_name: str,
    expected: tuple[int, int] | None,
) -> None:
    class_png, object_png = pngs
    image_id = class_png.stem
    h, w = expected if expected is not None else (None, None)
    try:
        classes = rgb_ids(decode_png(read_bytes(class_png), modes={"RGB"}, height=h, width=w))
        h, w = classes.shape
        objects = (
            rgb_ids(decode_png(read_bytes(object_png), modes={"RGB"}, height=h, width=w))
            if object_png.is_file()
            else classes
        )
    except Invalid as bad:
        parsed.rejections.append(Rejection(str(class_png), image_id, None, bad.field, bad.message, file_name))
        return
    parsed.images[image_id] = ImageInfo(image_id, file_name, h, w)
    combined = objects.astype(np.int64) * (1 << 24) + classes
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
