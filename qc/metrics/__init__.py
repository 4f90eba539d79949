"""Agreement metrics between annotators.

Every pair metric takes two masks of one image, each an RLE dict or a full-image
2-D boolean array; masks of different sizes raise :class:`qc.errors.ShapeMismatchError`.
Undefined values (0/0, e.g. both masks empty) are ``NaN``, never -1 and never an
exception; HD95 with exactly one side empty is ``inf``.
"""

from qc.metrics._boundary import boundary_fscore, boundary_iou, coco_boundary_iou
from qc.metrics._overlap import dice, mask_iou
from qc.metrics._panoptic import PanopticResult, panoptic_quality
from qc.metrics._semantic import cohen_kappa, fleiss_kappa, krippendorff_alpha, per_class_iou
from qc.metrics._surface import average_surface_distance, hd95, surface_distances

__all__ = [
    "PanopticResult",
    "average_surface_distance",
    "boundary_fscore",
    "boundary_iou",
    "coco_boundary_iou",
    "cohen_kappa",
    "dice",
    "fleiss_kappa",
    "hd95",
    "krippendorff_alpha",
    "mask_iou",
    "panoptic_quality",
    "per_class_iou",
    "surface_distances",
]
