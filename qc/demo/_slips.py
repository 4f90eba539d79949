"""Guideline slips of a simulated annotator: a hole punched, a stray fragment, a sliver left beside an object.

All three work on the crop around one instance (the annotator's mask after the boundary
perturbation, and the pixels the annotator cannot take) and place their pixels at random
with the instance's own generator, so they stay deterministic:

- :func:`punch_hole`: a 3 x 3 hole (9 px) at the deepest point of a mask at least 4 px thick,
  so the mask stays one piece (the demo guideline's ``min_hole_area`` is 4 for coins, 9 for cells);
- :func:`stray_fragment`: a 3 x 3 piece 2-4 px outside the mask (a second 8-connected part);
- :func:`sliver`: a 1 x 3 strip 3-5 px outside the mask, its own instance: 3 px is below every
  ``min_area`` of the demo guideline (stars: 4).

Each returns ``None`` when the crop has no room for it; neither the fragment nor the sliver
comes within 1 px of the blocked pixels (other objects already grown by 1 px).

>>> import numpy as np
>>> square = np.zeros((30, 30), bool); square[10:20, 10:20] = True
>>> holed = punch_hole(square)
>>> int(square.sum() - holed.sum()), bool(holed[15, 15])
(9, False)
>>> rng = np.random.default_rng(0)
>>> with_fragment = stray_fragment(square, np.zeros_like(square), rng)
>>> int(with_fragment.sum() - square.sum())
9
>>> int(sliver(square, np.zeros_like(square), rng).sum())
3
>>> stray_fragment(square, ~square, rng) is None  # everything around it is taken
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

__all__ = ["punch_hole", "sliver", "stray_fragment"]

BoolArray = npt.NDArray[np.bool_]

_EIGHT = np.ones((3, 3), dtype=bool)
_HOLE_DEPTH = 4.0
"""A hole needs a mask at least this far (px) from its edge at the hole's centre."""


def punch_hole(mask: BoolArray) -> BoolArray | None:
    """``mask`` with a 3 x 3 hole at its deepest point, or ``None`` when it is thinner than 4 px there.

    The edge of the crop counts as outside: an object cut by the image border gets its hole inside.
    """
    depth = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]  # the crop's edge counts as outside
    if float(depth.max()) < _HOLE_DEPTH:
        return None
    row, col = np.unravel_index(int(np.argmax(depth)), depth.shape)
    out = mask.copy()
    out[row - 1 : row + 2, col - 1 : col + 2] = False
    return out


def stray_fragment(mask: BoolArray, blocked: BoolArray, rng: np.random.Generator) -> BoolArray | None:
    """``mask`` plus a 3 x 3 piece 2-4 px outside it, or ``None`` when there is no room."""
    piece = _place(mask, blocked, rng, (3, 3), gap=(2.0, 4.0))
    return None if piece is None else mask | piece


def sliver(mask: BoolArray, blocked: BoolArray, rng: np.random.Generator) -> BoolArray | None:
    """A 1 x 3 strip (across or down, at random) 3-5 px outside ``mask``, or ``None`` when there is no room."""
    shape = (1, 3) if rng.random() < 0.5 else (3, 1)
    return _place(mask, blocked, rng, shape, gap=(3.0, 5.0))


def _place(
    mask: BoolArray, blocked: BoolArray, rng: np.random.Generator, shape: tuple[int, int], *, gap: tuple[float, float]
) -> BoolArray | None:
    """A ``shape`` rectangle whose pixels are all ``gap`` px (Euclidean, inclusive) from ``mask`` and
    1 px clear of ``blocked``, its top-left corner picked at random among those that fit the crop."""
    height, width = shape
    away = ndimage.distance_transform_edt(~mask)
    free = (away >= gap[0]) & (away <= gap[1]) & ~ndimage.binary_dilation(blocked | mask, _EIGHT)
    rows, cols = free.shape
    if rows < height or cols < width:
        return None
    fits = np.ones((rows - height + 1, cols - width + 1), dtype=bool)
    for dy in range(height):
        for dx in range(width):
            fits &= free[dy : dy + rows - height + 1, dx : dx + cols - width + 1]
    corners = np.argwhere(fits)
    if len(corners) == 0:
        return None
    row, col = (int(v) for v in corners[int(rng.integers(len(corners)))])
    out = np.zeros_like(mask)
    out[row : row + height, col : col + width] = True
    return out
