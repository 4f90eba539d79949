"""Metric-core benchmark (issue: metric core). Run: ``make bench`` or ``.venv/bin/python -m bench.metrics``.

Workload: 200 images of 1024x768, 3 annotators with boundary noise 1 / 1.5 / 3 px,
20 instances each (perturbed polygons, seeded). Printed, measured in one run:

1. ``boundary_iou`` on crops against the same definition computed on the whole
   padded image (erosion by a 3x3 square, d times): identical values, speed-up;
2. matching + mask IoU + Boundary IoU for all groups of one image (ms per image, one
   core), and the whole ``score_image`` (adds support, consensus, leave-one-out);
3. ``staple`` against SimpleITK on 3 to 6 raters of 512x512.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

import numpy as np

from bench.reference_boundary import boundary_iou_full_image
from bench.workload import make_images
from qc.agreement import AgreementSettings, score_image
from qc.agreement._groups import _GroupCrops as GroupCrops
from qc.match import group_instances
from qc.metrics import boundary_iou
from qc.metrics._boundary import _band_width


def bench_boundary(images: list, *, pairs_wanted: int) -> dict:
    """Crop-based boundary IoU vs the literal full-image definition on matched pairs."""
    pairs = []
    for image in images:
        for group in group_instances(image.annotators):
            for (_, first), (_, second) in itertools.combinations(group.members, 2):
                pairs.append((first.rle, second.rle))
        if len(pairs) >= pairs_wanted:
            break
    pairs = pairs[:pairs_wanted]
    start = time.perf_counter()
    fast = [boundary_iou(a, b) for a, b in pairs]
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    slow = [boundary_iou_full_image(a, b) for a, b in pairs]
    slow_s = time.perf_counter() - start
    worst = max(abs(x - y) for x, y in zip(fast, slow, strict=True))
    return {
        "pairs": len(pairs),
        "crop_ms": fast_s / len(pairs) * 1e3,
        "full_ms": slow_s / len(pairs) * 1e3,
        "speedup": slow_s / fast_s,
        "max_abs_diff": worst,
    }


def groups_and_pair_scores(image) -> int:  # type: ignore[no-untyped-def]
    """Matching + mask IoU + Boundary IoU for every pair in every group of one image."""
    d = _band_width(image.height, image.width, 0.02)
    scored = 0
    for group in group_instances(image.annotators):
        crops = GroupCrops.build(group, d, image.height, image.width)
        for a, b in itertools.combinations(group.annotators, 2):
            crops.score(crops.masks[a], crops.masks[b], crops.bands[a], crops.bands[b])
            scored += 1
    return scored


def fresh(images: list) -> list:
    """Copies of the images' segments without cached bboxes, as a scoring run loads them."""
    from qc.match import Segment

    out = []
    for image in images:
        by = {a: [Segment(s.id, s.category_id, dict(s.rle)) for s in segs] for a, segs in image.annotators.items()}
        out.append(type(image)(image.height, image.width, image.truth, by))
    return out


def bench_per_image(images: list) -> dict:
    timings_pairs, timings_full = [], []
    settings = AgreementSettings()
    for image in fresh(images):
        start = time.perf_counter()
        groups_and_pair_scores(image)
        timings_pairs.append(time.perf_counter() - start)
    for image in fresh(images):
        start = time.perf_counter()
        score_image(image.annotators, height=image.height, width=image.width, settings=settings)
        timings_full.append(time.perf_counter() - start)
    return {
        "images": len(images),
        "pairs_median_ms": statistics.median(timings_pairs) * 1e3,
        "pairs_p95_ms": float(np.percentile(timings_pairs, 95)) * 1e3,
        "score_median_ms": statistics.median(timings_full) * 1e3,
        "score_p95_ms": float(np.percentile(timings_full, 95)) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--boundary-pairs", type=int, default=300)
    parser.add_argument("--skip-staple", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    images = make_images(args.images)
    print(
        f"workload: {args.images} images 1024x768, 3 annotators x 20 instances, made in "
        f"{time.perf_counter() - start:.1f} s"
    )

    row = bench_boundary(images, pairs_wanted=args.boundary_pairs)
    print("\n1. boundary_iou, crop vs whole padded image (3x3 erosion d times), matched pairs")
    print(
        f"   pairs {row['pairs']}: crop {row['crop_ms']:.3f} ms/pair, full image {row['full_ms']:.2f} ms/pair, "
        f"speed-up {row['speedup']:.1f}x (target >= 8x), max |diff| {row['max_abs_diff']:.1e} (must be 0)"
    )

    row = bench_per_image(images)
    print("\n2. per image, one core")
    print(
        f"   matching + mask IoU + Boundary IoU, all groups: median {row['pairs_median_ms']:.2f} ms, "
        f"p95 {row['pairs_p95_ms']:.2f} ms (target <= 10 ms)"
    )
    print(
        f"   whole score_image (+ support, consensus, leave-one-out): median {row['score_median_ms']:.2f} ms, "
        f"p95 {row['score_p95_ms']:.2f} ms"
    )

    if not args.skip_staple:
        print("\n3. ", end="")
        from bench_staple import run

        run()


if __name__ == "__main__":
    main()
