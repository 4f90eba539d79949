"""Ingest: every annotator file of a delivery folder into a round's submissions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from qc.core import ImageInfo
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations
from qc.formats.detect import read_any
from qc.rounds._setup import ensure_annotators
from qc.store.api import add_assignments
from qc.store.ingest import IngestResult, ingest_file, sha256_file
from qc.store.rounds import round_categories, round_images

__all__ = ["FileIngest", "ingest_folder", "submission_files"]


@dataclass(frozen=True)
class FileIngest:
    annotator: str
    path: str
    format: str
    result: IngestResult
    reader_rejections: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotator": self.annotator,
            "path": self.path,
            "format": self.format,
            "reader_rejections": self.reader_rejections,
            **self.result.to_dict(),
        }


def submission_files(folder: str | Path) -> list[tuple[str, Path]]:
    """``(annotator, file)`` pairs of a delivery folder: ``<folder>/<annotator>.json`` or
    ``<folder>/<annotator>/*.json`` (the annotator is the file or folder name)."""
    root = Path(folder)
    if not root.is_dir():
        raise FormatError(f"submission folder {root} does not exist or is not a folder", path=str(root))
    out = [(p.stem, p) for p in sorted([*root.glob("*.json"), *root.glob("*.xml")])]
    out += [
        (d.name, p) for d in sorted(root.iterdir()) if d.is_dir() for p in sorted([*d.glob("*.json"), *d.glob("*.xml")])
    ]
    return out


def ingest_folder(session: Session, *, round_id: int, folder: str | Path, model: str | None = None) -> list[FileIngest]:
    """Ingest every annotator file of a delivery folder (or one file) into a round.

    Each file's format is detected (:func:`qc.formats.detect.read_any`); the annotator is
    the one the file names (Label Studio's ``completed_by``), else the file or folder name
    (see :func:`submission_files`). With ``model`` everything is the submission of that
    person with the role ``model``, who is assigned the round's images the file covers.
    """
    path = Path(folder)
    files = submission_files(path) if path.is_dir() else [(path.stem, path)]
    categories = round_categories(session, round_id=round_id)
    images = round_images(session, round_id=round_id)
    out = []
    for default, file in files:
        for parsed in read_any(file, categories=categories, images=images):
            annotator = model or parsed.annotator or default
            person = ensure_annotators(session, names=[annotator], role="model" if model else "annotator")[annotator]
            if model is not None:
                _assign_model(session, round_id, person, parsed, images)
            result = ingest_file(
                session,
                round_id=round_id,
                annotator_id=person,
                parsed=parsed,
                content_hash=sha256_file(file),
                source_path=str(file),
            )
            out.append(FileIngest(annotator, str(file), parsed.format, result, len(parsed.rejections)))
    return out


def _assign_model(
    session: Session, round_id: int, person: int, parsed: ParsedAnnotations, images: Sequence[ImageInfo]
) -> None:
    """Assign the model the round's images its file delivers (matched by file name)."""
    names = {i.file_name for i in parsed.images.values()}
    pairs = [(i.id, person) for i in images if i.file_name in names]
    add_assignments(session, round_id=round_id, pairs=pairs)
