"""What every reader returns: what it parsed, plus one :class:`Rejection` per refused item.

:class:`~qc.core.Category` and :class:`~qc.core.ImageInfo` live in :mod:`qc.core`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qc.core import Category, ImageInfo, Segment
from qc.errors import place


@dataclass(frozen=True)
class Rejection:
    """One refused item: where it is (file, image id, annotation id, field) and why, with the fix.

    ``file_name`` is the refused image's file name when the reader knew it (an image refused
    whole, e.g. declared at another size), so the ingest can tie the rejection to the
    project's image and the annotator's assignment.
    """

    path: str
    image_id: Any
    annotation_id: Any
    field: str | None
    message: str
    file_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "image_id": self.image_id,
            "annotation_id": self.annotation_id,
            "field": self.field,
            "message": self.message,
            "file_name": self.file_name,
        }

    def __str__(self) -> str:
        return f"{place(self.path, self.image_id, self.annotation_id, self.field)}: {self.message}"


@dataclass(frozen=True)
class ParsedAnnotations:
    """What a reader parsed from one file.

    ``images`` maps image id to :class:`ImageInfo`; ``segments`` is a list of
    ``(image_id, Segment)`` with ``Segment.id`` the annotation id; ``rejections`` lists
    everything refused, each naming its place. ``annotator`` is set when the file says
    who made it (e.g. Label Studio's ``completed_by``).
    """

    path: str
    format: str
    images: dict[Any, ImageInfo] = field(default_factory=dict)
    segments: list[tuple[Any, Segment]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    categories: dict[int, Category] = field(default_factory=dict)
    annotator: str | None = None
