"""What a delivery folder holds: each annotation file (or CVAT mask export folder) and the person its path names.

A delivery folder may hold (the README's "Limits and delivery folders" says the same):

- ``<annotator>.json`` / ``<annotator>.xml``: one annotator's file, the file name says whose;
- ``<annotator>/``: that annotator's ``.json`` / ``.xml`` files and CVAT "Segmentation mask 1.1"
  export folders (a folder with ``labelmap.txt``), or itself such an export folder;
- ``<anything>.json`` whose name is no annotator of the round: an export that names its
  annotators itself (Label Studio's ``completed_by``);
- hidden entries (``.name``), which are skipped.

Anything else is refused on its own, with the reason, and never blocks the other files: a
file of another kind, a folder that is none of the above, a symbolic link that leads outside
the delivery folder, a name that is not UTF-8 (shown with its bytes escaped).

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> for name in ("ana.json", "notes.txt", ".DS_Store"):
...     _ = (root / name).write_text("{}")
>>> (root / "ben").mkdir(); _ = (root / "ben" / "part1.xml").write_text("<annotations/>")
>>> [(d.named, d.display.removeprefix(str(root) + "/"), d.problem is None) for d in deliveries(root)]
[('ana', 'ana.json', True), ('ben', 'ben/part1.xml', True), (None, 'notes.txt', False)]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qc.errors import FormatError

__all__ = ["ANNOTATION_SUFFIXES", "Delivery", "deliveries", "printable_path"]

ANNOTATION_SUFFIXES = (".json", ".xml")
"""The annotation files a delivery folder is read for (a CVAT mask export is a folder)."""


@dataclass(frozen=True)
class Delivery:
    """One file or export folder of a delivery, the person its path names (``None``: none), or why it is refused.

    ``display`` is the path as text that can always be printed and stored (bytes that are not
    UTF-8 are shown escaped, e.g. ``caf\\xe9.json``).
    """

    path: Path
    display: str
    named: str | None
    problem: str | None = None
    field: str | None = None


def printable_path(path: Path | str) -> str:
    """The path as printable text: bytes that are not UTF-8 escaped as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def deliveries(target: Path) -> list[Delivery]:
    """The deliveries of a folder (see the module docstring), or of one file; sorted by name."""
    if not target.exists():
        raise FormatError(f"{printable_path(target)} does not exist; check the path", path=printable_path(target))
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
    if entry.suffix.lower() in ANNOTATION_SUFFIXES:
        return [Delivery(entry, display, owner or _stem(entry))]
    return [_refused(entry, "not an annotation file: qc reads .json and .xml files and CVAT mask export folders")]


def _refused(entry: Path, reason: str, field: str | None = None) -> Delivery:
    return Delivery(entry, printable_path(entry), None, reason, field)


def _stem(path: Path) -> str:
    return path.name.removesuffix(path.suffix) if path.is_file() else path.name
