"""PNG label maps: decode one checked image, and split a label map into one RLE per label.

Only one image's label map is held at a time. :class:`LabelRuns` sorts the pixel
positions once (column-major, as COCO RLE) and cuts each label's runs out of that
order, so no full-frame boolean mask is built per label.

>>> import numpy as np
>>> labels = np.array([[0, 5, 5], [7, 5, 0]])
>>> runs = LabelRuns(labels)
>>> runs.counts
{0: 2, 5: 3, 7: 1}
>>> runs.rle(5)["size"], masks.area(runs.rle(5)), masks.bbox(runs.rle(5))
([2, 3], 3, (1, 0, 2, 2))
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from qc import masks
from qc.formats._jsonio import Invalid
from qc.limits import MAX_MASK_PIXELS
from qc.masks import RLE

__all__ = ["GRAY_MODES", "LabelRuns", "decode_png", "rgb_ids"]

GRAY_MODES = frozenset({"1", "L", "P", "I", "I;16", "I;16B", "I;16L"})
"""PIL modes that hold one integer per pixel (grayscale, palette indices, 16/32-bit)."""

_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)


def decode_png(
    raw: bytes,
    *,
    modes: Collection[str],
    height: int | None = None,
    width: int | None = None,
    within: tuple[int, int] | None = None,
) -> npt.NDArray[Any]:
    """The PNG's pixels (``(h, w)``, or ``(h, w, 3)`` for RGB) in their own integer type; raises Invalid when unusable.

    The mode and size are checked from the header, before any pixel is decoded: the size
    must be ``height`` x ``width`` when given, fit ``within`` (most rows, most columns) when
    given, and never exceed :data:`~qc.limits.MAX_MASK_PIXELS`.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=["PNG"]) as image:
                _check_header(image, modes, height, width)
                _check_pixels(image, within)
                image.load()
                pixels = np.asarray(image)
    except _PIL_ERRORS as exc:
        raise Invalid("file_name", f"the PNG cannot be decoded ({exc}); export it again as a PNG") from exc
    return pixels


def rgb_ids(pixels: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
    """COCO panoptic ids from an ``(h, w, 3)`` RGB array: ``R + 256 G + 256² B`` (4 bytes a pixel)."""
    ids = pixels[..., 2].astype(np.int32)
    for channel in (1, 0):
        ids <<= 8
        ids |= pixels[..., channel]
    return ids


class LabelRuns:
    """Each label's pixels of one label map, as pixel counts and compressed RLE on demand."""

    def __init__(self, labels: npt.NDArray[np.integer]) -> None:
        self.height, self.width = int(labels.shape[0]), int(labels.shape[1])
        flat = np.asarray(labels).ravel(order="F")
        self._order = np.argsort(flat, kind="stable")
        ordered = flat[self._order]
        cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        self._starts = np.concatenate(([0], cuts)) if flat.size else np.zeros(0, dtype=np.int64)
        self._ends = np.concatenate((cuts, [flat.size])) if flat.size else np.zeros(0, dtype=np.int64)
        self._index = {int(ordered[s]): i for i, s in enumerate(self._starts)}
        self.counts = {label: int(self._ends[i] - self._starts[i]) for label, i in self._index.items()}

    def rle(self, label: int) -> RLE:
        """The compressed RLE of one label (empty mask when absent)."""
        if label not in self._index:
            return masks.empty(self.height, self.width)
        i = self._index[label]
        positions = self._order[self._starts[i] : self._ends[i]]  # ascending: the sort was stable
        return _positions_rle(positions, self.height, self.width)


def _positions_rle(positions: npt.NDArray[np.intp], height: int, width: int) -> RLE:
    breaks = np.flatnonzero(np.diff(positions) != 1)
    starts = positions[np.concatenate(([0], breaks + 1))]
    ends = positions[np.concatenate((breaks, [positions.size - 1]))] + 1
    counts = np.empty(2 * starts.size + 1, dtype=np.int64)
    counts[0] = starts[0]
    counts[1::2] = ends - starts
    counts[2:-1:2] = starts[1:] - ends[:-1]
    counts[-1] = height * width - ends[-1]
    if counts[-1] == 0:  # pycocotools ends on the last foreground run
        counts = counts[:-1]
    return masks.from_uncompressed({"size": [height, width], "counts": counts.tolist()})


def _check_pixels(image: Image.Image, within: tuple[int, int] | None) -> None:
    found_width, found_height = image.size
    too_big = found_width * found_height > MAX_MASK_PIXELS
    if too_big or (within is not None and (found_height > within[0] or found_width > within[1])):
        room = f"at most {within[0]}x{within[1]} here and " if within is not None else ""
        raise Invalid(
            "size",
            f"the PNG is {found_height}x{found_width} (height x width), larger than its place allows "
            f"({room}at most {MAX_MASK_PIXELS:,} pixels); nothing was decoded, export it at the image's size",
        )


def _check_header(image: Image.Image, modes: Collection[str], height: int | None, width: int | None) -> None:
    if image.mode not in modes:
        raise Invalid(
            "mode", f"the PNG has mode {image.mode!r} but one of {sorted(modes)} is expected; re-export it in that mode"
        )
    found_width, found_height = image.size
    if (height is not None and found_height != height) or (width is not None and found_width != width):
        raise Invalid(
            "size",
            f"the PNG is {found_height}x{found_width} (height x width) but the image is "
            f"{height}x{width}; export the mask at the image's size",
        )
