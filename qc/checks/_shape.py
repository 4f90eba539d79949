"""Shape rules: ``max_parts`` (8-connected parts), ``holes`` (enclosed background), ``sliver``
(area over crack perimeter)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from qc.checks._base import BoolArray, Rule, Violation, _live, _offset_xywh, _prepare, _Submission
from qc.core import Segment
from qc.guideline import Guideline

__all__ = ["check_holes", "check_max_parts", "check_sliver", "crack_perimeter"]

_FOUR = ndimage.generate_binary_structure(2, 1)


def check_max_parts(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments with more 8-connected parts than their class's ``max_parts``."""
    return _max_parts(_prepare(segments, height, width, guideline, None))


def check_holes(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments of ``allow_holes: false`` classes enclosing background of at least ``min_hole_area`` px."""
    return _holes(_prepare(segments, height, width, guideline, None))


def check_sliver(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments whose area / crack perimeter is below their class's ``min_area_perimeter_ratio``."""
    return _sliver(_prepare(segments, height, width, guideline, None))


def crack_perimeter(mask: npt.ArrayLike) -> int:
    """Perimeter as the crack length: pixel edges between foreground and background, the border included.

    A single pixel has 4, a w x h rectangle 2(w + h); a hole's rim counts too.

    >>> crack_perimeter(np.ones((2, 3), dtype=bool)), crack_perimeter(np.zeros((2, 2), dtype=bool))
    (10, 0)
    """
    return _crack_length(np.pad(np.asarray(mask, dtype=bool), 1))


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
