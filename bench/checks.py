"""Benchmark: every guideline check on one 1024 x 768 image with 20 instances.

Seeded random star-shaped polygons (``qc.masks.from_polygons``) of radius 20-90 px, some
overlapping; a panoptic guideline so both ``overlap`` and ``unlabeled`` run, with every
per-class rule switched on and a drawn box per segment. Prints the median of 50 repeats.
Target: at most 5 ms.

Run: ``.venv/bin/python -m bench.checks``
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from qc import masks
from qc.checks import check_submission
from qc.core import Segment
from qc.guideline import parse_guideline

HEIGHT, WIDTH, INSTANCES, REPEATS, TARGET_MS = 768, 1024, 20, 50, 5.0

GUIDELINE = parse_guideline(
    """
version: "bench"
task: panoptic
thresholds: {overlap_allowance: 0.01, void_allowance: 0.5}
classes:
  - {id: 1, name: blob, kind: thing, colour: "#ff0000", min_area: 50, max_parts: 1, allow_holes: false,
     min_hole_area: 4, box_tolerance: 2, min_area_perimeter_ratio: 2.0}
  - {id: 2, name: spot, kind: thing, colour: "#00ff00", min_area: 10, max_parts: 2, allow_holes: false,
     box_tolerance: 0, min_area_perimeter_ratio: 1.0}
""",
    source="bench",
)


def random_segments(seed: int = 0) -> tuple[list[Segment], dict[int, tuple[float, float, float, float]]]:
    """20 seeded star-shaped polygons and a drawn box per segment (its bbox, jittered)."""
    rng = np.random.default_rng(seed)
    segments, boxes = [], {}
    for index in range(INSTANCES):
        cx, cy = rng.uniform(60, WIDTH - 60), rng.uniform(60, HEIGHT - 60)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 16))
        radii = rng.uniform(20, 90) * rng.uniform(0.5, 1.0, 16)
        polygon = np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)]).ravel()
        rle = masks.from_polygons([polygon.tolist()], HEIGHT, WIDTH)
        segments.append(Segment(index, 1 + index % 2, rle))
        x, y, w, h = masks.bbox(rle)
        boxes[index] = (x + rng.uniform(-3, 3), y + rng.uniform(-3, 3), float(w), float(h))
    return segments, boxes


def main() -> None:
    segments, boxes = random_segments()
    found = check_submission(segments, height=HEIGHT, width=WIDTH, guideline=GUIDELINE, boxes=boxes)
    timings, cpu = [], []
    for _ in range(REPEATS):
        start, start_cpu = time.perf_counter(), time.thread_time()
        check_submission(segments, height=HEIGHT, width=WIDTH, guideline=GUIDELINE, boxes=boxes)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    median = statistics.median(timings)
    rules = sorted({violation.rule.value for violation in found})
    print(f"checks on {WIDTH}x{HEIGHT}, {INSTANCES} instances: {len(found)} violations ({', '.join(rules)})")
    verdict = "OK" if median <= TARGET_MS else "SLOW"
    cpu_median = statistics.median(cpu)
    print(f"median of {REPEATS}: {median:.2f} ms wall, {cpu_median:.2f} ms CPU (target <= {TARGET_MS:g} ms) {verdict}")


if __name__ == "__main__":
    main()
