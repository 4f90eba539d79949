"""The demo pictures: scikit-image's bundled samples (no download: the files ship inside scikit-image).

- ``coins`` whole and in four overlapping tiles;
- the Hubble deep field in six tiles of 400 x 400;
- ``cell`` whole and one crop around the cell.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qc.core import ImageInfo
from qc.errors import InvalidOptionError
from qc.masks import Box

__all__ = ["DemoImage", "demo_images", "image_infos", "source_picture", "write_demo_images"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoImage:
    """One demo picture: ``pixels`` (uint8, gray ``(h, w)`` or RGB ``(h, w, 3)``) cut at ``box`` from ``source``."""

    file_name: str
    pixels: npt.NDArray[np.uint8] = field(repr=False, compare=False)
    source: str = ""
    box: Box = (0, 0, 0, 0)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "source": self.source,
            "box": list(self.box),
            "height": self.height,
            "width": self.width,
        }


_CUTS: tuple[tuple[str, str, Box | None], ...] = (
    ("coins.png", "coins", None),
    ("coins_tile_1.png", "coins", (0, 0, 224, 176)),
    ("coins_tile_2.png", "coins", (160, 0, 384, 176)),
    ("coins_tile_3.png", "coins", (0, 127, 224, 303)),
    ("coins_tile_4.png", "coins", (160, 127, 384, 303)),
    *(
        (f"hubble_tile_{row * 3 + col + 1}.png", "hubble_deep_field", (x0, y0, x0 + 400, y0 + 400))
        for row, y0 in enumerate((0, 472))
        for col, x0 in enumerate((0, 300, 600))
    ),
    ("cell.png", "cell", None),
    ("cell_crop.png", "cell", (300, 250, 550, 500)),
)
"""(file name, scikit-image picture, box ``(x0, y0, x1, y1)`` in it or ``None`` for the whole)."""


def source_picture(name: str) -> npt.NDArray[np.uint8]:
    """One of the bundled scikit-image pictures the demo uses: ``coins``, ``cell``, ``hubble_deep_field``."""
    from skimage import data

    loaders: dict[str, Callable[[], Any]] = {
        "coins": data.coins,
        "cell": data.cell,
        "hubble_deep_field": data.hubble_deep_field,
    }
    if name not in loaders:
        raise InvalidOptionError("picture", sorted(loaders), name)
    return np.ascontiguousarray(loaders[name](), dtype=np.uint8)


def demo_images() -> list[DemoImage]:
    """The demo pictures, always the same 13 in the same order (image ids 1..13 by position)."""
    sources: dict[str, npt.NDArray[np.uint8]] = {}
    out = []
    for file_name, source, cut in _CUTS:
        if source not in sources:
            sources[source] = source_picture(source)
        picture = sources[source]
        box = cut if cut is not None else (0, 0, picture.shape[1], picture.shape[0])
        x0, y0, x1, y1 = box
        out.append(DemoImage(file_name, np.ascontiguousarray(picture[y0:y1, x0:x1]), source, box))
    return out


def image_infos(images: Sequence[DemoImage]) -> list[ImageInfo]:
    """COCO image entries for ``images``, with ids 1..n by position (as in the committed truth)."""
    return [ImageInfo(index, image.file_name, image.height, image.width) for index, image in enumerate(images, 1)]


def write_demo_images(folder: str | os.PathLike[str], images: Sequence[DemoImage] | None = None) -> list[Path]:
    """Write the demo pictures (default: :func:`demo_images`) as PNG files into ``folder``; returns the paths."""
    from PIL import Image

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in demo_images() if images is None else images:
        path = target / image.file_name
        Image.fromarray(image.pixels).save(path, format="PNG")
        paths.append(path)
    logger.info("wrote %d demo pictures to %s", len(paths), target)
    return paths
