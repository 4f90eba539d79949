"""A delivered round of synthetic images (perturbed polygons, 3 annotators) for drills, Dask tests and benchmarks.

The images come from ``bench/_workload.py`` (seeded), so every call with the same sizes
builds the same round. :func:`prepare` sets up the database and the round and writes one
COCO file per annotator; :func:`ingest` stores them (kept apart for the ingest drill).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench._workload import make_images
from qc import rounds
from qc.formats import coco
from qc.formats._base import Category, ImageInfo
from qc.guideline import parse_guideline
from qc.match import Segment
from qc.store import db
from qc.store import models as m
from qc.store.api import add_images

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


SKIPPED = {"id", "created_at", "scored_at"}
ROUND_TABLES = ("score", "flag", "image_result", "consensus_segment")


def stored_contents(url: str, round_id: int) -> dict[str, list[tuple[str, ...]]]:
    """Every score, flag, image result and consensus segment of a round without ids and timestamps, sorted."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            out = {}
            for name in ROUND_TABLES:
                table = m.SQLModel.metadata.tables[name]
                columns = [c for c in table.columns if c.name not in SKIPPED]
                rows = connection.execute(select(*columns).where(table.c.round_id == round_id))
                out[name] = sorted(tuple(str(v) for v in row) for row in rows)
            return out
    finally:
        engine.dispose()
