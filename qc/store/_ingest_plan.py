"""Planning an ingest: which of a file's segments go to which assignment, and what is rejected (no SQL).

:func:`plan_file` groups a parsed file's segments by the annotator's assignment (matched by image
file name) and turns everything that cannot go anywhere into a rejection with its reason:
an image not assigned to the annotator, an image whose size differs from the project's, an
image listed twice, a mask of another size than its image, an annotation of an unlisted
image, and the reader's own rejections. :mod:`qc.store.ingest` stores the plan.

Each rejection is tied to the annotator's assignment (and so to the project's image) when it
can be: an annotation or image of an assigned file name, or an image the reader refused whole
but named (:attr:`qc.formats.Rejection.file_name`). What an assignment lost is listed in
:attr:`Plan.lost`: its submission is stored but incomplete. A rejection that names no image (a
bad ``categories`` entry, an XML file cut short after its last complete image) is stored for
the annotator but leaves the images the file did deliver complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qc.core import Segment

if TYPE_CHECKING:  # the readers (PIL, XML, PNG) are not needed to store what they parsed
    from qc.formats._base import ParsedAnnotations

__all__ = ["Plan", "Target", "plan_file"]


@dataclass(frozen=True)
class Target:
    """One assignment of the annotator: its image's file name and size."""

    assignment_id: int
    image_id: int
    file_name: str
    height: int
    width: int


@dataclass
class Plan:
    """Segments per assignment id, and the rejection rows (columns of ``rejection`` plus ``assignment_id``).

    ``lost`` maps each assignment id of ``groups`` to what its image lost: the sorted lines
    (annotation, field, message) of the rejections tied to it; empty when it is complete.
    """

    groups: dict[int, list[Segment]] = field(default_factory=dict)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    lost: dict[int, tuple[str, ...]] = field(default_factory=dict)


_NOT_ASSIGNED = (
    "image {name!r} is not assigned to this annotator in round {round_id}; its annotations were not stored. "
    "Deliver only the images assigned to you, or ask the lead to assign this one"
)
_WRONG_SIZE = (
    "image {name!r} is {found} (h x w) in the file but {target.height}x{target.width} in the project; "
    "its annotations were not stored. Export them at the original image size"
)
_TWICE = (
    "image {name!r} appears twice among the file's images (ids {first!r} and {second!r}); only the first "
    "was stored. Merge them under one image id"
)
_MASK_SIZE = (
    "the mask is {found} (h x w) but image {target.file_name!r} is {target.height}x{target.width}; "
    "encode the mask at the image size"
)
_NO_IMAGE = (
    "the annotation refers to image id {ref!r}, which the file's images do not list; "
    "add the image entry or fix the annotation's image_id"
)


def plan_file(parsed: ParsedAnnotations, targets: dict[str, Target], *, round_id: int) -> Plan:
    """Group the file's segments per assignment; everything that cannot go anywhere becomes a rejection row."""
    out = Plan()
    image_target: dict[Any, Target] = {}
    problem: dict[Any, tuple[str, str, Target | None]] = {}
    claimed: dict[int, Any] = {}
    for ref, info in parsed.images.items():
        target = targets.get(info.file_name)
        if target is None:
            problem[ref] = ("image_id", _NOT_ASSIGNED.format(name=info.file_name, round_id=round_id), None)
        elif (info.height, info.width) != (target.height, target.width):
            found = f"{info.height}x{info.width}"
            problem[ref] = ("height", _WRONG_SIZE.format(name=info.file_name, found=found, target=target), target)
            out.rejections.append(_rejection(parsed.path, ref, None, *problem[ref][:2], target=target))
        elif target.assignment_id in claimed:
            first = claimed[target.assignment_id]
            problem[ref] = ("file_name", _TWICE.format(name=info.file_name, first=first, second=ref), target)
            out.rejections.append(_rejection(parsed.path, ref, None, *problem[ref][:2], target=target))
        else:
            claimed[target.assignment_id] = ref
            image_target[ref] = target
            out.groups[target.assignment_id] = []
    for ref, segment in parsed.segments:
        _place(out, parsed.path, ref, segment, image_target.get(ref), problem.get(ref))
    refused = {r.image_id: targets.get(r.file_name) for r in parsed.rejections if r.file_name is not None}
    for rejection in parsed.rejections:
        target = image_target.get(rejection.image_id) or refused.get(rejection.image_id)
        where = (rejection.path, rejection.image_id, rejection.annotation_id, rejection.field)
        out.rejections.append(_rejection(*where, rejection.message, target=target))
    out.lost = _lost(out)
    return out


def _lost(plan: Plan) -> dict[int, tuple[str, ...]]:
    """Per delivered assignment, the sorted lines (annotation, field, message) of the rejections tied to it."""
    lines: dict[int, list[str]] = {assignment_id: [] for assignment_id in plan.groups}
    for row in plan.rejections:
        if row["assignment_id"] in lines:
            lines[row["assignment_id"]].append(f"{row['annotation_ref']}\t{row['field']}\t{row['message']}")
    return {assignment_id: tuple(sorted(found)) for assignment_id, found in lines.items()}


def _place(
    into: Plan,
    path: str,
    ref: Any,
    segment: Segment,
    target: Target | None,
    problem: tuple[str, str, Target | None] | None,
) -> None:
    if target is None:
        field_, message, owner = problem or ("image_id", _NO_IMAGE.format(ref=ref), None)
        into.rejections.append(_rejection(path, ref, segment.id, field_, message, target=owner))
        return
    from qc import masks  # numpy and pycocotools: loaded by ingestion, not by the store's readers

    height, width = masks.image_size(segment.rle)
    if (height, width) != (target.height, target.width):
        message = _MASK_SIZE.format(found=f"{height}x{width}", target=target)
        into.rejections.append(_rejection(path, ref, segment.id, "segmentation", message, target=target))
        return
    into.groups[target.assignment_id].append(segment)


def _rejection(
    path: str, image_ref: Any, annotation_ref: Any, field_: str | None, message: str, *, target: Target | None = None
) -> dict[str, Any]:
    return {
        "file_path": path,
        "image_ref": None if image_ref is None else str(image_ref),
        "annotation_ref": None if annotation_ref is None else str(annotation_ref),
        "field": field_,
        "message": message,
        "assignment_id": None if target is None else target.assignment_id,
        "image_id": None if target is None else target.image_id,
    }
