"""Guideline checks on one submission: the segments one annotator drew on one image.

Each check returns a list of :class:`Violation` (empty when the submission complies).
Masks are decoded only inside each segment's own box (:func:`qc.masks.crop`); two
segments are intersected only when their boxes meet, and the unlabeled-pixel count
comes from the RLE union (:func:`qc.masks.merge`), so the cost follows the size of
the objects, never the size of the image.

Rules, in the order :func:`check_submission` runs them:

============== ============================================================ ==================
rule           fires when                                                   measured / limit
============== ============================================================ ==================
unknown_class  the segment's class id is not in the guideline               class id / NaN
empty          the segment has no pixels                                    0 / 1
min_area       area < ``min_area``                                          area / min_area
max_parts      8-connected components > ``max_parts``                       parts / max_parts
holes          ``allow_holes: false`` and it encloses background of at      holes / 0
               least ``min_hole_area`` px (4-connected background)
sliver         area / perimeter < ``min_area_perimeter_ratio``; the         ratio / threshold
               perimeter is the crack length: pixel edges between the
               segment and the rest (image border included)
box_tolerance  a drawn box is given and pixels lie outside it grown by      pixels / 0
               ``box_tolerance`` (a pixel is inside when its centre is)
overlap        instance / panoptic: two segments share more pixels than     pixels / allowed
               ``overlap_allowance`` (instance: things only)
unlabeled      semantic / panoptic: the fraction of pixels no segment       fraction /
               covers exceeds ``void_allowance``                            void_allowance
============== ============================================================ ==================

A segment reported as ``unknown_class`` or ``empty`` is skipped by the later
per-segment rules (they would only repeat the finding).

>>> import numpy as np
>>> from qc import masks
>>> from qc.guideline import parse_guideline
>>> guideline = parse_guideline('''
... version: "1"
... task: instance
... classes: [{id: 1, name: coin, kind: thing, colour: "#d4a017", min_area: 5}]
... ''')
>>> tiny = np.zeros((6, 6), dtype=bool); tiny[1:3, 1:3] = True
>>> [v.rule.value for v in check_submission([Segment(7, 1, masks.encode(tiny))], height=6, width=6,
...                                        guideline=guideline)]
['min_area']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from qc import masks
from qc.core import ClassKind, Segment, Task
from qc.errors import QCError, ShapeMismatchError
from qc.guideline import ClassRule, Guideline
from qc.masks import Box

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "IMAGE_CLASS",
    "IMAGE_RULES",
    "Rule",
    "Violation",
    "check_box_tolerance",
    "check_empty",
    "check_holes",
    "check_max_parts",
    "check_min_area",
    "check_overlap",
    "check_sliver",
    "check_submission",
    "check_unknown_class",
    "check_unlabeled",
    "compliance_frame",
    "crack_perimeter",
    "summarise",
    "violation_records",
]


BoolArray = npt.NDArray[np.bool_]
XYWH = tuple[int, int, int, int]
DrawnBoxes = Mapping[Any, Sequence[float]]
"""Drawn boxes per segment id, COCO ``(x, y, w, h)`` in pixels."""

_EIGHT = np.ones((3, 3), dtype=bool)
_FOUR = ndimage.generate_binary_structure(2, 1)


class Rule(StrEnum):
    """The guideline rules, in the order :func:`check_submission` runs them."""

    UNKNOWN_CLASS = "unknown_class"
    EMPTY = "empty"
    MIN_AREA = "min_area"
    MAX_PARTS = "max_parts"
    HOLES = "holes"
    SLIVER = "sliver"
    BOX_TOLERANCE = "box_tolerance"
    OVERLAP = "overlap"
    UNLABELED = "unlabeled"


IMAGE_RULES = frozenset({Rule.UNLABELED})
"""Rules about the whole image (``segment_id`` is ``None``); every other rule is about a segment."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: which segment (``None`` for the image), where (COCO bbox), how bad.

    ``other_id`` names the second segment of an ``overlap``.
    """

    rule: Rule
    segment_id: Any
    bbox: XYWH
    measured: float
    limit: float
    message: str
    other_id: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "segment_id": self.segment_id,
            "other_id": self.other_id,
            "bbox": list(self.bbox),
            "measured": self.measured,
            "limit": self.limit,
            "message": self.message,
        }


@dataclass(frozen=True)
class _Item:
    """A segment prepared once for every check: its class rule, box and the crop inside the box."""

    segment: Segment
    rule: ClassRule | None
    box: Box | None
    area: int
    crop: BoolArray

    @property
    def xywh(self) -> XYWH:
        return _xywh(self.box)

    @cached_property
    def padded(self) -> BoolArray:
        """The crop with a 1-px frame of background, so the crop edge counts as outside."""
        padded = np.zeros((self.crop.shape[0] + 2, self.crop.shape[1] + 2), dtype=bool)
        padded[1:-1, 1:-1] = self.crop
        return padded

    @cached_property
    def parts(self) -> int:
        """8-connected components (labelling skipped when the columns show one piece)."""
        if _one_piece(self.crop):
            return 1
        return int(ndimage.label(self.crop, structure=_EIGHT)[1])


@dataclass(frozen=True)
class _Submission:
    items: list[_Item]
    height: int
    width: int
    guideline: Guideline
    boxes: DrawnBoxes | None


# --- public checks ---------------------------------------------------------------------------------------


def check_submission(
    segments: Sequence[Segment],
    *,
    height: int,
    width: int,
    guideline: Guideline,
    boxes: DrawnBoxes | None = None,
) -> list[Violation]:
    """Run every rule on one submission, in :class:`Rule` order; an empty list means it complies.

    ``boxes`` maps segment ids to the boxes the annotator drew, COCO ``(x, y, w, h)``;
    without it ``box_tolerance`` checks nothing. An empty submission yields no
    violation except ``unlabeled`` (semantic / panoptic). Raises
    :class:`~qc.errors.ShapeMismatchError` when a segment's size is not ``height`` x ``width``.
    """
    submission = _prepare(segments, height, width, guideline, boxes)
    found: list[Violation] = []
    for rule in Rule:
        found.extend(_CHECKS[rule](submission))
    return found


def check_unknown_class(
    segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline
) -> list[Violation]:
    """Segments whose class id the guideline does not define."""
    return _unknown_class(_prepare(segments, height, width, guideline, None))


def check_empty(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments without a pixel."""
    return _empty(_prepare(segments, height, width, guideline, None))


def check_min_area(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments smaller than their class's ``min_area`` (pixels)."""
    return _min_area(_prepare(segments, height, width, guideline, None))


def check_max_parts(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments with more 8-connected parts than their class's ``max_parts``."""
    return _max_parts(_prepare(segments, height, width, guideline, None))


def check_holes(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments of ``allow_holes: false`` classes enclosing background of at least ``min_hole_area`` px."""
    return _holes(_prepare(segments, height, width, guideline, None))


def check_sliver(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments whose area / crack perimeter is below their class's ``min_area_perimeter_ratio``."""
    return _sliver(_prepare(segments, height, width, guideline, None))


def check_box_tolerance(
    segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline, boxes: DrawnBoxes
) -> list[Violation]:
    """Segments with pixels outside their drawn box grown by the class's ``box_tolerance``."""
    return _box_tolerance(_prepare(segments, height, width, guideline, boxes))


def check_overlap(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Pairs of segments sharing more than ``overlap_allowance`` (instance: things only; semantic: none)."""
    return _overlap(_prepare(segments, height, width, guideline, None))


def check_unlabeled(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Semantic / panoptic: the unlabeled fraction of the image above ``void_allowance``."""
    return _unlabeled(_prepare(segments, height, width, guideline, None))


def crack_perimeter(mask: npt.ArrayLike) -> int:
    """Perimeter as the crack length: pixel edges between foreground and background, the border included.

    A single pixel has 4, a w x h rectangle 2(w + h); a hole's rim counts too.

    >>> crack_perimeter(np.ones((2, 3), dtype=bool)), crack_perimeter(np.zeros((2, 2), dtype=bool))
    (10, 0)
    """
    return _crack_length(np.pad(np.asarray(mask, dtype=bool), 1))


# --- rules ------------------------------------------------------------------------------------------------


def _unknown_class(sub: _Submission) -> list[Violation]:
    known = ", ".join(f"{rule.id} ({rule.name})" for rule in sub.guideline.classes)
    return [
        Violation(
            Rule.UNKNOWN_CLASS,
            item.segment.id,
            item.xywh,
            float(item.segment.category_id),
            math.nan,
            f"class id {item.segment.category_id} is not in guideline {sub.guideline.version}; use one of {known}",
        )
        for item in sub.items
        if item.rule is None
    ]


def _empty(sub: _Submission) -> list[Violation]:
    return [
        Violation(Rule.EMPTY, item.segment.id, (0, 0, 0, 0), 0.0, 1.0, "the segment has no pixels; redraw or delete it")
        for item in sub.items
        if item.rule is not None and item.area == 0
    ]


def _min_area(sub: _Submission) -> list[Violation]:
    return [
        Violation(
            Rule.MIN_AREA,
            item.segment.id,
            item.xywh,
            float(item.area),
            float(rule.min_area),
            f"{rule.name} covers {item.area} px; the guideline asks for at least {rule.min_area} px "
            "(leave out objects that small, or outline it fully)",
        )
        for item, rule in _live(sub)
        if item.area < rule.min_area
    ]


def _max_parts(sub: _Submission) -> list[Violation]:
    found: list[Violation] = []
    for item, rule in _live(sub):
        if rule.max_parts is None:
            continue
        parts = item.parts
        if parts > rule.max_parts:
            found.append(
                Violation(
                    Rule.MAX_PARTS,
                    item.segment.id,
                    item.xywh,
                    float(parts),
                    float(rule.max_parts),
                    f"{rule.name} has {parts} separate parts (8-connected); at most {rule.max_parts} allowed "
                    "(join the parts or split them into instances)",
                )
            )
    return found


def _holes(sub: _Submission) -> list[Violation]:
    found: list[Violation] = []
    for item, rule in _live(sub):
        if rule.allow_holes or item.box is None:
            continue
        if item.parts - _euler_number(item.padded) <= 0:
            continue  # Euler number = parts - holes: no hole at all, skip labeling the background
        holes = _hole_mask(item.padded, rule.min_hole_area)
        if holes is None:
            continue
        count, where, largest = holes
        found.append(
            Violation(
                Rule.HOLES,
                item.segment.id,
                _offset_xywh(where, item.box),
                float(count),
                0.0,
                f"{rule.name} encloses {count} hole(s) of at least {rule.min_hole_area} px (largest {largest} px); "
                "the guideline allows no holes: fill them",
            )
        )
    return found


def _sliver(sub: _Submission) -> list[Violation]:
    found: list[Violation] = []
    for item, rule in _live(sub):
        threshold = rule.min_area_perimeter_ratio
        if threshold <= 0:
            continue
        ratio = item.area / _crack_length(item.padded)
        if ratio < threshold:
            found.append(
                Violation(
                    Rule.SLIVER,
                    item.segment.id,
                    item.xywh,
                    ratio,
                    threshold,
                    f"{rule.name} is a sliver: area / perimeter = {ratio:.3g} px, below {threshold:g} px "
                    "(a thin strip; outline the object, not its edge)",
                )
            )
    return found


def _box_tolerance(sub: _Submission) -> list[Violation]:
    found: list[Violation] = []
    if not sub.boxes:
        return found
    for item, rule in _live(sub):
        drawn = sub.boxes.get(item.segment.id)
        if drawn is None or item.box is None:
            continue
        allowed = _allowed_region(drawn, rule.box_tolerance, item.segment.id)
        outside = item.crop.copy()
        x0, y0 = item.box[0], item.box[1]
        ax0, ay0 = max(allowed[0] - x0, 0), max(allowed[1] - y0, 0)
        ax1, ay1 = max(allowed[2] - x0, 0), max(allowed[3] - y0, 0)
        outside[ay0:ay1, ax0:ax1] = False
        count = int(np.count_nonzero(outside))
        if count:
            found.append(
                Violation(
                    Rule.BOX_TOLERANCE,
                    item.segment.id,
                    _offset_xywh(outside, item.box),
                    float(count),
                    0.0,
                    f"{rule.name} has {count} px outside its drawn box {tuple(drawn)} grown by "
                    f"{rule.box_tolerance} px; redraw the mask or the box",
                )
            )
    return found


def _overlap(sub: _Submission) -> list[Violation]:
    task = sub.guideline.task
    if task is Task.SEMANTIC:
        return []
    items = [
        item
        for item in sub.items
        if item.box is not None and (task is Task.PANOPTIC or item.rule is None or item.rule.kind is ClassKind.THING)
    ]
    found: list[Violation] = []
    for first, second, region in _meeting_pairs(items):
        shared = _sub_crop(first, region) & _sub_crop(second, region)
        pixels = int(np.count_nonzero(shared))
        limit = sub.guideline.thresholds.overlap_limit(min(first.area, second.area))
        if pixels > limit:
            found.append(
                Violation(
                    Rule.OVERLAP,
                    first.segment.id,
                    _offset_xywh(shared, region),
                    float(pixels),
                    limit,
                    f"segments {first.segment.id} and {second.segment.id} share {pixels} px; at most {limit:g} "
                    "allowed: a pixel belongs to one instance",
                    other_id=second.segment.id,
                )
            )
    return found


def _unlabeled(sub: _Submission) -> list[Violation]:
    if sub.guideline.task is Task.INSTANCE or sub.height * sub.width == 0:
        return []
    total = sub.height * sub.width
    drawn = [item.segment.rle for item in sub.items if item.area > 0]
    union = masks.merge(drawn) if drawn else masks.empty(sub.height, sub.width)
    unlabeled = total - masks.area(union)
    fraction = unlabeled / total
    allowance = sub.guideline.thresholds.void_allowance
    if fraction <= allowance:
        return []
    return [
        Violation(
            Rule.UNLABELED,
            None,
            _background_xywh(masks.runs(union), sub.height),
            fraction,
            allowance,
            f"{unlabeled} px ({fraction:.2%}) are labeled by no segment; at most {allowance:.2%} may stay void",
        )
    ]


_CHECKS: dict[Rule, Callable[[_Submission], list[Violation]]] = {
    Rule.UNKNOWN_CLASS: _unknown_class,
    Rule.EMPTY: _empty,
    Rule.MIN_AREA: _min_area,
    Rule.MAX_PARTS: _max_parts,
    Rule.HOLES: _holes,
    Rule.SLIVER: _sliver,
    Rule.BOX_TOLERANCE: _box_tolerance,
    Rule.OVERLAP: _overlap,
    Rule.UNLABELED: _unlabeled,
}


# --- geometry helpers -------------------------------------------------------------------------------------


def _prepare(
    segments: Sequence[Segment], height: int, width: int, guideline: Guideline, boxes: DrawnBoxes | None
) -> _Submission:
    items = []
    for segment in segments:
        size = masks.image_size(segment.rle)
        if size != (height, width):
            raise ShapeMismatchError(size, (height, width), annotation_id=segment.id)
        region = segment.box
        crop = segment.tight_mask
        rule = guideline.class_by_id(segment.category_id)
        items.append(_Item(segment, rule, region, int(np.count_nonzero(crop)), crop))
    return _Submission(items, height, width, guideline, boxes)


def _live(sub: _Submission) -> Iterable[tuple[_Item, ClassRule]]:
    """Segments with a known class and at least one pixel (the others are already reported)."""
    for item in sub.items:
        if item.rule is not None and item.area > 0:
            yield item, item.rule


def _one_piece(crop: BoolArray) -> bool:
    """True when a tight crop is surely one 8-connected piece: one run in every column, and the
    runs of neighbouring columns overlapping or touching diagonally. (False means: count them.)"""
    if crop.size == 0:
        return False
    starts = crop[0] + np.count_nonzero(crop[1:] & ~crop[:-1], axis=0)
    if not (starts == 1).all():
        return False
    height = crop.shape[0]
    tops = np.argmax(crop, axis=0)
    bottoms = height - np.argmax(crop[::-1], axis=0)  # exclusive
    return bool(((tops[1:] <= bottoms[:-1]) & (tops[:-1] <= bottoms[1:])).all())


def _crack_length(padded: BoolArray) -> int:
    """Pixel edges between foreground and background in a mask framed by background."""
    vertical = np.count_nonzero(padded[1:, :] != padded[:-1, :])
    horizontal = np.count_nonzero(padded[:, 1:] != padded[:, :-1])
    return int(vertical + horizontal)


def _euler_number(padded: BoolArray) -> int:
    """Euler number (8-connected parts minus 4-connected holes) from 2x2 quad counts (Gray 1971)."""
    q = padded.view(np.uint8)
    quad = q[:-1, :-1] + q[1:, :-1] + q[:-1, 1:] + q[1:, 1:]
    diagonal = (quad == 2) & (q[:-1, :-1] == q[1:, 1:])
    return int(np.count_nonzero(quad == 1) - np.count_nonzero(quad == 3) - 2 * np.count_nonzero(diagonal)) // 4


def _hole_mask(padded: BoolArray, min_hole_area: int) -> tuple[int, BoolArray, int] | None:
    """``(count, mask of the holes in crop coordinates, largest)`` for holes >= ``min_hole_area``, else None.

    ``padded`` is the crop framed by 1 px of background: background touching the crop edge
    joins the frame and is outside.
    """
    labels, count = ndimage.label(~padded, structure=_FOUR)
    if count <= 1:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    sizes[labels[0, 0]] = 0  # the outside, reached through the padding ring
    keep = np.flatnonzero(sizes >= min_hole_area)
    if keep.size == 0:
        return None
    where = np.isin(labels[1:-1, 1:-1], keep)
    return int(keep.size), where, int(sizes[keep].max())


def _allowed_region(drawn: Sequence[float], tolerance: int, segment_id: Any) -> Box:
    """Half-open pixel box of pixels whose centre lies in the drawn box grown by ``tolerance``."""
    values = [float(v) for v in drawn] if len(drawn) == 4 else []
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] < 0 or values[3] < 0:
        raise QCError(
            f"a drawn box must be (x, y, w, h) with finite numbers and w, h >= 0; got {tuple(drawn)!r}",
            annotation_id=segment_id,
            field="boxes",
        )
    x, y, w, h = values
    x0, y0 = math.ceil(x - tolerance - 0.5), math.ceil(y - tolerance - 0.5)
    x1, y1 = math.floor(x + w + tolerance - 0.5) + 1, math.floor(y + h + tolerance - 0.5) + 1
    return x0, y0, max(x0, x1), max(y0, y1)


def _meeting_pairs(items: Sequence[_Item]) -> Iterable[tuple[_Item, _Item, Box]]:
    """Pairs whose boxes intersect, with the intersection box (vectorised box test)."""
    if len(items) < 2:
        return
    boxes = np.array([item.box for item in items], dtype=np.int64)
    lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    meet = np.triu((hi > lo).all(axis=2), k=1)
    for i, j in zip(*np.nonzero(meet), strict=True):
        region = (int(lo[i, j, 0]), int(lo[i, j, 1]), int(hi[i, j, 0]), int(hi[i, j, 1]))
        yield items[i], items[j], region


def _sub_crop(item: _Item, region: Box) -> BoolArray:
    """The part of ``item.crop`` inside ``region`` (which lies within the item's box)."""
    x0, y0 = item.box[0] if item.box else 0, item.box[1] if item.box else 0
    return item.crop[region[1] - y0 : region[3] - y0, region[0] - x0 : region[2] - x0]


def _xywh(box: Box | None) -> XYWH:
    if box is None:
        return 0, 0, 0, 0
    return box[0], box[1], box[2] - box[0], box[3] - box[1]


def _offset_xywh(mask: BoolArray, origin: Box) -> XYWH:
    """COCO bbox, in image coordinates, of the True pixels of ``mask`` whose top-left sits at ``origin``."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0, 0, 0, 0
    return origin[0] + int(cols[0]), origin[1] + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def _background_xywh(run_lengths: npt.NDArray[np.int64], height: int) -> XYWH:
    """COCO bbox of the background runs of a column-major RLE, from run arithmetic alone."""
    ends = np.cumsum(run_lengths)
    starts = ends - run_lengths
    keep = run_lengths[0::2] > 0
    first, last = starts[0::2][keep], ends[0::2][keep] - 1
    if first.size == 0:
        return 0, 0, 0, 0
    col0, col1 = first // height, last // height
    one_column = col0 == col1
    row0 = np.where(one_column, first % height, 0).min()
    row1 = np.where(one_column, last % height, height - 1).max()
    x0, x1 = int(col0.min()), int(col1.max())
    return x0, int(row0), x1 - x0 + 1, int(row1 - row0 + 1)


# --- compliance summaries ---------------------------------------------------------------------------------


def violation_records(
    segments: Sequence[Segment],
    violations: Sequence[Violation],
    *,
    annotator: Any,
    image_id: Any,
    guideline: Guideline,
) -> list[dict[str, Any]]:
    """Records for :func:`compliance_frame`: one per segment, plus one ``class=None`` record for the image.

    Each record holds the violations about it; an ``overlap`` counts for its first segment.
    """
    by_segment: dict[Any, list[Violation]] = {segment.id: [] for segment in segments}
    image_level: list[Violation] = []
    for violation in violations:
        by_segment.get(violation.segment_id, image_level).append(violation)
    records = []
    for segment in segments:
        rule = guideline.class_by_id(segment.category_id)
        name = rule.name if rule is not None else f"unknown:{segment.category_id}"
        records.append(
            {"annotator": annotator, "image_id": image_id, "class": name, "violations": by_segment[segment.id]}
        )
    records.append({"annotator": annotator, "image_id": image_id, "class": None, "violations": image_level})
    return records


_FRAME_COLUMNS = ["record", "annotator", "image_id", "class", "rule", "violations"]
IMAGE_CLASS = "(image)"


def compliance_frame(rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> pd.DataFrame:
    """Long frame of checks: one row per (record, applicable rule) with the count of violations.

    A record is a mapping with keys ``annotator``, ``image_id``, ``class``, ``violations`` (or a
    4-tuple in that order): one segment (``class`` its name) or one image (``class`` None, shown
    as ``"(image)"``). Segment records get a row for every per-segment rule, image records for
    every image rule, so a rule's rate is counted over the records it applies to.
    Columns: ``record`` (input position), ``annotator``, ``image_id``, ``class``, ``rule``, ``violations``.
    """
    import pandas as pd  # only reports need pandas: keep `import qc.checks` light

    segment_rules = [rule for rule in Rule if rule not in IMAGE_RULES]
    image_rules = [rule for rule in Rule if rule in IMAGE_RULES]
    table: list[tuple[Any, ...]] = []
    for index, row in enumerate(rows):
        annotator, image_id, name, violations = _unpack(row, index)
        counts: dict[str, int] = {}
        for violation in violations:
            counts[Rule(violation.rule).value] = counts.get(Rule(violation.rule).value, 0) + 1
        applicable = image_rules if name is None else segment_rules
        label = IMAGE_CLASS if name is None else name
        table.extend((index, annotator, image_id, label, r.value, counts.get(r.value, 0)) for r in applicable)
    frame = pd.DataFrame(table, columns=_FRAME_COLUMNS)
    frame["violations"] = frame["violations"].astype("int64")
    return frame


def summarise(frame: pd.DataFrame, *, by: Sequence[str] = ("annotator", "rule")) -> pd.DataFrame:
    """Counts and rates per group of :func:`compliance_frame` rows.

    Columns: the ``by`` keys, ``items`` (records checked), ``flagged`` (records with at
    least one violation), ``violations`` (their total) and ``rate`` = flagged / items.
    Without ``rule`` in ``by``, a record is flagged when any rule flags it.
    """
    keys = list(by)
    unknown = [key for key in keys if key not in _FRAME_COLUMNS or key in ("record", "violations")]
    if unknown or not keys:
        raise QCError(
            f"summarise groups by columns of the compliance frame; got {keys}. "
            "Use some of: annotator, image_id, class, rule",
            field="by",
        )
    per_record = frame.groupby([*keys, "record"], sort=True, dropna=False)["violations"].sum().reset_index()
    per_record["flagged"] = per_record["violations"] > 0
    grouped = per_record.groupby(keys, sort=True, dropna=False)
    summary = grouped.agg(
        items=("record", "size"), flagged=("flagged", "sum"), violations=("violations", "sum")
    ).reset_index()
    summary["flagged"] = summary["flagged"].astype("int64")
    summary["rate"] = summary["flagged"] / summary["items"]
    return summary


def _unpack(row: Mapping[str, Any] | Sequence[Any], index: int) -> tuple[Any, Any, str | None, Sequence[Violation]]:
    try:
        if isinstance(row, Mapping):
            return row["annotator"], row["image_id"], row["class"], row["violations"]
        annotator, image_id, name, violations = row
        return annotator, image_id, name, violations
    except (KeyError, ValueError, TypeError) as exc:
        raise QCError(
            f"compliance record {index} must be a mapping with annotator, image_id, class, violations "
            f"(or a 4-tuple in that order); got {row!r}",
            field="rows",
        ) from exc
