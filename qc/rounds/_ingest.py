"""Ingest: every delivered file of a folder into a round's submissions, each file on its own.

Which files a folder holds, and which person each path names, is :mod:`qc.rounds._deliveries`.
Who delivered a file is decided by one rule:

- when the path names an annotator of the round (``dee.json``, ``dee/``), the file is theirs,
  and a file that says it was made by someone else (Label Studio's ``completed_by``) is refused,
  naming both names. A bare number there is Label Studio's user id, not a name: the path decides;
- when the path names nobody of the round (a whole-project export), the names the file gives
  decide, and each must be an annotator of the round: another's part is refused, the rest
  stored; a file that names nobody is refused;
- with ``model`` every part is that model's, who is created (role ``model``) and assigned the
  round's images the file covers.

Label PNGs (``<annotator>/<image stem>.png``) are read by the project's task: semantic PNGs hold
class ids or the round's guideline colours, instance PNGs instance ids with the classes from the
folder's ``classes.json`` (:mod:`qc.formats.png_delivery`). Each PNG is one file of its own; an
instance PNG's content is its pixels and its ``classes.json`` entry, so editing the entry of one
image re-delivers that image only. A ``classes.json`` beside semantic PNGs is refused (unused).

Names from files are checked (:func:`qc.store.api.check_person_name`) and ingest never creates a
person except a model. Each file is stored under its own savepoint: a refused file stores
nothing, is kept as one rejection row of the round, is listed in the result with its reason,
and the other files are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from qc.core import ImageInfo
from qc.errors import FormatError, InvalidOptionError, NotFoundError, QCError, SchemaOutdatedError, StoreError
from qc.formats._base import ParsedAnnotations
from qc.formats.detect import read_any
from qc.formats.png_delivery import ClassesFile, read_classes_file
from qc.rounds._deliveries import Delivery, deliveries
from qc.rounds._setup import ensure_annotators, round_guideline
from qc.store.api import add_assignments, check_person_name
from qc.store.ingest import IngestResult, check_round_open, file_savepoint, ingest_file, sha256_file
from qc.store.reports import project_task
from qc.store.rounds import annotator_ids, list_people, round_categories, round_images
from qc.store.submissions import record_refused_file

__all__ = ["FileIngest", "ingest_folder", "submission_files"]


@dataclass(frozen=True)
class FileIngest:
    """What one delivered file (one annotator's part of it) gave; ``refused`` says why nothing of it was stored.

    ``notes`` are the reader's rejections (where and why), at most :data:`MAX_NOTES` and a count of the rest.
    """

    annotator: str | None
    path: str
    format: str
    result: IngestResult
    reader_rejections: int
    refused: str | None = None
    field: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotator": self.annotator,
            "path": self.path,
            "format": self.format,
            "reader_rejections": self.reader_rejections,
            "refused": self.refused,
            "field": self.field,
            "notes": list(self.notes),
            **self.result.to_dict(),
        }


MAX_NOTES = 20
"""The most reader rejections of one file a :class:`FileIngest` spells out."""


class _Refused(QCError):
    """One file, or one annotator's part of it, cannot be stored; ``annotator_id`` is whose it would have been."""

    def __init__(self, message: str, *, field: str | None, annotator: str | None, annotator_id: int | None) -> None:
        self.annotator = annotator
        self.annotator_id = annotator_id
        super().__init__(message, field=field)


@dataclass(frozen=True)
class _Round:
    """What every file of one ingest is checked against: the round's annotators, classes and images."""

    round_id: int
    annotators: dict[str, int]
    categories: list[Any]
    images: list[ImageInfo]
    model: str | None
    task: str | None = None
    colours: dict[str, int] | None = None
    classes_files: dict[Path, ClassesFile | FormatError] = field(default_factory=dict)

    def classes_file(self, path: Path) -> ClassesFile:
        """The ``classes.json`` at ``path``, read once per ingest; its FormatError each time it is asked for."""
        if path not in self.classes_files:
            try:
                self.classes_files[path] = read_classes_file(path)
            except FormatError as error:
                self.classes_files[path] = error
        found = self.classes_files[path]
        if isinstance(found, FormatError):
            raise FormatError(found.message, path=found.path, field=found.field)
        return found

    def describe(self) -> str:
        names = sorted(self.annotators)
        return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") or "none yet"


def submission_files(folder: str | Path) -> list[tuple[str | None, Path]]:
    """``(annotator the path names, file)`` of each delivery of a folder that is not refused outright."""
    return [(d.named, d.path) for d in deliveries(Path(folder)) if d.problem is None]


def ingest_folder(session: Session, *, round_id: int, folder: str | Path, model: str | None = None) -> list[FileIngest]:
    """Ingest every delivered file of a folder (or one file) into a round, each on its own (module docstring).

    Returns one :class:`FileIngest` per annotator part stored and per file (or part) refused,
    in file name order. A closed or unknown round, or a database failure, raises.
    """
    round_row = check_round_open(session, round_id=round_id)
    if model is not None:
        check_person_name(model, field="model")
    context = _Round(
        round_id,
        _round_annotators(session, round_id),
        list(round_categories(session, round_id=round_id)),
        round_images(session, round_id=round_id),
        model,
        project_task(session, project_id=round_row.project_id),
        _guideline_colours(session, round_id),
    )
    out: list[FileIngest] = []
    for delivery in deliveries(Path(folder)):
        out += _one_delivery(session, context, delivery)
    return out


def _one_delivery(session: Session, context: _Round, delivery: Delivery) -> list[FileIngest]:
    if delivery.problem is not None:
        problem = _Refused(delivery.problem, field=delivery.field, annotator=None, annotator_id=None)
        return [_refuse(session, context, delivery, None, problem)]
    if delivery.kind == "classes":
        return _classes_delivery(session, context, delivery)
    digest: str | None = None
    try:
        with file_savepoint(session):
            digest = sha256_file(delivery.path)
            classes = None
            if delivery.classes is not None and context.task != "semantic":
                classes = context.classes_file(delivery.classes)
                digest = _with_entry(digest, classes, delivery.path)
            parts = read_any(
                delivery.path,
                categories=context.categories,
                images=context.images,
                task=context.task,
                colours=context.colours,
                png_classes=classes,
            )
            owners, refused = _owners(session, context, delivery, parts)
            stored = [_store(session, context, delivery, parsed, who, digest) for parsed, who in owners]
    except QCError as error:
        if type(error) in (StoreError, SchemaOutdatedError):
            raise
        return [_refuse(session, context, delivery, digest, error)]
    return stored + [_refuse(session, context, delivery, digest, error) for error in refused]


def _classes_delivery(session: Session, context: _Round, delivery: Delivery) -> list[FileIngest]:
    """A ``classes.json`` beside label PNGs: read with each instance PNG, refused beside semantic ones."""
    if context.task != "semantic":
        return []
    problem = _Refused(
        "a semantic label PNG holds class ids (or class colours) itself, so this classes.json is not read; "
        "remove it (it is only for instance PNGs)",
        field="file_name",
        annotator=delivery.named,
        annotator_id=context.annotators.get(delivery.named or ""),
    )
    try:
        digest: str | None = sha256_file(delivery.path)
    except FormatError:
        digest = None
    return [_refuse(session, context, delivery, digest, problem)]


def _with_entry(digest: str, classes: ClassesFile, png: Path) -> str:
    """An instance PNG's content hash: its bytes and its image's ``classes.json`` entry."""
    stem = png.name.removesuffix(png.suffix)
    return hashlib.sha256(f"{digest}\n{classes.entry_hash(stem)}".encode()).hexdigest()


def _guideline_colours(session: Session, round_id: int) -> dict[str, int] | None:
    """``'#rrggbb'`` -> class id of the round's guideline (a colour two classes share maps to neither)."""
    try:
        guideline = round_guideline(session, round_id=round_id)
    except NotFoundError:
        return None
    colours = [c.colour for c in guideline.classes]
    return {c.colour: c.id for c in guideline.classes if colours.count(c.colour) == 1}


def _owners(
    session: Session, context: _Round, delivery: Delivery, parts: list[ParsedAnnotations]
) -> tuple[list[tuple[ParsedAnnotations, tuple[str, int]]], list[_Refused]]:
    """Whose each part is (the module's rule); a whole-file refusal raises, a part's refusal is returned."""
    if context.model is not None:
        person = ensure_annotators(session, names=[context.model], role="model")[context.model]
        return [(parsed, (context.model, person)) for parsed in parts], []
    owner = delivery.named if delivery.named in context.annotators else None
    if owner is not None:
        for parsed in parts:
            _check_claim(context, delivery, parsed.annotator, owner)
        return [(_merged(parts), (owner, context.annotators[owner]))], []
    kept, refused = [], []
    for parsed in parts:
        try:
            kept.append((parsed, _claimed(context, delivery, parsed.annotator)))
        except _Refused as error:
            refused.append(error)
    return kept, refused


def _check_claim(context: _Round, delivery: Delivery, claim: str | None, owner: str) -> None:
    """A file delivered as ``owner``'s must not say it is someone else's (a bare user id says nothing)."""
    if claim is None or claim == owner or (claim.isdigit() and claim not in context.annotators):
        return
    raise _Refused(
        f"{delivery.display} is delivered as the work of {owner!r}, but its completed_by names {_shown(claim)}; "
        "nothing of it was stored. Deliver each annotator's work under their own name, "
        f"or export only the annotations of {owner!r}",
        field="completed_by",
        annotator=owner,
        annotator_id=context.annotators[owner],
    )


def _claimed(context: _Round, delivery: Delivery, claim: str | None) -> tuple[str, int]:
    """The annotator a file names itself, when the path names nobody of the round."""
    if claim is None:
        named = f"its name {_shown(delivery.named)} is" if delivery.named else "its name is"
        raise _Refused(
            f"{named} no annotator of round {context.round_id} ({context.describe()}) and the file does not say who "
            "made it; name the file <annotator>.json, or put it in a folder named after the annotator",
            field="file_name",
            annotator=None,
            annotator_id=None,
        )
    try:
        check_person_name(claim, field="completed_by")
    except InvalidOptionError as bad:
        raise _Refused(bad.message, field="completed_by", annotator=claim, annotator_id=None) from None
    if claim not in context.annotators:
        raise _Refused(
            f"the file names {_shown(claim)} (completed_by), who is no annotator of round {context.round_id} "
            f"({context.describe()}); their part was not stored. Assign them first, or deliver it under the right name",
            field="completed_by",
            annotator=claim,
            annotator_id=None,
        )
    return claim, context.annotators[claim]


def _store(
    session: Session,
    context: _Round,
    delivery: Delivery,
    parsed: ParsedAnnotations,
    who: tuple[str, int],
    digest: str,
) -> FileIngest:
    name, person = who
    if context.model is not None:
        _assign_model(session, context.round_id, person, parsed, context.images)
    result = ingest_file(
        session,
        round_id=context.round_id,
        annotator_id=person,
        parsed=parsed,
        content_hash=digest,
        source_path=delivery.display,
    )
    notes = [str(r) for r in parsed.rejections[:MAX_NOTES]]
    if len(parsed.rejections) > MAX_NOTES:
        notes.append(f"... and {len(parsed.rejections) - MAX_NOTES} more rejections (qc round status lists them)")
    return FileIngest(name, delivery.display, parsed.format, result, len(parsed.rejections), notes=tuple(notes))


def _refuse(session: Session, context: _Round, delivery: Delivery, digest: str | None, error: QCError) -> FileIngest:
    """Keep the refusal as a rejection row of the round (once) and say it in the result."""
    mine = isinstance(error, _Refused) and delivery.problem is None  # a part's refusal names the part's annotator
    shown = error.annotator if isinstance(error, _Refused) and mine else delivery.named
    owner = error.annotator_id if isinstance(error, _Refused) else context.annotators.get(delivery.named or "")
    record_refused_file(
        session,
        round_id=context.round_id,
        annotator_id=owner,
        source_path=delivery.display,
        source_hash=digest,
        field=error.field,
        message=error.message,
    )
    short = shown if shown is None or len(shown) <= 40 else shown[:40] + "..."
    empty = IngestResult(delivery.display, digest or "")
    return FileIngest(short, delivery.display, "refused", empty, 0, error.message, error.field)


def _merged(parts: list[ParsedAnnotations]) -> ParsedAnnotations:
    """The parts of one file that are one annotator's (their path names them) as one submission file."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    images = {key: info for part in parts for key, info in part.images.items()}
    segments = [pair for part in parts for pair in part.segments]
    rejections = [r for part in parts for r in part.rejections]
    return ParsedAnnotations(first.path, first.format, images, segments, rejections, first.categories)


def _round_annotators(session: Session, round_id: int) -> dict[str, int]:
    """The people assigned anything in the round, by name."""
    assigned = set(annotator_ids(session, round_id=round_id))
    return {p.name: p.id for p in list_people(session) if p.id in assigned}


def _shown(name: str | None) -> str:
    """A name as it may appear in a message: quoted, at most 40 characters."""
    text = name or ""
    return repr(text) if len(text) <= 40 else repr(text[:40]) + f"... ({len(text):,} characters)"


def _assign_model(
    session: Session, round_id: int, person: int, parsed: ParsedAnnotations, images: Sequence[ImageInfo]
) -> None:
    """Assign the model the round's images its file delivers (matched by file name)."""
    names = {i.file_name for i in parsed.images.values()}
    pairs = [(i.id, person) for i in images if i.file_name in names]
    add_assignments(session, round_id=round_id, pairs=pairs)
