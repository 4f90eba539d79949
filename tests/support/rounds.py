"""A small instance round on a real SQLite database: a 64 x 64 one-class guideline, boxes as masks, deliveries.

``setup_round`` creates the project, ``images`` images (``img0.png``, ...) and round ``r1``
routed to two of ``ann``, ``bob``, ``cy`` per image; ``deliver`` writes an annotator's COCO
file of 12 x 12 boxes; ``assigned`` lists who owes an image. The ``engine`` fixture is a
migrated SQLite file per test (import it into a test module or a conftest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.ingest_png import GUIDELINE as PNG_BENCH_GUIDELINE
from qc import masks, rounds
from qc.core import Category, ImageInfo, Segment
from qc.formats import coco
from qc.guideline import parse_guideline
from qc.store import db
from qc.store.api import add_images, list_assignments
from qc.store.rounds import list_people
from tests.support.databases import upgraded

__all__ = [
    "CATEGORIES",
    "GUIDELINE",
    "STREETS",
    "H",
    "W",
    "assigned",
    "deliver",
    "deliver_all",
    "engine",
    "rect",
    "setup_round",
]

GUIDELINE = """
version: "1"
name: shapes
task: instance
classes:
  - {id: 1, name: box, kind: thing, colour: "#ff0000", min_area: 4}
thresholds: {accept_iou: 0.8, accept_boundary_iou: 0.5}
routing: {k: 3, k_initial: 2, k_max: 3}
"""
STREETS = PNG_BENCH_GUIDELINE
"""A semantic guideline for PNG deliveries (grey roads, red cars): the one bench.ingest_png measures with."""
H = W = 64
CATEGORIES = [Category(1, "box")]


def rect(x: int, y: int, w: int = 12, h: int = 12) -> dict[str, Any]:
    """A ``w`` x ``h`` box at ``(x, y)`` in the 64 x 64 frame, as RLE."""
    mask = np.zeros((H, W), bool)
    mask[y : y + h, x : x + w] = True
    return masks.encode(mask)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A migrated SQLite file of its own."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'qc.db'}")
    upgraded(engine)
    return engine


def setup_round(engine: Engine, images: int = 2) -> tuple[int, list[int]]:
    """The round id and the image ids of a fresh round ``r1`` (seed 3) over ``images`` images."""
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        infos = [ImageInfo(i, f"img{i}.png", H, W) for i in range(images)]
        ids = [int(r.id or 0) for r in add_images(session, project_id=ref.project_id, images=infos)]
        result = rounds.schedule_round(
            session, project_id=ref.project_id, annotators=["ann", "bob", "cy"], seed=3, name="r1"
        )
    return result.round_id, ids


def assigned(session: Session, round_id: int, image_id: int) -> list[str]:
    """The names of the people assigned ``image_id`` in the round, sorted."""
    names = {p.id: p.name for p in list_people(session)}
    return sorted(names[a.annotator_id] for a in list_assignments(session, round_id=round_id) if a.image_id == image_id)


def deliver(folder: Path, annotator: str, image_ids: list[int], boxes: dict[int, list[tuple[int, int]]]) -> None:
    """Write ``<folder>/<annotator>.json``: per image, a 12 x 12 box at each ``(x, y)`` of ``boxes``."""
    infos = [ImageInfo(i, f"img{i - 1}.png", H, W) for i in image_ids]  # setup_round's names: ids count from 1
    segments = [
        (image_id, Segment(image_id * 100 + k, 1, rect(*xy)))
        for image_id in image_ids
        for k, xy in enumerate(boxes[image_id])
    ]
    folder.mkdir(parents=True, exist_ok=True)
    coco.write_instances(folder / f"{annotator}.json", infos, segments, CATEGORIES)


def deliver_all(
    engine: Engine, round_id: int, image_ids: list[int], boxes: dict[int, list[tuple[int, int]]], folder: Path
) -> dict[int, list[str]]:
    """Every assigned annotator delivers ``boxes`` for the images they owe into ``folder``; returns who owes what."""
    with db.session_scope(engine, write=False) as session:
        people = {i: assigned(session, round_id, i) for i in image_ids}
    for name in sorted({n for names in people.values() for n in names}):
        deliver(folder, name, [i for i in image_ids if name in people[i]], boxes)
    return people
