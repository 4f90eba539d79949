"""Seeded synthetic workloads shared by the benchmarks: images of perturbed polygons, k annotators."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qc import masks
from qc.match import Segment


@dataclass(frozen=True)
class SyntheticImage:
    height: int
    width: int
    truth: list[list[float]]  # one polygon per instance
    annotators: dict[str, list[Segment]]


def blob_polygon(rng: np.random.Generator, cx: float, cy: float, radius: float, points: int = 24) -> np.ndarray:
    """A star-shaped blob: (points, 2) array of x, y."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, points))
    radii = radius * rng.uniform(0.75, 1.15, points)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)


def perturb(rng: np.random.Generator, polygon: np.ndarray, sigma: float) -> np.ndarray:
    """An annotator's tracing of ``polygon``: a small shift plus vertex noise of ``sigma`` px."""
    shift = rng.normal(0, sigma / 2, 2)
    return polygon + shift + rng.normal(0, sigma, polygon.shape)


def make_image(
    rng: np.random.Generator,
    *,
    height: int = 768,
    width: int = 1024,
    instances: int = 20,
    annotators: int = 3,
    sigmas: tuple[float, ...] = (1.0, 1.5, 3.0),
    categories: int = 3,
) -> SyntheticImage:
    truth = []
    classes = []
    for _ in range(instances):
        radius = rng.uniform(12, 60)
        cx, cy = rng.uniform(radius, width - radius), rng.uniform(radius, height - radius)
        truth.append(blob_polygon(rng, cx, cy, radius))
        classes.append(int(rng.integers(1, categories + 1)))
    by_annotator: dict[str, list[Segment]] = {}
    for k in range(annotators):
        sigma = sigmas[k % len(sigmas)]
        segments = []
        for index, (polygon, category) in enumerate(zip(truth, classes, strict=True)):
            traced = np.clip(perturb(rng, polygon, sigma), 0, [width, height])
            rle = masks.from_polygons([traced.ravel().tolist()], height, width)
            segments.append(Segment(f"a{k}-{index}", category, rle))
        by_annotator[f"annotator{k + 1}"] = segments
    return SyntheticImage(height, width, [p.ravel().tolist() for p in truth], by_annotator)


def make_images(count: int, *, seed: int = 20261126, **options: object) -> list[SyntheticImage]:
    rng = np.random.default_rng(seed)
    return [make_image(rng, **options) for _ in range(count)]  # type: ignore[arg-type]


def offline_prefect(home: Path) -> None:
    """Prefect for a benchmark: its local temporary server, quiet, no analytics, its home in ``home``."""
    for key, value in {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_HOME": str(home),
    }.items():
        os.environ.setdefault(key, value)
