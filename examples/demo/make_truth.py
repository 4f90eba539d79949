"""Build the demo's ground truth once from the pixels, with classical segmentation.

Run from the repository root (the result is committed; there is no need to run it again):

    .venv/bin/python examples/demo/make_truth.py

Each source picture is segmented whole, then its label map is cut like the demo image
(:func:`qc.demo.demo_images`), so overlapping tiles agree on the objects they share:

- coins: Sobel elevation + watershed from dark / bright markers, holes filled -> ``coin``;
- Hubble deep field: smoothed luminance, hysteresis threshold, holes filled; compact
  objects (at most 60 px, eccentricity below 0.85) -> ``star``, the rest -> ``galaxy``;
- cell: smoothed, Otsu threshold, largest component, holes filled -> ``cell``.

A cut can split an object: each 8-connected piece becomes its own instance. Pieces
below twice their class's ``min_area`` or breaking another rule of ``examples/guideline.yaml``
are left out, so a perfect annotator has no guideline violation. Written as COCO instances with RLE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from skimage import color, filters, measure, segmentation

from qc import masks
from qc.checks import check_submission
from qc.demo import DemoImage, demo_images, image_infos, source_picture
from qc.formats import Category, write_instances
from qc.guideline import ClassKind, Guideline, load_guideline
from qc.match import Segment

logger = logging.getLogger("make_truth")

HERE = Path(__file__).resolve().parent
GUIDELINE = HERE.parent / "guideline.yaml"
OUTPUT = HERE / "truth.json"

COIN, CELL, GALAXY, STAR = 1, 2, 3, 4
EIGHT = np.ones((3, 3), dtype=bool)
LabelMap = tuple[npt.NDArray[np.int32], dict[int, int]]
"""A label map of a whole picture and the class of each label."""


def segment_coins(pixels: npt.NDArray[np.uint8]) -> LabelMap:
    elevation = filters.sobel(pixels)
    markers = np.zeros(pixels.shape, dtype=np.int32)
    markers[pixels < 30] = 1
    markers[pixels > 150] = 2
    foreground = ndimage.binary_fill_holes(segmentation.watershed(elevation, markers) == 2)
    labels, count = ndimage.label(foreground, structure=EIGHT)
    return labels.astype(np.int32), dict.fromkeys(range(1, count + 1), COIN)


def segment_hubble(pixels: npt.NDArray[np.uint8]) -> LabelMap:
    luminance = filters.gaussian(color.rgb2gray(pixels), sigma=1)
    foreground = ndimage.binary_fill_holes(filters.apply_hysteresis_threshold(luminance, 0.3, 0.7))
    labels, _ = ndimage.label(foreground, structure=EIGHT)
    classes = {}
    for region in measure.regionprops(labels):
        compact = region.area <= 60 and region.eccentricity < 0.85
        classes[region.label] = STAR if compact else GALAXY
    return labels.astype(np.int32), classes


def segment_cell(pixels: npt.NDArray[np.uint8]) -> LabelMap:
    smooth = filters.gaussian(pixels.astype(np.float64), sigma=2, preserve_range=True)
    labels, _ = ndimage.label(smooth > filters.threshold_otsu(smooth), structure=EIGHT)
    largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    cell = ndimage.binary_fill_holes(labels == largest)
    return cell.astype(np.int32), {1: CELL}


SEGMENTERS: dict[str, Callable[[npt.NDArray[np.uint8]], LabelMap]] = {
    "coins": segment_coins,
    "hubble_deep_field": segment_hubble,
    "cell": segment_cell,
}


def image_segments(image: DemoImage, label_map: LabelMap, first_id: int) -> list[Segment]:
    """Every 8-connected piece of every object inside the image's cut, as a segment."""
    labels, classes = label_map
    x0, y0, x1, y1 = image.box
    cut = labels[y0:y1, x0:x1]
    segments: list[Segment] = []
    for label, where in enumerate(ndimage.find_objects(cut), 1):
        if where is None:
            continue
        pieces, count = ndimage.label(cut[where] == label, structure=EIGHT)
        for piece in range(1, count + 1):
            rows, cols = where
            region = (cols.start, rows.start, cols.stop, rows.stop)
            rle = masks.paste(pieces == piece, region, image.height, image.width)
            segments.append(Segment(first_id + len(segments), classes[label], rle))
    return segments


def clean(segments: list[Segment], image: DemoImage, guideline: Guideline) -> list[Segment]:
    """Leave out pieces below twice their class's ``min_area``, then every segment that breaks a rule.

    Twice ``min_area``: a simulated annotator keeps at least half of an object (qc.demo), so a
    shrunk outline of a kept object still has the area the guideline asks for.
    """
    min_area = {c.id: c.min_area for c in guideline.classes}
    segments = [s for s in segments if s.area >= 2 * min_area[s.category_id]]
    while True:
        found = check_submission(segments, height=image.height, width=image.width, guideline=guideline)
        bad = {v.segment_id for v in found} | {v.other_id for v in found if v.other_id is not None}
        if not bad:
            return segments
        segments = [s for s in segments if s.id not in bad]


def build() -> tuple[list[tuple[int, Segment]], list[Category], list[DemoImage]]:
    guideline = load_guideline(GUIDELINE)
    images = demo_images()
    label_maps = {name: segment(source_picture(name)) for name, segment in SEGMENTERS.items()}
    truth: list[tuple[int, Segment]] = []
    for image_id, image in enumerate(images, 1):
        segments = image_segments(image, label_maps[image.source], image_id * 1000 + 1)
        kept = clean(segments, image, guideline)
        truth.extend((image_id, s) for s in kept)
        logger.info("%-18s %3d instances (%d left out)", image.file_name, len(kept), len(segments) - len(kept))
    categories = [Category(c.id, c.name) for c in guideline.classes if c.kind is ClassKind.THING]
    return truth, categories, images


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    truth, categories, images = build()
    info: dict[str, Any] = {"description": "qc demo ground truth, built by examples/demo/make_truth.py"}
    write_instances(OUTPUT, image_infos(images), truth, categories, info=info)
    logger.info("wrote %d instances on %d images to %s", len(truth), len(images), OUTPUT)


if __name__ == "__main__":
    main()
