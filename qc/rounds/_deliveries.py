"""What a delivery folder holds: each annotation file (or CVAT mask export folder) and the person its path names.

A delivery folder may hold (the README's "Limits and delivery folders" says the same):

- ``<annotator>.json`` / ``<annotator>.xml``: one annotator's file, the file name says whose;
- ``<annotator>/``: that annotator's ``.json`` / ``.xml`` files and CVAT "Segmentation mask 1.1"
  export folders (a folder with ``labelmap.txt``), or itself such an export folder;
- ``<annotator>/<image stem>.png``: a label PNG of one image (``img0.png`` labels ``img0.jpg``),
  read by the project's task (:mod:`qc.formats.png_delivery`): semantic, a class id per pixel or
  the guideline's class colours (RGB); instance or panoptic, an instance id per pixel, with the
  classes of each image's instances in ``<annotator>/classes.json`` (``{"img0": {"1": "coin"}}``).
  In a folder that holds PNGs, ``classes.json`` is that file and no annotation file;
- ``<anything>.json`` whose name is no annotator of the round: an export that names its
  annotators itself (Label Studio's ``completed_by``);
- hidden entries (``.name``), which are skipped.

Anything else is refused on its own, with the reason, and never blocks the other files: a
file of another kind, a folder that is none of the above, a symbolic link that leads outside
the delivery folder, a name that is not UTF-8 (shown with its bytes escaped), a PNG outside an
annotator's folder (its name is its image, so the folder must say whose it is).

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> for name in ("ana.json", "notes.txt", ".DS_Store", "img9.png"):
...     _ = (root / name).write_text("{}")
>>> (root / "ben").mkdir(); _ = (root / "ben" / "part1.xml").write_text("<annotations/>")
>>> (root / "cy").mkdir()
>>> for name in ("img0.png", "img1.png", "classes.json"):
...     _ = (root / "cy" / name).write_text("{}")
>>> [(d.named, d.display.removeprefix(str(root) + "/"), d.kind, d.problem is None) for d in deliveries(root)]
... # doctest: +NORMALIZE_WHITESPACE
[('ana', 'ana.json', 'file', True), ('ben', 'ben/part1.xml', 'file', True),
 ('cy', 'cy/classes.json', 'classes', True), ('cy', 'cy/img0.png', 'png', True), ('cy', 'cy/img1.png', 'png', True),
 (None, 'img9.png', 'file', False), (None, 'notes.txt', 'file', False)]
>>> [d.classes.name for d in deliveries(root) if d.kind == "png"]
['classes.json', 'classes.json']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qc.errors import FormatError

__all__ = ["ANNOTATION_SUFFIXES", "CLASSES_FILE", "Delivery", "deliveries", "printable_path"]

ANNOTATION_SUFFIXES = (".json", ".xml")
"""The annotation files a delivery folder is read for (a CVAT mask export is a folder; label PNGs: see above)."""

CLASSES_FILE = "classes.json"
"""In an annotator's folder that holds label PNGs: the classes of each image's instances."""


@dataclass(frozen=True)
class Delivery:
    """One file or export folder of a delivery, the person its path names (``None``: none), or why it is refused.

    ``display`` is the path as text that can always be printed and stored (bytes that are not
    UTF-8 are shown escaped, e.g. ``caf\\xe9.json``). ``kind`` is ``file`` (an annotation file or
    CVAT export), ``png`` (a label PNG; ``classes`` is the ``classes.json`` beside it, if any) or
    ``classes`` (that ``classes.json``, read with the PNGs).
    """

    path: Path
    display: str
    named: str | None
    problem: str | None = None
    field: str | None = None
    kind: str = "file"
    classes: Path | None = None


def printable_path(path: Path | str) -> str:
    """The path as printable text: bytes that are not UTF-8 escaped as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def deliveries(target: Path) -> list[Delivery]:
    """The deliveries of a folder (see the module docstring), or of one file; sorted by name."""
    if not target.exists():
        raise FormatError(f"{printable_path(target)} does not exist; check the path", path=printable_path(target))
    if target.is_file() and target.suffix.lower() == ".png":
        return [_refused(target, _PNG_ALONE, "file_name")]
    if not target.is_dir() or (target / "labelmap.txt").is_file():
        return [Delivery(target, printable_path(target), _stem(target))]
    root = target.resolve()
    return sorted(
        (found for entry in target.iterdir() for found in _entry(entry, root, owner=None)), key=lambda d: d.display
    )


def _entry(entry: Path, root: Path, *, owner: str | None) -> list[Delivery]:
    name, display = entry.name, printable_path(entry)
    if name.startswith("."):
        return []
    if name != name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"):
        return [_refused(entry, "the name is not UTF-8 text; rename it (e.g. to the annotator's name)", "file_name")]
    if entry.is_symlink() and root not in entry.resolve().parents:
        return [_refused(entry, "a symbolic link leading outside the delivery folder; copy the file in instead")]
    if entry.is_dir():
        if (entry / "labelmap.txt").is_file():
            return [Delivery(entry, display, owner or name)]
        if owner is None:
            inside = [found for child in entry.iterdir() for found in _entry(child, root, owner=name)]
            return inside or [_refused(entry, "an empty folder: put the annotator's files in it, or remove it")]
        return [_refused(entry, "a folder in an annotator's folder must be a CVAT mask export (with labelmap.txt)")]
    if entry.suffix.lower() == ".png":
        if owner is None:
            return [_refused(entry, _PNG_ALONE, "file_name")]
        classes = entry.parent / CLASSES_FILE
        usable = classes.is_file() and not (classes.is_symlink() and root not in classes.resolve().parents)
        return [Delivery(entry, display, owner, kind="png", classes=classes if usable else None)]
    if owner is not None and name == CLASSES_FILE and _holds_png(entry.parent):
        return [Delivery(entry, display, owner, kind="classes")]
    if entry.suffix.lower() in ANNOTATION_SUFFIXES:
        return [Delivery(entry, display, owner or _stem(entry))]
    return [
        _refused(
            entry,
            "not an annotation file: qc reads .json and .xml files, CVAT mask export folders and label PNGs "
            "(<annotator>/<image stem>.png)",
        )
    ]


_PNG_ALONE = (
    "a label PNG is named after its image, so it must lie in its annotator's folder: "
    "<delivery folder>/<annotator>/<image stem>.png; move it there"
)


def _holds_png(folder: Path) -> bool:
    return any(child.suffix.lower() == ".png" and not child.name.startswith(".") for child in folder.iterdir())


def _refused(entry: Path, reason: str, field: str | None = None) -> Delivery:
    return Delivery(entry, printable_path(entry), None, reason, field)


def _stem(path: Path) -> str:
    return path.name.removesuffix(path.suffix) if path.is_file() else path.name
