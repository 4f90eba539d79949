"""Label Studio's brush RLE: the thi.ng ``rle-pack`` bit stream of an RGBA image, ported from
``label_studio_converter/brush.py`` (``decode_rle`` and ``mask2rle``). Private to
:mod:`qc.formats.labelstudio`, which lists :func:`decode_brush` and :func:`encode_brush`.

The declared value count is compared with the expected one (the image's RGBA size) before
anything is allocated, and never exceeds four values per pixel of :data:`~qc.limits.MAX_MASK_PIXELS`.

>>> import numpy as np
>>> mask = np.zeros((3, 4), dtype=np.uint8); mask[1, 1:3] = 255
>>> values = decode_brush(encode_brush(mask))
>>> bool((values.reshape(3, 4, 4)[:, :, 3] == mask).all())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from qc.errors import InvalidMaskError
from qc.formats._jsonio import Invalid
from qc.limits import MAX_MASK_PIXELS

__all__ = ["decode_brush", "encode_brush"]


def decode_brush(data: bytes, *, expected: int | None = None) -> npt.NDArray[Any]:
    """The values of a Label Studio brush RLE (``decode_rle`` of label-studio-converter).

    Raises Invalid when the stream is truncated or (with ``expected``) holds another count.
    """
    bits = bin(int.from_bytes(data, "big") | (1 << (8 * len(data))))[3:] if data else ""
    position = 0

    def read(size: int) -> int:
        nonlocal position
        if position + size > len(bits):
            raise Invalid("rle", "the brush rle stream ends early; export the annotation again")
        position += size
        return int(bits[position - size : position], 2) if size else 0

    count = read(32)
    if expected is not None and count != expected:
        raise Invalid("rle", f"the brush rle holds {count} values but the RGBA image has {expected}; nothing decoded")
    if count > 4 * MAX_MASK_PIXELS:
        raise Invalid("rle", f"the brush rle holds {count} values, more than a mask may (4 x {MAX_MASK_PIXELS:,})")
    word = read(5) + 1
    sizes = [read(4) + 1 for _ in range(4)]
    out = np.zeros(count, dtype=np.uint8 if word <= 8 else np.uint32)  # RGBA bytes: 8-bit words
    i = 0
    while i < count:
        repeat = read(1)
        j = min(i + 1 + read(sizes[read(2)]), count)
        if repeat:
            out[i:j] = read(word)
        else:
            out[i:j] = [read(word) for _ in range(j - i)]
        i = j
    return out


def encode_brush(mask: npt.ArrayLike) -> list[int]:
    """A Label Studio brush RLE of a 2-D uint8 mask repeated into RGBA (``mask2rle`` of label-studio-converter)."""
    flat = np.asarray(mask, dtype=np.uint8).ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    lengths = np.diff(np.concatenate((starts, [flat.size]))) * 4
    pieces = [f"{flat.size * 4:032b}", f"{8 - 1:05b}", "".join(f"{x - 1:04b}" for x in (3, 4, 8, 16))]
    for length, value in zip(lengths.tolist(), flat[starts].tolist(), strict=True):
        while length > 0:
            run = min(length, 1 << 16)
            pieces.append(_run_bits(run, value))
            length -= run
    bits = "".join(pieces)
    bits += "0" * (8 - len(bits) % 8)
    return list(int(bits, 2).to_bytes(len(bits) // 8, "big"))


def _run_bits(length: int, value: int) -> str:
    for index, width in enumerate((3, 4, 8, 16)):
        if length <= 1 << width:
            return f"1{index:02b}{length - 1:0{width}b}{value:08b}"
    raise InvalidMaskError(f"a run of {length} is longer than 2^16")  # pragma: no cover - split by the caller
