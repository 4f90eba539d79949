"""The RLE counts string, read directly: parsing, checks, foreground intervals and per-column runs.

Private to :mod:`qc.masks`, which is the public face. COCO compressed counts are the
LEB128-like string of pycocotools' ``rleToString``; :func:`parse_counts` is its
``rleFrString``, vectorised. The parsed runs are cached by counts string, since the
same masks are read many times while scoring one image.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from qc.errors import InvalidMaskError

Box = tuple[int, int, int, int]
BoolArray = npt.NDArray[np.bool_]


@lru_cache(maxsize=8192)
def bbox_of_counts(counts: str, height: int) -> tuple[int, int, int, int]:
    """COCO bbox ``(x, y, w, h)`` of a counts string (``(0, 0, 0, 0)`` when empty), from its runs alone."""
    starts, ends = foreground_intervals(counts)
    if starts.size == 0:
        return 0, 0, 0, 0
    first_col, last_col = starts // height, (ends - 1) // height
    spans = first_col != last_col  # a run over several columns covers row 0 and the last row
    top = int(np.where(spans, 0, starts % height).min())
    bottom = int(np.where(spans, height, (ends - 1) % height + 1).max())
    x0, x1 = int(first_col[0]), int(last_col[-1]) + 1
    return x0, top, x1 - x0, bottom - top


def column_runs(
    counts: str, height: int, x0: int, x1: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Foreground runs crossing columns ``[x0, x1)``, split per column: (column, flat start, flat end)."""
    fg_starts, fg_ends = foreground_intervals(counts)
    lo, hi = x0 * height, x1 * height
    first, last = np.searchsorted(fg_ends, lo, side="right"), np.searchsorted(fg_starts, hi, side="left")
    starts, ends = fg_starts[first:last], fg_ends[first:last]
    col = starts // height
    if not np.array_equal(col, (ends - 1) // height):  # some runs span columns: split them per column
        first_col = np.maximum(col, x0)
        pieces = np.maximum(np.minimum((ends - 1) // height, x1 - 1) - first_col + 1, 0)
        run = np.repeat(np.arange(starts.size), pieces)
        col = first_col[run] + (np.arange(run.size) - np.repeat(np.cumsum(pieces) - pieces, pieces))
        starts, ends = np.maximum(starts[run], col * height), np.minimum(ends[run], (col + 1) * height)
    return col, starts, ends


def paint(
    column: npt.NDArray[np.int64], top: npt.NDArray[np.int64], bottom: npt.NDArray[np.int64], out_h: int, out_w: int
) -> BoolArray:
    """Rows ``[top, bottom)`` of each ``column``, clipped to an ``out_h`` x ``out_w`` array."""
    top = np.minimum(np.maximum(top, 0), out_h)
    bottom = np.minimum(np.maximum(bottom, 0), out_h)
    keep = bottom > top
    column = column[keep]
    # runs of one column are disjoint and never touch (touching runs would be one run), so no two
    # starts, no two ends, and no start and end share a position: plain assignment is exact
    delta = np.zeros((out_h + 1) * out_w, dtype=np.int8)
    delta[top[keep] * out_w + column] = 1
    delta[bottom[keep] * out_w + column] = -1
    return np.cumsum(delta.reshape(out_h + 1, out_w)[:out_h], axis=0, dtype=np.int8) > 0


def size_of(rle: dict[str, Any]) -> tuple[int, int]:
    size = rle.get("size") if isinstance(rle, dict) else None
    if (
        not isinstance(size, list | tuple)
        or len(size) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 0 for v in size)
    ):
        raise InvalidMaskError(f"RLE size must be [height, width] of non-negative ints; got {size!r}", field="size")
    return int(size[0]), int(size[1])


def clip(region: Box, height: int, width: int) -> Box:
    x0, y0, x1, y1 = (int(v) for v in region)
    x0, x1 = max(0, min(x0, width)), max(0, min(x1, width))
    y0, y1 = max(0, min(y0, height)), max(0, min(y1, height))
    return x0, y0, max(x0, x1), max(y0, y1)


@lru_cache(maxsize=8192)
def runs_checked(counts: str, total: int) -> npt.NDArray[np.int64]:
    """Parsed runs of a counts string, checked to add up to ``total`` (cached: masks are re-read often)."""
    result = parse_counts(counts)
    if result is None:
        raise InvalidMaskError("RLE counts string is malformed (truncated or bad characters)", field="counts")
    if (result < 0).any():
        raise InvalidMaskError("RLE counts decode to a negative run length", field="counts")
    if int(result.sum()) != total:
        raise InvalidMaskError(
            f"RLE counts add up to {int(result.sum())} pixels but the size has {total}; "
            "the counts or the size are wrong",
            field="counts",
        )
    return result


@lru_cache(maxsize=8192)
def foreground_intervals(counts: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Half-open flat (column-major) intervals ``[start, end)`` of the foreground runs, sorted."""
    runs_ = parse_counts(counts)
    if runs_ is None:  # pragma: no cover - callers validate first
        raise InvalidMaskError("RLE counts string is malformed", field="counts")
    ends = np.cumsum(runs_)
    starts = ends - runs_
    keep = runs_[1::2] > 0
    return starts[1::2][keep], ends[1::2][keep]


@lru_cache(maxsize=8192)
def parse_counts(counts: str) -> npt.NDArray[np.int64] | None:
    """Vectorised ``rleFrString`` of pycocotools; ``None`` when the string is malformed."""
    if not counts:
        return np.zeros(0, dtype=np.int64)
    try:
        raw = np.frombuffer(counts.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        return None
    if (raw < 0).any() or (raw > 63).any():
        return None
    more = (raw & 0x20) != 0
    if more[-1]:
        return None
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    group = np.repeat(np.arange(ends.size), ends - starts + 1)
    position = np.arange(raw.size) - starts[group]
    if position.max() > 12:
        return None
    values = np.add.reduceat((raw & 0x1F) << (5 * position), starts)
    negative = (raw[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * (ends - starts + 1))[negative]
    out = values.copy()
    if out.size > 3:
        odd = out[1::2]
        np.cumsum(odd, out=odd)
        out[1::2] = odd
        even_tail = out[2::2]
        np.cumsum(even_tail, out=even_tail)
        out[2::2] = even_tail
    out.setflags(write=False)
    return out
