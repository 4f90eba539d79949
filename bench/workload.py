"""Seeded synthetic workloads for the benchmarks, drills and the tests that need a real round.

- :func:`make_images`: images of perturbed polygons (star-shaped blobs), k annotators tracing each
  with their own vertex noise;
- :func:`prepare` / :func:`ingest`: a database with a project, a round routed to 3 annotators and
  their COCO files written (and ingested), the same round for the same sizes every time;
- :func:`stored_contents`: a round's derived rows without ids and times, to compare two runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qc import masks, rounds
from qc.core import Category, ImageInfo, Segment
from qc.formats import coco
from qc.guideline import parse_guideline
from qc.store import audit, db
from qc.store.api import add_images


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


GUIDELINE = """
version: "drill-1"
name: drill
task: instance
classes:
  - {id: 1, name: a, kind: thing, colour: "#ff0000", min_area: 20, max_parts: 3}
  - {id: 2, name: b, kind: thing, colour: "#00ff00", min_area: 20, max_parts: 3}
  - {id: 3, name: c, kind: thing, colour: "#0000ff", min_area: 20, max_parts: 3}
thresholds: {accept_iou: 0.8, accept_boundary_iou: 0.6, overlap_allowance: 0.5}
routing: {k: 3}
"""
ANNOTATORS = ("annotator1", "annotator2", "annotator3")
SMALL: dict[str, Any] = {"height": 192, "width": 256, "instances": 6}


@dataclass(frozen=True)
class Prepared:
    url: str
    round_id: int
    delivery: Path


def prepare(url: str, folder: Path, count: int, *, ingested: bool = True, **sizes: Any) -> Prepared:
    """A project with ``count`` images, a round routed to 3 annotators, their COCO files in ``folder/delivery``."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    images = make_images(count, **sizes)
    infos = [ImageInfo(i + 1, f"img{i:05d}.png", im.height, im.width) for i, im in enumerate(images)]
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        add_images(session, project_id=ref.project_id, images=infos)
        round_id = rounds.schedule_round(session, project_id=ref.project_id, annotators=ANNOTATORS, seed=1).round_id
    engine.dispose()
    delivery = folder / "delivery"
    delivery.mkdir(parents=True, exist_ok=True)
    categories = [Category(c, str(c)) for c in (1, 2, 3)]
    for name in ANNOTATORS:
        segments = [
            (info.id, Segment(info.id * 100 + j, s.category_id, s.rle))
            for info, image in zip(infos, images, strict=True)
            for j, s in enumerate(image.annotators[name])
        ]
        coco.write_instances(delivery / f"{name}.json", infos, segments, categories)
    prepared = Prepared(url, round_id, delivery)
    if ingested:
        ingest(prepared)
    return prepared


def ingest(prepared: Prepared) -> None:
    """Ingest the delivery folder into the round (one transaction)."""
    engine = db.make_engine(prepared.url)
    try:
        with db.session_scope(engine) as session:
            rounds.ingest_folder(session, round_id=prepared.round_id, folder=prepared.delivery)
    finally:
        engine.dispose()


def stored_contents(url: str, round_id: int) -> dict[str, list[tuple[str, ...]]]:
    """Every score, flag, image result and consensus segment of a round without ids and timestamps, sorted."""
    with db.session_for(url, write=False) as session:
        return audit.round_contents(session, round_id=round_id)
