"""Guideline checks on one submission: the segments one annotator drew on one image.

One private module per rule family, behind this public list: ``_classes`` (unknown class,
empty, minimum area), ``_shape`` (parts, holes, slivers), ``_box`` (drawn-box tolerance),
``_overlap``, ``_unlabeled``; ``_submission`` runs them all, ``_base`` holds :class:`Rule`,
:class:`Violation` and the submission prepared once, ``_compliance`` turns violations into
the frames the reports count.

Each check returns a list of :class:`Violation` (empty when the submission complies).
Masks are decoded only inside each segment's own box (:func:`qc.masks.crop`); two
segments are intersected only when their boxes meet, and the unlabeled-pixel count
comes from the RLE union (:func:`qc.masks.merge`), so the cost follows the size of
the objects, never the size of the image.

Rules, in the order :func:`check_submission` runs them:

============== ============================================================ ==================
rule           fires when                                                   measured / limit
============== ============================================================ ==================
unknown_class  the segment's class id is not in the guideline               class id / NaN
empty          the segment has no pixels                                    0 / 1
min_area       area < ``min_area``                                          area / min_area
max_parts      8-connected components > ``max_parts``                       parts / max_parts
holes          ``allow_holes: false`` and it encloses background of at      holes / 0
               least ``min_hole_area`` px (4-connected background)
sliver         area / perimeter < ``min_area_perimeter_ratio``; the         ratio / threshold
               perimeter is the crack length: pixel edges between the
               segment and the rest (image border included)
box_tolerance  a drawn box is given and pixels lie outside it grown by      pixels / 0
               ``box_tolerance`` (a pixel is inside when its centre is)
overlap        instance / panoptic: two segments share more pixels than     pixels / allowed
               ``overlap_allowance`` (instance: things only)
unlabeled      semantic / panoptic: the fraction of pixels no segment       fraction /
               covers exceeds ``void_allowance``                            void_allowance
============== ============================================================ ==================

A segment reported as ``unknown_class`` or ``empty`` is skipped by the later
per-segment rules (they would only repeat the finding).

>>> import numpy as np
>>> from qc import masks
>>> from qc.core import Segment
>>> from qc.guideline import parse_guideline
>>> guideline = parse_guideline('''
... version: "1"
... task: instance
... classes: [{id: 1, name: coin, kind: thing, colour: "#d4a017", min_area: 5}]
... ''')
>>> tiny = np.zeros((6, 6), dtype=bool); tiny[1:3, 1:3] = True
>>> [v.rule.value for v in check_submission([Segment(7, 1, masks.encode(tiny))], height=6, width=6,
...                                        guideline=guideline)]
['min_area']
"""

from qc.checks._base import IMAGE_RULES, Rule, Violation
from qc.checks._box import check_box_tolerance
from qc.checks._classes import check_empty, check_min_area, check_unknown_class
from qc.checks._compliance import IMAGE_CLASS, compliance_frame, summarise, violation_records
from qc.checks._overlap import check_overlap
from qc.checks._shape import check_holes, check_max_parts, check_sliver, crack_perimeter
from qc.checks._submission import check_submission
from qc.checks._unlabeled import check_unlabeled

__all__ = [
    "IMAGE_CLASS",
    "IMAGE_RULES",
    "Rule",
    "Violation",
    "check_box_tolerance",
    "check_empty",
    "check_holes",
    "check_max_parts",
    "check_min_area",
    "check_overlap",
    "check_sliver",
    "check_submission",
    "check_unknown_class",
    "check_unlabeled",
    "compliance_frame",
    "crack_perimeter",
    "summarise",
    "violation_records",
]
