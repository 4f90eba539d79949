"""One exception hierarchy for qc.

Every error carries where it happened as attributes (``path``, ``image_id``,
``annotation_id``, ``field``) and a message that says what was expected, what
was found and how to fix it::

    QCError                         HTTP  exit
    ├── InvalidOptionError          400   1    an option outside its choices or range (option, expected, got)
    ├── InvalidMaskError            400   1    a mask, RLE or polygon that cannot be used
    │   └── ShapeMismatchError      400   1    two masks (or a mask and an image) of different sizes
    ├── FormatError                 400   1    a file that cannot be opened or parsed at all
    ├── GuidelineError              400   1    a guideline file that does not validate
    ├── StoreError                  503   1    the database refused or is not ready
    │   ├── SchemaOutdatedError     503   3    the database revision is behind the code
    │   ├── NotFoundError           404   1    a row that was asked for does not exist
    │   └── ConflictError           409   1    a concurrent change won (stale claim, duplicate)
    ├── PermissionDeniedError       403   1    a person acted outside their roles
    ├── RoutingError                400   1    a round cannot be planned as asked (duplicate ids, too few annotators)
    └── RemoteError                 502   1    an annotation tool's server refused or could not be reached (url, status)

Library code raises only these; anything else escaping is a bug. The two columns are the
one mapping of errors to HTTP statuses (the web page) and to exit codes (the command line):
each class carries them as :attr:`QCError.http_status` and :attr:`QCError.exit_code`.

>>> error = InvalidOptionError("format", ["coco", "cvat-xml"], "xml")
>>> str(error), error.http_status, error.exit_code
("field 'format': format must be one of coco, cvat-xml; got 'xml'", 400, 1)
>>> SchemaOutdatedError("run qc db upgrade").exit_code, NotFoundError("no round 9").http_status
(3, 404)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

__all__ = [
    "ConflictError",
    "FormatError",
    "GuidelineError",
    "InvalidMaskError",
    "InvalidOptionError",
    "NotFoundError",
    "PermissionDeniedError",
    "QCError",
    "RemoteError",
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

    http_status: ClassVar[int] = 400
    """The web page answers this status for the error."""
    exit_code: ClassVar[int] = 1
    """The command line exits with this code for the error."""

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


class InvalidOptionError(QCError):
    """An option (argument, command-line flag, form field, setting) whose value is not one it takes.

    ``expected`` is either the valid choices (listed in the message) or a phrase saying what
    is valid (``"a whole number >= 1"``); ``got`` is the value given.
    """

    def __init__(self, option: str, expected: Iterable[Any] | str, got: Any, *, hint: str = "", **where: Any) -> None:
        self.option = option
        self.expected = expected if isinstance(expected, str) else tuple(expected)
        self.got = got
        wanted = self.expected if isinstance(self.expected, str) else "one of " + ", ".join(map(str, self.expected))
        message = f"{option} must be {wanted}; got {got!r}" + (f". {hint}" if hint else "")
        where.setdefault("field", option)
        super().__init__(message, **where)

    @classmethod
    def check_count(cls, option: str, value: Any, minimum: int, expected: str | None = None) -> int:
        """``value`` when it is a whole number (not a bool) >= ``minimum``; else this error naming ``option``.

        >>> InvalidOptionError.check_count("workers", 2, 1)
        2
        >>> InvalidOptionError.check_count("workers", 0, 1)
        Traceback (most recent call last):
        qc.errors.InvalidOptionError: field 'workers': workers must be a whole number >= 1; got 0
        """
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise cls(option, expected or f"a whole number >= {minimum}", value)
        return value


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

    http_status = 503


class SchemaOutdatedError(StoreError):
    """The database schema revision is behind the code's."""

    exit_code = 3


class NotFoundError(StoreError):
    """A row that was asked for does not exist."""

    http_status = 404


class ConflictError(StoreError):
    """A concurrent change won: a stale claim, a decision on a changed item, a duplicate."""

    http_status = 409


class PermissionDeniedError(QCError):
    """A person acted outside their roles."""

    http_status = 403


class OwnWorkError(PermissionDeniedError):
    """A reviewer or lead asked to review (read the disputes of, decide) an image they annotated themselves."""

    title: ClassVar[str] = "You annotated this image"
    """The web page's heading for it (the error page shows the message under it)."""


class RoutingError(QCError):
    """A round cannot be planned as asked: duplicate or conflicting ids, bad annotators, an image decided too early."""


class RemoteError(QCError):
    """An annotation tool's server (Label Studio) refused a request or could not be reached.

    ``url`` is the server's address (never a token), ``status`` the HTTP status it answered
    (``None`` when it could not be reached).
    """

    http_status = 502

    def __init__(self, message: str, *, url: str, status: int | None = None, **where: Any) -> None:
        self.url = url
        self.status = status
        super().__init__(message, **where)
