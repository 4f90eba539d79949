"""Overlapping segments made disjoint: the step before writing a file that allows no overlap (COCO panoptic).

Pure: segments in, segments out; each segment is handled on the crop of its box.

>>> from qc.masks import from_polygons
>>> first = Segment(1, 3, from_polygons([[0, 0, 4, 0, 4, 4, 0, 4]], 8, 8))
>>> second = Segment(2, 3, from_polygons([[2, 2, 6, 2, 6, 6, 2, 6]], 8, 8))
>>> [(s.id, s.area) for s in without_overlaps([first, second])]
[(1, 16), (2, 12)]
>>> [s.id for s in without_overlaps([first, first])]  # nothing of the copy is left
[1]
"""

from __future__ import annotations

from collections.abc import Sequence

from qc import masks
from qc.core import Segment
from qc.masks import Box

__all__ = ["boxes_meet", "without_overlaps"]


def boxes_meet(box_a: Box | None, box_b: Box | None) -> bool:
    """Whether two ``(x0, y0, x1, y1)`` boxes share a pixel (``None``, an empty mask's box, meets nothing).

    >>> boxes_meet((0, 0, 2, 2), (1, 1, 3, 3)), boxes_meet((0, 0, 2, 2), (2, 0, 4, 2)), boxes_meet(None, (0, 0, 1, 1))
    (True, False, False)
    """
    if box_a is None or box_b is None:
        return False
    return box_a[0] < box_b[2] and box_b[0] < box_a[2] and box_a[1] < box_b[3] and box_b[1] < box_a[3]


def without_overlaps(segments: Sequence[Segment]) -> list[Segment]:
    """Each pixel to the first segment that has it; segments left with no pixel (or none to begin with) are dropped."""
    out: list[Segment] = []
    for segment in segments:
        region = segment.box
        if region is None:
            continue
        mask = segment.mask_in(region)
        for earlier in out:
            if boxes_meet(earlier.box, region):
                mask &= ~earlier.mask_in(region)
        if mask.any():
            height, width = segment.size
            out.append(Segment(segment.id, segment.category_id, masks.paste(mask, region, height, width)))
    return out
