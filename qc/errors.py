"""One exception hierarchy for qc.

Every error carries where it happened as attributes (``path``, ``image_id``,
``annotation_id``, ``field``) and a message that says what was expected, what
was found and how to fix it::

    QCError
    ├── InvalidMaskError        a mask, RLE or polygon that cannot be used
    │   └── ShapeMismatchError  two masks (or a mask and an image) of different sizes
    ├── FormatError             a file that cannot be opened or parsed at all
    ├── GuidelineError          a guideline file that does not validate
    ├── StoreError              the database refused or is not ready
    │   ├── SchemaOutdatedError the database revision is behind the code
    │   ├── NotFoundError       a row that was asked for does not exist
    │   └── ConflictError       a concurrent change won (stale claim, duplicate)
    ├── PermissionDeniedError   a person acted outside their roles
    └── RoutingError            a round cannot be planned as asked (bad k, rate, annotators)

Library code raises only these; anything else escaping is a bug.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConflictError",
    "FormatError",
    "GuidelineError",
    "InvalidMaskError",
    "NotFoundError",
    "PermissionDeniedError",
    "QCError",
    "RoutingError",
    "SchemaOutdatedError",
    "ShapeMismatchError",
    "StoreError",
    "place",
]


def place(path: str | None, image_id: Any, annotation_id: Any, field: str | None) -> str:
    """``file a.json, image 3, annotation 7, field 'counts'``, leaving out the parts that are ``None``."""
    parts = []
    if path is not None:
        parts.append(f"file {path}")
    if image_id is not None:
        parts.append(f"image {image_id}")
    if annotation_id is not None:
        parts.append(f"annotation {annotation_id}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)


class QCError(Exception):
    """Base of every qc error; carries the place where it happened."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        image_id: Any = None,
        annotation_id: Any = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.image_id = image_id
        self.annotation_id = annotation_id
        self.field = field
        super().__init__(self._render())

    def where(self) -> str:
        """The place as one short phrase, e.g. ``file a.json, image 3, annotation 7, field 'counts'``."""
        return place(self.path, self.image_id, self.annotation_id, self.field)

    def _render(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class InvalidMaskError(QCError):
    """A mask, RLE or polygon that cannot be decoded or used."""


class ShapeMismatchError(InvalidMaskError):
    """Two masks that must share an image size do not."""

    def __init__(self, shape_a: tuple[int, ...], shape_b: tuple[int, ...], **where: Any) -> None:
        self.shape_a = tuple(shape_a)
        self.shape_b = tuple(shape_b)
        super().__init__(
            f"masks must have the same (height, width); got {self.shape_a} and {self.shape_b}. "
            "Compare masks of the same image, or resize/re-encode one of them.",
            **where,
        )


class FormatError(QCError):
    """A file that cannot be opened or parsed at all."""


class GuidelineError(QCError):
    """A guideline file that does not validate."""


class StoreError(QCError):
    """The database refused an operation or is not ready."""


class SchemaOutdatedError(StoreError):
    """The database schema revision is behind the code's."""


class NotFoundError(StoreError):
    """A row that was asked for does not exist."""


class ConflictError(StoreError):
    """A concurrent change won: a stale claim, a decision on a changed item, a duplicate."""


class PermissionDeniedError(QCError):
    """A person acted outside their roles."""


class RoutingError(QCError):
    """A round cannot be planned as asked: invalid k, gold rate, annotators or escalation settings."""
