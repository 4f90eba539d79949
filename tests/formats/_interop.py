"""Where the real tool exports live (``../shared/refdata/interop``), and a skip when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from qc import masks
from qc.core import Segment
from tests.support.data import REFDATA_DIR

INTEROP = REFDATA_DIR / "interop"


def interop(relative: str) -> Path:
    """A file of the interop reference data; skips the test with a message when it is missing."""
    path = INTEROP / relative
    if not path.exists():
        pytest.skip(f"interop reference data not found at {path} (expected ../shared/refdata/interop beside the repo)")
    return path


def check_mask(segment: Segment, *, bbox: tuple[int, int, int, int] | None = None, area: int | None = None) -> None:
    """Decode the mask inside its box and check it against the stated bbox and area."""
    x, y, w, h = segment.bbox
    crop = masks.crop(segment.rle, (x, y, x + w, y + h))
    assert int(crop.sum()) == segment.area > 0
    assert crop[0].any() and crop[-1].any() and crop[:, 0].any() and crop[:, -1].any()
    if bbox is not None:
        assert (x, y, w, h) == bbox
    if area is not None:
        assert segment.area == area
