"""RLE helpers over pycocotools.

Masks travel through qc as COCO compressed RLE: ``{"size": [h, w], "counts": str}``,
exactly what :func:`pycocotools.mask.encode` gives, with the counts bytes decoded
as ASCII. Pixels are read column-major; runs alternate background/foreground and
start with background.

Arrays are made only inside a *crop* around the region being measured
(:func:`crop`), so the cost of a measurement follows the size of the objects, not
the size of the image. Crops are described by a :data:`Box`: ``(x0, y0, x1, y1)``,
half-open pixel bounds (``x1``/``y1`` exclusive), ``x`` the column and ``y`` the row.
The counts string itself is read by the private :mod:`qc._rle` (parsing, checks, runs per column).

>>> import numpy as np
>>> m = np.zeros((4, 5), dtype=bool); m[1:3, 2:4] = True
>>> rle = encode(m)
>>> rle["size"], area(rle), bbox(rle)
([4, 5], 4, (2, 1, 2, 2))
>>> bool((decode(rle) == m).all())
True
>>> crop(rle, (2, 1, 4, 3)).sum()
np.int64(4)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pycocotools import mask as _cocomask

from qc import _rle
from qc.errors import InvalidMaskError, ShapeMismatchError

__all__ = [
    "RLE",
    "Box",
    "MaskLike",
    "area",
    "as_rle",
    "bbox",
    "box",
    "column_eroded_crop",
    "crop",
    "decode",
    "empty",
    "encode",
    "from_polygons",
    "from_uncompressed",
    "grow_box",
    "image_size",
    "merge",
    "paste",
    "runs",
    "to_pycocotools",
    "union_box",
]

RLE = dict[str, Any]
"""COCO compressed RLE: ``{"size": [h, w], "counts": str}``."""

Box = tuple[int, int, int, int]
"""Half-open pixel box ``(x0, y0, x1, y1)``."""

MaskLike = RLE | npt.NDArray[np.bool_]
"""A full-image mask: an RLE dict or a 2-D boolean array."""

BoolArray = npt.NDArray[np.bool_]


def encode(mask: npt.ArrayLike) -> RLE:
    """Encode a 2-D array (non-zero = foreground) as compressed COCO RLE with ``str`` counts."""
    array = np.asarray(mask)
    if array.ndim != 2:
        raise InvalidMaskError(f"a mask must be a 2-D array (height, width); got shape {array.shape}")
    fortran = np.asfortranarray(array != 0, dtype=np.uint8)
    rle = _cocomask.encode(fortran)
    return {"size": [int(array.shape[0]), int(array.shape[1])], "counts": rle["counts"].decode("ascii")}


def decode(rle: RLE) -> BoolArray:
    """Decode an RLE to a full-image boolean array of shape ``(h, w)``."""
    rle = as_rle(rle)
    height, width = _rle.size_of(rle)
    return crop(rle, (0, 0, width, height))


def empty(height: int, width: int) -> RLE:
    """The empty mask of an image of ``height`` x ``width``."""
    return from_uncompressed({"size": [height, width], "counts": [height * width]})


def image_size(mask: MaskLike) -> tuple[int, int]:
    """``(height, width)`` of an RLE or a 2-D array."""
    if isinstance(mask, np.ndarray):
        if mask.ndim != 2:
            raise InvalidMaskError(f"a mask must be a 2-D array (height, width); got shape {mask.shape}")
        return int(mask.shape[0]), int(mask.shape[1])
    return _rle.size_of(mask)


def as_rle(mask: MaskLike | RLE) -> RLE:
    """Normalise a mask to compressed RLE with ``str`` counts.

    Accepts a 2-D array, compressed RLE (``str`` or ``bytes`` counts) or uncompressed
    RLE (a list of run lengths). Compressed counts are checked: they must parse and
    their runs must add up to ``h * w``.
    """
    if type(mask) is dict and len(mask) == 2:  # fast path: already qc's own form, checked once (cached)
        counts, size = mask.get("counts"), mask.get("size")
        if type(counts) is str and type(size) is list and len(size) == 2:
            height, width = size
            if type(height) is int and type(width) is int and height >= 0 and width >= 0:
                _rle.runs_checked(counts, height * width)
                return mask
    if isinstance(mask, np.ndarray):
        return encode(mask)
    if not isinstance(mask, dict):
        raise InvalidMaskError(f"expected an RLE dict or a 2-D array; got {type(mask).__name__}")
    height, width = _rle.size_of(mask)
    counts = mask.get("counts")
    if isinstance(counts, list):
        return from_uncompressed(mask)
    if isinstance(counts, bytes):
        try:
            counts = counts.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidMaskError("RLE counts are not ASCII", field="counts") from exc
    if not isinstance(counts, str):
        raise InvalidMaskError(
            f"RLE counts must be a string (compressed) or a list of ints; got {type(counts).__name__}",
            field="counts",
        )
    _rle.runs_checked(counts, height * width)
    return {"size": [height, width], "counts": counts}


def from_uncompressed(rle: RLE) -> RLE:
    """Compress an uncompressed RLE ``{"size": [h, w], "counts": [int, ...]}`` (column-major runs)."""
    height, width = _rle.size_of(rle)
    counts = rle.get("counts")
    if not isinstance(counts, list) or not all(
        isinstance(c, int | np.integer) and not isinstance(c, bool) for c in counts
    ):
        raise InvalidMaskError("uncompressed RLE counts must be a list of integers", field="counts")
    if any(c < 0 for c in counts):
        raise InvalidMaskError("uncompressed RLE counts must not be negative", field="counts")
    total = int(sum(int(c) for c in counts))
    if total != height * width:
        raise InvalidMaskError(
            f"RLE counts add up to {total} pixels but size {height}x{width} has {height * width}; "
            "the counts or the size are wrong",
            field="counts",
        )
    coco = _cocomask.frPyObjects({"size": [height, width], "counts": [int(c) for c in counts]}, height, width)
    return {"size": [height, width], "counts": coco["counts"].decode("ascii")}


def from_polygons(polygons: Sequence[Sequence[float]], height: int, width: int) -> RLE:
    """Rasterise COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` exactly as pycocotools ``frPyObjects``.

    Parts are merged into one mask. Each part needs at least 3 points and an even
    number of finite coordinates.

    >>> area(from_polygons([[1, 1, 5, 1, 5, 5, 1, 5]], 8, 8))
    16
    """
    if not isinstance(polygons, list | tuple) or len(polygons) == 0:
        raise InvalidMaskError("a polygon annotation needs a non-empty list of parts", field="segmentation")
    parts: list[list[float]] = []
    for index, part in enumerate(polygons):
        coords = np.asarray(part, dtype=np.float64) if _is_number_list(part) else None
        if coords is None:
            raise InvalidMaskError(
                f"polygon part {index} must be a flat list of numbers [x1, y1, x2, y2, ...]",
                field="segmentation",
            )
        if coords.size % 2 or coords.size < 6:
            raise InvalidMaskError(
                f"polygon part {index} has {coords.size} coordinates; a polygon needs an even number "
                "and at least 6 (3 points)",
                field="segmentation",
            )
        if not np.isfinite(coords).all():
            raise InvalidMaskError(f"polygon part {index} has a NaN or infinite coordinate", field="segmentation")
        parts.append(coords.tolist())
    rles = _cocomask.frPyObjects(parts, height, width)
    merged = _cocomask.merge(rles, intersect=False)
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def merge(masks: Iterable[RLE], *, intersect: bool = False) -> RLE:
    """Union (or intersection) of RLEs of one image size."""
    rles = [as_rle(m) for m in masks]
    if not rles:
        raise InvalidMaskError("merge needs at least one mask")
    first = _rle.size_of(rles[0])
    for other in rles[1:]:
        if _rle.size_of(other) != first:
            raise ShapeMismatchError(first, _rle.size_of(other))
    merged = _cocomask.merge([to_pycocotools(r) for r in rles], intersect=intersect)
    return {"size": list(first), "counts": merged["counts"].decode("ascii")}


def area(rle: RLE) -> int:
    """Foreground pixel count."""
    return int(_cocomask.area(to_pycocotools(as_rle(rle))))


def bbox(rle: RLE) -> tuple[int, int, int, int]:
    """COCO bbox ``(x, y, w, h)`` in whole pixels; ``(0, 0, 0, 0)`` for an empty mask (as pycocotools ``toBbox``)."""
    rle = as_rle(rle)
    return _rle.bbox_of_counts(rle["counts"], _rle.size_of(rle)[0])


def box(rle: RLE) -> Box | None:
    """Half-open box ``(x0, y0, x1, y1)`` of the foreground, or ``None`` when empty."""
    x, y, w, h = bbox(rle)
    if w == 0 or h == 0:
        return None
    return x, y, x + w, y + h


def union_box(*boxes: Box | None) -> Box | None:
    """Smallest box holding every given box (``None`` entries are empty)."""
    present = [b for b in boxes if b is not None]
    if not present:
        return None
    return (
        min(b[0] for b in present),
        min(b[1] for b in present),
        max(b[2] for b in present),
        max(b[3] for b in present),
    )


def grow_box(region: Box, margin: int, height: int, width: int) -> Box:
    """``region`` grown by ``margin`` pixels on every side, clipped to the image."""
    x0, y0, x1, y1 = region
    return max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin)


def runs(rle: RLE) -> npt.NDArray[np.int64]:
    """The run lengths of an RLE (background first), as int64."""
    rle = as_rle(rle)
    height, width = _rle.size_of(rle)
    return _rle.runs_checked(rle["counts"], height * width)


def crop(rle: RLE, region: Box) -> BoolArray:
    """Decode only the pixels inside ``region`` (clipped to the image) as a boolean array.

    The work follows the runs that cross the crop and the crop's size, never the whole image.
    """
    return column_eroded_crop(rle, region, 0)


def column_eroded_crop(rle: RLE, region: Box, rows: int) -> BoolArray:
    """The crop of the mask eroded vertically by ``rows`` pixels (``rows == 0``: the plain crop).

    Each column's runs are shortened by ``rows`` at both ends, the image border counting
    as background: the first half of a separable square erosion, read off the runs
    without decoding the mask first.
    """
    rle = as_rle(rle)
    height, width = _rle.size_of(rle)
    x0, y0, x1, y1 = _rle.clip(region, height, width)
    out_w, out_h = x1 - x0, y1 - y0
    if out_w == 0 or out_h == 0:
        return np.zeros((out_h, out_w), dtype=bool)
    col, starts, ends = _rle.column_runs(rle["counts"], height, x0, x1)
    offset = col * height + y0
    return _rle.paint(col - x0, starts - offset + rows, ends - offset - rows, out_h, out_w)


def paste(mask: npt.ArrayLike, region: Box, height: int, width: int) -> RLE:
    """Encode a crop placed at ``region`` in an otherwise empty ``height`` x ``width`` image.

    Inverse of :func:`crop`; never builds the full image.
    """
    array = np.asarray(mask, dtype=bool)
    x0, y0, x1, y1 = region
    if array.shape != (y1 - y0, x1 - x0) or x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise InvalidMaskError(f"crop of shape {array.shape} does not fit box {region} in an image of {height}x{width}")
    padded = np.zeros((array.shape[0] + 2, array.shape[1]), dtype=np.int8)
    padded[1:-1] = array
    flat = padded.T.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    col, row = np.divmod(change, array.shape[0] + 2)
    positions = (x0 + col).astype(np.int64) * height + (y0 + row - 1)
    # a run ending at a column's last row and one starting at the next column's first row meet at the
    # same position: the two transitions cancel
    positions, seen = np.unique(positions, return_counts=True)
    positions = positions[seen % 2 == 1]
    counts = np.diff(np.concatenate(([0], positions, [height * width])))
    if counts.size > 1 and counts[-1] == 0:  # pycocotools ends on the last foreground run
        counts = counts[:-1]
    coco = _cocomask.frPyObjects({"size": [height, width], "counts": counts.tolist()}, height, width)
    return {"size": [height, width], "counts": coco["counts"].decode("ascii")}


# --- internals -------------------------------------------------------------------------------------------


def _is_number_list(part: Any) -> bool:
    return isinstance(part, list | tuple | np.ndarray) and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in part
    )


def to_pycocotools(rle: RLE) -> dict[str, Any]:
    """The RLE with ``bytes`` counts, as pycocotools' C functions take it (no validation)."""
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
