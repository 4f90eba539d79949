"""Shared plumbing of the pair metrics: input normalisation, the size check and crops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qc import masks
from qc.errors import ShapeMismatchError
from qc.masks import RLE, Box, MaskLike

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class MaskPair:
    """Two masks of one image, normalised to RLE, with the image size."""

    a: RLE
    b: RLE
    height: int
    width: int

    def union_box(self, margin: int = 0) -> Box | None:
        """Box around both foregrounds grown by ``margin`` (clipped); ``None`` if both are empty."""
        region = masks.union_box(masks.box(self.a), masks.box(self.b))
        if region is None:
            return None
        return masks.grow_box(region, margin, self.height, self.width)

    def crops(self, region: Box) -> tuple[BoolArray, BoolArray]:
        """Both masks decoded inside ``region`` only."""
        return masks.crop(self.a, region), masks.crop(self.b, region)


def as_pair(mask_a: MaskLike, mask_b: MaskLike) -> MaskPair:
    """Normalise two masks to RLE and check they share an image size (else :class:`ShapeMismatchError`)."""
    size_a = masks.image_size(mask_a)
    size_b = masks.image_size(mask_b)
    if size_a != size_b:
        raise ShapeMismatchError(size_a, size_b)
    return MaskPair(masks.as_rle(mask_a), masks.as_rle(mask_b), size_a[0], size_a[1])
