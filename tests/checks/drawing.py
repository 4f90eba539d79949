"""Tiny hand-drawn masks for the checks' tests.

Masks are drawn as text: ``#`` is foreground, ``.`` background; rows are y, columns x.
Bboxes are COCO ``(x, y, w, h)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qc import masks
from qc.checks import Violation
from qc.core import Segment
from qc.guideline import Guideline

__all__ = [
    "CORNER_PIXEL",
    "LEFT",
    "MIDDLE",
    "PIXEL",
    "EMPTY_4x4",
    "FULL_4x4",
    "art",
    "guideline",
    "seg",
    "summary",
]


def art(*rows: str) -> np.ndarray:
    return np.array([[char == "#" for char in row] for row in rows], dtype=bool)


def seg(segment_id: Any, drawing: np.ndarray, category_id: int = 1) -> Segment:
    return Segment(segment_id, category_id, masks.encode(drawing))


def guideline(task: str = "instance", overlap: float = 0, void: float = 0.0, **coin: Any) -> Guideline:
    """Classes: 1 coin (thing, rules from ``coin``), 2 background (stuff)."""
    return Guideline.model_validate(
        {
            "version": "t",
            "task": task,
            "classes": [
                {"id": 1, "name": "coin", "kind": "thing", "colour": "#d4a017", **coin},
                {"id": 2, "name": "background", "kind": "stuff", "colour": "#7f7f7f"},
            ],
            "thresholds": {"overlap_allowance": overlap, "void_allowance": void},
        }
    )


def summary(found: list[Violation]) -> list[tuple[Any, float, float, tuple[int, int, int, int]]]:
    return [(v.segment_id, v.measured, v.limit, v.bbox) for v in found]


EMPTY_4x4 = art("....", "....", "....", "....")
PIXEL = art("....", ".#..", "....", "....")
FULL_4x4 = art("####", "####", "####", "####")
CORNER_PIXEL = art("...#", "....", "....", "....")  # touches the image border
LEFT = art("##..", "##..", "....", "....")
MIDDLE = art(".##.", ".##.", "....", "....")  # shares x = 1, y 0..1 (2 px) with LEFT
