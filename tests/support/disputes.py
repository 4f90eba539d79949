"""A small round whose one image goes to review with three disputes, on a real database.

Three annotators (``ann``, ``bob``, ``cy``) each draw the 64 x 64 image ``img0.png``
(guideline: classes ``box`` 1 and ``disc`` 2, k = 3, ``accept_iou`` 0.8):

- a supported box at (2, 2): all three draw it exactly (the consensus keeps it);
- dispute 1, ``unsupported``: ann at (2, 40) and bob at (5, 40) (IoU 0.6), cy draws nothing:
  the fused candidate of two is their union (an even split counts as in);
- dispute 2, ``unsupported``: boxes at x = 40 / 42 / 44 (y = 2): pairs match but none agrees
  (IoU 0.71, 0.5, 0.71), and the fused majority is bob's box at x = 42;
- dispute 3, ``class_conflict``: ann and bob draw the same box at (30, 40), ann as ``box``, bob as
  ``disc``; cy draws nothing.

:func:`disputed_round` schedules, ingests, scores and closes it and adds the reviewer ``rita``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from qc import rounds
from qc.core import Category, ImageInfo, Segment
from qc.formats import coco
from qc.guideline import parse_guideline
from qc.store import db
from qc.store.api import add_images, add_person
from qc.store.rounds import list_people
from tests.support.rounds import H, W, rect

__all__ = ["DRAWN", "GUIDELINE_TWO_CLASSES", "DisputedRound", "deliver_boxes", "disputed_round"]

GUIDELINE_TWO_CLASSES = """
version: "1"
name: shapes2
task: instance
classes:
  - {id: 1, name: box, kind: thing, colour: "#ff0000", min_area: 4}
  - {id: 2, name: disc, kind: thing, colour: "#0000ff", min_area: 4}
thresholds: {accept_iou: 0.8, accept_boundary_iou: 0.0}
routing: {k: 3}
"""
CATEGORIES = [Category(1, "box"), Category(2, "disc")]

Drawn = dict[str, list[tuple[int, tuple[int, int]]]]
"""Per annotator: ``(class, (x, y))`` of each 12 x 12 box."""

DRAWN: Drawn = {
    "ann": [(1, (2, 2)), (1, (40, 2)), (1, (2, 40)), (1, (30, 40))],
    "bob": [(1, (2, 2)), (1, (42, 2)), (1, (5, 40)), (2, (30, 40))],
    "cy": [(1, (2, 2)), (1, (44, 2))],
}


@dataclass(frozen=True)
class DisputedRound:
    round_id: int
    image_id: int
    item_id: int
    people: dict[str, int]


def disputed_round(engine: Engine, folder: Path, drawn: Drawn = DRAWN, *, keep_open: bool = False) -> DisputedRound:
    """Schedule, deliver ``drawn``, score and close: the image is in review (see the module docstring).

    ``keep_open`` adds a second image nobody delivers, so that the round stays open (re-deliveries are ingested).
    """
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE_TWO_CLASSES))
        infos = [ImageInfo(i, f"img{i}.png", H, W) for i in range(2 if keep_open else 1)]
        image, *_ = add_images(session, project_id=ref.project_id, images=infos)
        image_id = int(image.id or 0)
        scheduled = rounds.schedule_round(
            session, project_id=ref.project_id, annotators=list(drawn), seed=1, k=3, name="r1"
        )
        add_person(session, name="rita", roles=["reviewer"])
    deliver_boxes(folder, image_id, drawn)
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=scheduled.round_id, folder=folder)
        rounds.score_images(session, round_id=scheduled.round_id, image_ids=[image_id])
        closed = rounds.close_round(session, round_id=scheduled.round_id)
        people = {p.name: int(p.id or 0) for p in list_people(session)}
    if closed.review != (image_id,):
        raise AssertionError(f"the image should be in review; close gave {closed.to_dict()}")
    with db.session_scope(engine, write=False) as session:
        from qc.store import review as store

        item = store.item_of_image(session, round_id=scheduled.round_id, image_id=image_id)
        assert item is not None and item.id is not None
    return DisputedRound(scheduled.round_id, image_id, int(item.id), people)


def deliver_boxes(folder: Path, image_id: int, drawn: Drawn) -> None:
    """Write ``<folder>/<annotator>.json`` (COCO) of each annotator's boxes on ``img0.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = ImageInfo(image_id, "img0.png", H, W)
    for name, boxes in drawn.items():
        segments = [(image_id, Segment(k + 1, cls, rect(*xy))) for k, (cls, xy) in enumerate(boxes)]
        coco.write_instances(folder / f"{name}.json", [info], segments, CATEGORIES)
