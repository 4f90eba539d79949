"""Overlays for the review page: transparent PNGs painted from COCO RLE (PIL for the encoding).

Each segment is decoded only inside its own box (:func:`qc.masks.crop`) and painted into one
RGBA canvas of the image's size: the fill is translucent, the outline opaque (:func:`outline_png`
paints the outline only, as the review page draws annotators). The canvas is the picture being
sent, so it is full-frame by nature; no mask is decoded full-frame.

>>> from qc import masks
>>> import numpy as np
>>> grid = np.zeros((4, 6), dtype=bool); grid[1:3, 2:5] = True
>>> png = layer_png([masks.encode(grid)], height=4, width=6, colour=PALETTE[0])
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage

from qc import masks
from qc.masks import RLE, Box

__all__ = [
    "CONSENSUS_COLOUR",
    "DISAGREEMENT_COLOUR",
    "PALETTE",
    "disagreement_png",
    "hex_colour",
    "layer_png",
    "outline_png",
]

Colour = tuple[int, int, int]

PALETTE: tuple[Colour, ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (0, 128, 128),
)
"""One colour per annotator (number 1 gets ``PALETTE[0]``)."""

CONSENSUS_COLOUR: Colour = (255, 255, 255)
DISAGREEMENT_COLOUR: Colour = (255, 225, 25)
FILL_ALPHA = 70
EDGE_ALPHA = 255


def hex_colour(colour: Colour) -> str:
    """``#rrggbb`` for CSS.

    >>> hex_colour((255, 0, 16))
    '#ff0010'
    """
    return "#{:02x}{:02x}{:02x}".format(*colour)


def layer_png(segments: Sequence[RLE], *, height: int, width: int, colour: Colour) -> bytes:
    """A transparent PNG of ``height`` x ``width`` with every segment filled and outlined in ``colour``.

    No segment (or only empty ones) gives a fully transparent picture.
    """
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    for rle in segments:
        region = masks.box(rle)
        if region is None:
            continue
        _paint(canvas, masks.crop(rle, region), region, colour)
    return _png(canvas)


def outline_png(segments: Sequence[RLE], *, height: int, width: int, colour: Colour) -> bytes:
    """A transparent PNG of ``height`` x ``width`` with only the outline of every segment, opaque, in ``colour``.

    The outline is the segment's own border pixels (inside the mask), so the picture under it
    stays visible and neighbouring annotators' outlines can be told apart.
    """
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    for rle in segments:
        region = masks.box(rle)
        if region is None:
            continue
        _paint(canvas, masks.crop(rle, region), region, colour, fill=0)
    return _png(canvas)


def disagreement_png(layers: Sequence[Sequence[RLE]], *, height: int, width: int, colour: Colour) -> bytes:
    """Pixels some annotators labelled and others did not (0 < votes < annotators), in ``colour``.

    Votes are counted inside each segment's box only; with fewer than two annotators nothing is marked.
    """
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    if len(layers) < 2:
        return _png(canvas)
    votes = np.zeros((height, width), dtype=np.uint8)
    boxes: list[Box] = []
    for segments in layers:
        mine = np.zeros((height, width), dtype=bool)
        for rle in segments:
            region = masks.box(rle)
            if region is not None:
                x0, y0, x1, y1 = region
                mine[y0:y1, x0:x1] |= masks.crop(rle, region)
                boxes.append(region)
        votes += mine
    region = masks.union_box(*boxes)
    if region is not None:
        x0, y0, x1, y1 = region
        window = votes[y0:y1, x0:x1]
        _paint(canvas, (window > 0) & (window < len(layers)), region, colour, fill=140)
    return _png(canvas)


def _paint(
    canvas: npt.NDArray[np.uint8], mask: npt.NDArray[np.bool_], region: Box, colour: Colour, *, fill: int = FILL_ALPHA
) -> None:
    x0, y0, x1, y1 = region
    if not mask.any():
        return
    padded = np.pad(mask, 1)
    inner = mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = mask & ~inner
    window = canvas[y0:y1, x0:x1]
    painted = mask if fill else edge
    window[painted, :3] = colour
    window[painted, 3] = np.maximum(window[painted, 3], fill)
    window[edge, 3] = EDGE_ALPHA


def _png(canvas: npt.NDArray[np.uint8]) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(canvas).save(out, format="PNG", compress_level=1)
    return out.getvalue()
