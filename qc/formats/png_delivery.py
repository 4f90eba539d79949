"""Label PNGs delivered for a project's images: which image each is, which reader, and the instances' classes.

A delivered label PNG is named after its image: ``img0.png`` holds the labels of the project
image whose file name has the stem ``img0`` (``img0.jpg``, ``img0.png``, ...). The project's task
decides how it is read:

- ``semantic`` (format ``png_semantic``): a grayscale, bilevel or palette PNG holds a class id per
  pixel (0 is unlabelled, unless a class has id 0); an RGB PNG holds the guideline's class colours
  (black is unlabelled, unless a class is black). Unknown values and colours are refused with
  their pixel counts;
- ``instance`` / ``panoptic`` (format ``png_instance``): a grayscale, bilevel or palette PNG holds
  an instance id per pixel (0 is background), and a ``classes.json`` beside it maps, per image
  stem, each instance id to its class id or class name::

      {"img0": {"1": "coin", "2": 2}, "img1": {"1": "coin"}}

  An instance the PNG paints but the entry does not list, or whose class is no class of the
  project, is refused; the others are stored.

The PNG's size is checked from its header against the project image before any pixel is
decoded. A PNG that cannot be used whole (another size, an RGB instance PNG, not a PNG) gives one
rejection tied to its image; a PNG whose name is no image, or an instance PNG without its
classes, raises :class:`~qc.errors.FormatError` (the file is refused).

>>> import json, tempfile
>>> import numpy as np
>>> from PIL import Image
>>> folder = Path(tempfile.mkdtemp())
>>> ids = np.zeros((4, 4), np.uint8); ids[:2, :2] = 1; ids[3, :] = 2
>>> Image.fromarray(ids).save(folder / "img0.png")
>>> _ = (folder / "classes.json").write_text(json.dumps({"img0": {"1": "coin", "2": 7}}))
>>> project = [ImageInfo(10, "img0.jpg", 4, 4)]
>>> classes = read_classes_file(folder / "classes.json")
>>> parsed = read_delivered_png(folder / "img0.png", task="instance", images=project,
...                             categories=[Category(1, "coin")], classes=classes)
>>> parsed.format, [(i, s.id, s.category_id, s.area) for i, s in parsed.segments]
('png_instance', [(10, 1, 1, 4)])
>>> [(r.field, r.message[:40]) for r in parsed.rejections]
[('img0.2', "instance 2's class 7 is not one of the p")]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qc.core import Category, ImageInfo
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.formats._common import CategoriesArg
from qc.formats._jsonio import Invalid, check_keys_unique, describe, is_int, load_json
from qc.formats._names import NameMap
from qc.formats.masks_png import (
    INSTANCE_FORMAT,
    SEMANTIC_FORMAT,
    read_colour_png,
    read_instance_png,
    read_semantic_png,
)

__all__ = [
    "CLASSES_FILE",
    "PNG_SIGNATURE",
    "ClassesFile",
    "png_format",
    "read_classes_file",
    "read_delivered_png",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSES_FILE = "classes.json"
"""The file beside instance PNGs that maps each image stem's instance ids to classes."""

_MAX_INSTANCE_ID = 2**32 - 1  # a 32-bit grayscale PNG holds no larger value


@dataclass(frozen=True)
class ClassesFile:
    """A parsed ``classes.json``: per image stem, its entry (checked when its PNG is read)."""

    path: str
    entries: Mapping[str, Any]

    def entry_hash(self, stem: str) -> str:
        """A digest of one image's entry: an instance PNG's content is its pixels and this entry."""
        text = json.dumps(self.entries.get(stem), sort_keys=True, default=repr)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def png_format(task: str | None, path: str | os.PathLike[str]) -> str:
    """``png_semantic`` or ``png_instance`` for a label PNG of a project with ``task``; FormatError without one."""
    if task == "semantic":
        return SEMANTIC_FORMAT
    if task in ("instance", "panoptic"):
        return INSTANCE_FORMAT
    raise FormatError(
        "a label PNG is read by its project's task (semantic: class ids or colours; instance or panoptic: "
        "instance ids with classes.json); deliver it with `qc round ingest ROUND FOLDER`",
        path=os.fspath(path),
        field="task",
    )


def read_classes_file(path: str | os.PathLike[str]) -> ClassesFile:
    """The entries of a ``classes.json``; FormatError when it is not a JSON object (naming the problem)."""
    name = os.fspath(path)
    data, failure = load_json(path)
    if failure is not None:
        raise FormatError(f"{name} cannot be read: {failure.message}", path=name, field=CLASSES_FILE)
    if not isinstance(data, dict):
        raise FormatError(
            f'{name} must be an object of image stems, e.g. {{"img0": {{"1": "car"}}}}; got {describe(data)}',
            path=name,
            field=CLASSES_FILE,
        )
    return ClassesFile(name, data)  # load_json refused repeated top-level keys


def read_delivered_png(
    path: str | os.PathLike[str],
    *,
    task: str | None,
    images: Iterable[ImageInfo],
    categories: CategoriesArg = None,
    colours: Mapping[str, int] | None = None,
    classes: ClassesFile | None = None,
) -> ParsedAnnotations:
    """The labels of one delivered PNG for the project image it names (module docstring).

    ``images`` are the images it may be (e.g. the round's); ``categories`` the project's
    classes (without them every value is its own class); ``colours`` maps ``'#rrggbb'`` ->
    class id for RGB semantic PNGs; ``classes`` is the ``classes.json`` beside instance PNGs.
    """
    kind = png_format(task, path)
    image = _project_image(Path(path), list(images))
    known = NameMap(categories, []).categories
    extra: list[Rejection] = []
    if kind == SEMANTIC_FORMAT:
        parsed = _semantic(path, image, known, colours)
    else:
        parsed, extra = _instance(path, image, known, classes)
    return _as_project(parsed, image, extra)


# --- internals -------------------------------------------------------------------------------------------


def _project_image(path: Path, images: list[ImageInfo]) -> ImageInfo:
    stem = path.name.removesuffix(path.suffix)
    found = [i for i in images if _stem(i.file_name) == stem]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(repr(i.file_name) for i in found[:5])
        message = f"the name {stem!r} fits several images ({names}); qc cannot tell which this PNG labels"
        raise FormatError(message + "; give those images distinct names", path=str(path), field="file_name")
    example = ", ".join(repr(i.file_name) for i in images[:3]) + (", ..." if len(images) > 3 else "")
    raise FormatError(
        f"the name {stem!r} is no image of the round ({len(images)} images: {example or 'none'}); "
        "name each label PNG after its image's file name with .png (img0.jpg -> img0.png)",
        path=str(path),
        field="file_name",
    )


def _stem(file_name: str) -> str:
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name


def _semantic(
    path: str | os.PathLike[str], image: ImageInfo, known: Mapping[int, Category], colours: Mapping[str, int] | None
) -> ParsedAnnotations:
    size = {"image_id": image.id, "height": image.height, "width": image.width}
    if _colour_type(path) in (2, 6):  # RGB, RGBA: the guideline's colours
        if colours is None:
            message = "an RGB PNG is read by the guideline's class colours, and this round has none; save class ids"
            message += " as a grayscale PNG"
            return ParsedAnnotations(os.fspath(path), SEMANTIC_FORMAT, rejections=[_whole(path, image, message)])
        ignore = () if "#000000" in colours else ("#000000",)
        return read_colour_png(path, colours=colours, ignore=ignore, **size)
    ids = {i: i for i in known} if known else _Identity()  # without the project's classes: every value its own
    return read_semantic_png(path, classes=ids, ignore=() if 0 in known else (0,), **size)


class _Identity(dict[int, int]):
    """Every value but 0 (unlabelled) maps to itself (a semantic PNG read without the project's classes)."""

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and key != 0

    def __getitem__(self, key: int) -> int:
        return key


def _instance(
    path: str | os.PathLike[str], image: ImageInfo, known: Mapping[int, Category], classes: ClassesFile | None
) -> tuple[ParsedAnnotations, list[Rejection]]:
    stem = Path(path).name.removesuffix(Path(path).suffix)
    example = f'{{"{stem}": {{"1": "<class name or id>"}}}}'
    if classes is None:
        raise FormatError(
            f"an instance PNG needs its instances' classes: add {CLASSES_FILE} beside it, e.g. {example}",
            path=os.fspath(path),
            field=CLASSES_FILE,
        )
    if stem not in classes.entries:
        raise FormatError(
            f"{classes.path} has no entry {stem!r} for this PNG; add the classes of its instances, e.g. {example}",
            path=os.fspath(path),
            field=CLASSES_FILE,
        )
    mapping, refused = _instance_classes(classes, stem, image, known)
    size = {"image_id": image.id, "height": image.height, "width": image.width}
    parsed = read_instance_png(path, classes=mapping, ignore={i for i, _ in refused}, **size)
    return parsed, [r for _, r in refused]


def _instance_classes(
    classes: ClassesFile, stem: str, image: ImageInfo, known: Mapping[int, Category]
) -> tuple[dict[int, int], list[tuple[int, Rejection]]]:
    """``{instance id: class id}`` of the image's entry; each refused entry as ``(instance id, rejection)``."""
    entry = classes.entries[stem]
    if not isinstance(entry, dict):
        what = f"the entry {stem!r} of {classes.path}"
        message = f"{what} must be an object of instance id -> class; got {describe(entry)}"
        raise FormatError(message, path=classes.path, field=stem)
    try:
        check_keys_unique(entry)
    except Invalid as bad:
        message = f"the entry {stem!r} of {classes.path}: {bad.message}"
        raise FormatError(message, path=classes.path, field=f"{stem}.{bad.field}") from None
    names = NameMap(known or None, [])
    mapping: dict[int, int] = {}
    refused: list[tuple[int, Rejection]] = []
    for key, value in entry.items():
        try:
            instance = _instance_id(key)
            mapping[instance] = _class_id(value, instance, names, known)
        except Invalid as bad:
            where = f"{stem}.{key[:40]}"
            rejection = Rejection(classes.path, image.id, key[:40], where, bad.message, image.file_name)
            refused.append((_instance_id(key) if _is_instance_id(key) else -1, rejection))
    return mapping, refused


def _instance_id(key: str) -> int:
    if not _is_instance_id(key):
        raise Invalid(None, f"{key[:40]!r} is no instance id: keys are the PNG's pixel values 1 to {_MAX_INSTANCE_ID}")
    return int(key)


def _is_instance_id(key: str) -> bool:
    return key.isascii() and key.isdigit() and len(key) <= 10 and 1 <= int(key) <= _MAX_INSTANCE_ID


def _class_id(value: Any, instance: int, names: NameMap, known: Mapping[int, Category]) -> int:
    if isinstance(value, str):
        try:
            return names.category_id(value)
        except Invalid as bad:
            raise Invalid(None, f"instance {instance}'s {bad.message}") from None
    if is_int(value) and (not known or value in known):
        return int(value)
    listed = ", ".join(f"{c.id} {c.name!r}" for c in list(known.values())[:12])
    what = f"class {value}" if is_int(value) else f"class {describe(value)}"
    raise Invalid(None, f"instance {instance}'s {what} is not one of the project's classes ({listed}); fix the entry")


def _as_project(parsed: ParsedAnnotations, image: ImageInfo, extra: list[Rejection]) -> ParsedAnnotations:
    """The PNG's labels as the project image's: its file name and size, each rejection tied to it."""
    rejections = [
        r if r.file_name is not None else dataclasses.replace(r, file_name=image.file_name)
        for r in [*extra, *parsed.rejections]
    ]
    images = {image.id: image} if parsed.images else {}
    return ParsedAnnotations(parsed.path, parsed.format, images, parsed.segments, rejections)


def _whole(path: str | os.PathLike[str], image: ImageInfo, message: str) -> Rejection:
    return Rejection(os.fspath(path), image.id, None, "mode", message, image.file_name)


def _colour_type(path: str | os.PathLike[str]) -> int | None:
    """The PNG header's colour type (0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA); None when not a PNG."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(26)
    except OSError as exc:
        reason = exc.strerror or exc
        raise FormatError(f"cannot read the file ({reason}); check it is readable", path=os.fspath(path)) from exc
    if len(head) < 26 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return head[25]
