"""The committed ground truth of the demo pictures, and a simulated annotator's file as a tool exports it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from qc.core import Category, Segment
from qc.errors import FormatError
from qc.formats._base import ParsedAnnotations
from qc.formats._common import ImagesArg
from qc.formats.coco import read_instances, write_instances

__all__ = ["DEFAULT_TRUTH", "load_truth", "write_submission"]

DEFAULT_TRUTH = Path(__file__).resolve().parents[2] / "examples" / "demo" / "truth.json"
"""The committed ground truth in a source checkout (pass the path explicitly elsewhere)."""


def load_truth(path: str | os.PathLike[str] | None = None) -> ParsedAnnotations:
    """Read the demo ground truth (default :data:`DEFAULT_TRUTH`); raises FormatError when absent or not clean."""
    target = Path(path) if path is not None else DEFAULT_TRUTH
    if not target.is_file():
        raise FormatError(
            f"the demo truth was not found at {target}; pass the path of examples/demo/truth.json explicitly "
            "(an installed package does not carry the examples folder)",
            path=str(target),
        )
    parsed = read_instances(target)
    if parsed.rejections:
        raise FormatError(
            f"the demo truth should read cleanly but {len(parsed.rejections)} item(s) were refused, the first: "
            f"{parsed.rejections[0]}; regenerate it with examples/demo/make_truth.py",
            path=str(target),
        )
    return parsed


def write_submission(
    path: str | os.PathLike[str],
    *,
    images: ImagesArg,
    segments: Iterable[tuple[Any, Segment]],
    categories: Mapping[int, Category] | Iterable[Category],
    annotator: str | None = None,
) -> None:
    """Write one annotator's segments as a COCO instances file (RLE masks), as a labelling tool exports it."""
    description = f"simulated annotator {annotator}" if annotator else "simulated annotator"
    write_instances(path, images, segments, categories, info={"description": description})
