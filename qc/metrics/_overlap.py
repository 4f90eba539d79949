"""Region overlap: mask IoU and Dice, straight from RLE (no decoding)."""

from __future__ import annotations

import math

from pycocotools import mask as _cocomask

from qc import masks
from qc.masks import RLE, MaskLike
from qc.metrics._common import as_pair


def intersection_area(rle_a: RLE, rle_b: RLE) -> int:
    """|A ∩ B| of two RLEs of one size, computed on runs."""
    both = masks.merge([rle_a, rle_b], intersect=True)
    return masks.area(both)


def mask_iou(mask_a: MaskLike, mask_b: MaskLike) -> float:
    """Mask IoU |A∩B| / |A∪B|, exactly as pycocotools ``iou`` on RLE (iscrowd = 0).

    Empty cases: both masks empty is 0/0, so ``NaN`` (pycocotools returns 0.0);
    one mask empty gives 0.0.

    >>> import numpy as np
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4), bool); b[1:3] = True
    >>> mask_iou(a, b)
    0.3333333333333333
    >>> mask_iou(np.zeros((4, 4), bool), np.zeros((4, 4), bool))
    nan
    """
    pair = as_pair(mask_a, mask_b)
    if masks.area(pair.a) == 0 and masks.area(pair.b) == 0:
        return math.nan
    coco_a = {"size": pair.a["size"], "counts": pair.a["counts"].encode("ascii")}
    coco_b = {"size": pair.b["size"], "counts": pair.b["counts"].encode("ascii")}
    return float(_cocomask.iou([coco_b], [coco_a], [0])[0, 0])


def dice(mask_a: MaskLike, mask_b: MaskLike) -> float:
    """Dice 2|A∩B| / (|A| + |B|), as DeepMind ``compute_dice_coefficient``.

    Empty cases: both empty is 0/0, so ``NaN``; one empty gives 0.0.

    >>> import numpy as np
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> dice(a, a)
    1.0
    """
    pair = as_pair(mask_a, mask_b)
    total = masks.area(pair.a) + masks.area(pair.b)
    if total == 0:
        return math.nan
    return 2.0 * intersection_area(pair.a, pair.b) / total
