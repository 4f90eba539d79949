"""Agreement metrics between annotators.

Every pair metric takes two masks of one image, each an RLE dict or a full-image
2-D boolean array; masks of different sizes raise :class:`qc.errors.ShapeMismatchError`.
Undefined values (0/0, e.g. both masks empty) are ``NaN``, never -1 and never an
exception; HD95 with exactly one side empty is ``inf``.
"""

from qc.metrics._overlap import dice, mask_iou

# further metric families register their public names here, one import line each

__all__ = [
    "dice",
    "mask_iou",
]
