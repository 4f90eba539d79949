"""qc.rounds on a real SQLite database, without Prefect: routing, adaptive overlap, idempotence, closing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from qc import masks, rounds
from qc.core import Category, ImageInfo, Segment
from qc.errors import ConflictError, QCError
from qc.formats import coco
from qc.guideline import parse_guideline
from qc.store import db
from qc.store import models as m
from qc.store.api import add_images

GUIDELINE = """
version: "1"
name: shapes
task: instance
classes:
  - {id: 1, name: box, kind: thing, colour: "#ff0000", min_area: 4}
thresholds: {accept_iou: 0.8, accept_boundary_iou: 0.5}
routing: {k: 3, k_initial: 2, k_max: 3}
"""
H = W = 64
CATEGORIES = [Category(1, "box")]


def rect(x: int, y: int, w: int = 12, h: int = 12) -> dict:
    mask = np.zeros((H, W), bool)
    mask[y : y + h, x : x + w] = True
    return masks.encode(mask)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'qc.db'}")
    db.upgrade(engine)
    return engine


def setup_round(engine: Engine, images: int = 2) -> tuple[int, list[int]]:
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        infos = [ImageInfo(i, f"img{i}.png", H, W) for i in range(images)]
        ids = [int(r.id or 0) for r in add_images(session, project_id=ref.project_id, images=infos)]
        result = rounds.schedule_round(
            session, project_id=ref.project_id, annotators=["ann", "bob", "cy"], seed=3, name="r1"
        )
    return result.round_id, ids


def assigned(session: Session, round_id: int, image_id: int) -> list[str]:
    rows = session.execute(
        select(m.Person.name)
        .join(m.Assignment, m.Assignment.annotator_id == m.Person.id)  # type: ignore[arg-type]
        .where(m.Assignment.round_id == round_id, m.Assignment.image_id == image_id)
    )
    return sorted(r[0] for r in rows)


def deliver(folder: Path, annotator: str, image_ids: list[int], boxes: dict[int, list[tuple[int, int]]]) -> None:
    infos = [ImageInfo(i, f"img{i - 1}.png", H, W) for i in image_ids]  # setup_round's names: ids count from 1
    segments = [
        (image_id, Segment(image_id * 100 + k, 1, rect(*xy)))
        for image_id in image_ids
        for k, xy in enumerate(boxes[image_id])
    ]
    folder.mkdir(parents=True, exist_ok=True)
    coco.write_instances(folder / f"{annotator}.json", infos, segments, CATEGORIES)


def test_schedule_routes_each_image_to_k_initial_annotators(engine: Engine) -> None:
    round_id, images = setup_round(engine, images=3)
    with db.session_scope(engine, write=False) as session:
        assert [len(assigned(session, round_id, i)) for i in images] == [2, 2, 2]
        with pytest.raises(ConflictError, match="round named 'r1'"):
            rounds.schedule_round(session, project_id=1, annotators=["ann", "bob"], seed=1, name="r1")


def test_disagreement_escalates_to_a_third_annotator_who_settles_it(engine: Engine, tmp_path: Path) -> None:
    round_id, (image, other) = setup_round(engine)
    with db.session_scope(engine) as session:
        first = assigned(session, round_id, image)
        others = assigned(session, round_id, other)
    # on `image` the first two annotators disagree (one misses the second box); on `other` they agree
    for name in sorted(set(first) | set(others)):
        mine = [i for i, people in ((image, first), (other, others)) if name in people]
        boxes = {image: [(5, 5), (40, 40)] if name == first[0] else [(5, 5)], other: [(20, 20)]}
        deliver(tmp_path / "d1", name, mine, boxes)
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d1")
        assert sorted(rounds.pending_images(session, round_id=round_id)) == sorted([image, other])
        outcomes = {o.image_id: o for o in rounds.score_images(session, round_id=round_id, image_ids=[image, other])}
    assert outcomes[other].verdict == "accepted" and outcomes[other].labels == 2
    assert outcomes[image].verdict == "escalate"
    third = outcomes[image].followup
    assert third is not None and third not in first
    with db.session_scope(engine) as session:
        assert assigned(session, round_id, image) == sorted([*first, third])
        assert rounds.pending_images(session, round_id=round_id) == []  # the third has not delivered
    deliver(tmp_path / "d2", third, [image], {image: [(5, 5), (40, 40)]})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d2")
        assert rounds.pending_images(session, round_id=round_id) == [image]
        (again,) = rounds.score_images(session, round_id=round_id, image_ids=[image])
    assert again.verdict == "accepted" and again.labels == 3
    assert again.findings == {"missed": 1}  # the annotator who missed the box gets feedback, not a review
    with db.session_scope(engine, write=False) as session:
        status = rounds.round_status(session, round_id=round_id)
        assert status.labels_per_accepted == pytest.approx(2.5)
        assert session.scalar(select(func.count()).select_from(m.ImageResult)) == 2


def test_scoring_an_incomplete_image_is_refused(engine: Engine) -> None:
    round_id, (image, _) = setup_round(engine)
    with db.session_scope(engine) as session, pytest.raises(QCError, match="0 of 2 annotators delivered"):
        rounds.score_images(session, round_id=round_id, image_ids=[image])


def test_close_queues_review_and_opens_one_rework_round_per_decision(engine: Engine, tmp_path: Path) -> None:
    round_id, (image, other) = setup_round(engine)
    with db.session_scope(engine) as session:
        people = {i: assigned(session, round_id, i) for i in (image, other)}
    for name in sorted(set(people[image]) | set(people[other])):
        mine = [i for i in (image, other) if name in people[i]]
        deliver(tmp_path / "d", name, mine, {image: [(5, 5)], other: [(20, 20)]})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d")
        rounds.score_images(session, round_id=round_id, image_ids=[image, other])
        first = rounds.close_round(session, round_id=round_id, export_path=tmp_path / "out.json")
    assert first.status == "closed" and sorted(first.accepted) == sorted([image, other])
    assert first.exported_images == 2 and first.rework_round_id is None
    with db.session_scope(engine) as session:  # a reviewer sent `image` back
        item = m.ReviewItem(round_id=round_id, image_id=image, status="decided")
        session.add(item)
        session.flush()
        session.add(m.Decision(review_item_id=item.id or 0, reviewer_id=1, kind="rework", note="redo the edge"))
    with db.session_scope(engine) as session:
        second = rounds.close_round(session, round_id=round_id)
        third = rounds.close_round(session, round_id=round_id)
        rework_people = assigned(session, second.rework_round_id or 0, image)
    assert second.rework_round_id is not None and third.rework_round_id is None
    assert rework_people == people[image]


def test_panoptic_projects_export_coco_panoptic_without_overlaps(engine: Engine, tmp_path: Path) -> None:
    from qc.formats.panoptic import read_panoptic
    from qc.store.results import save_image_result

    text = GUIDELINE.replace("task: instance", "task: panoptic").replace('version: "1"', 'version: "p1"')
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(text), name="pan")
        (image,) = add_images(session, project_id=ref.project_id, images=[ImageInfo(1, "p.png", H, W)])
        round_id = rounds.schedule_round(session, project_id=ref.project_id, annotators=["ann", "bob"], seed=1).round_id
        save_image_result(
            session, round_id=round_id, image_id=image.id or 0, input_hash="x", verdict="accepted", labels_spent=2,
            summary={}, scores=[], flags=[], consensus=[(1, rect(5, 5)), (1, rect(10, 10))],
        )  # fmt: skip
        count = rounds.export_consensus(session, round_id=round_id, image_ids=[image.id or 0], path=tmp_path / "p.json")
    assert count == 1
    parsed = read_panoptic(tmp_path / "p.json")
    assert parsed.rejections == []
    areas = sorted(masks.area(s.rle) for _, s in parsed.segments)
    assert areas == [144 - 49, 144]  # the second 12x12 square loses the 7x7 overlap to the first
    union = masks.merge([s.rle for _, s in parsed.segments])
    assert masks.area(union) == 144 + 144 - 49


def test_batch_segment_loading_equals_one_by_one(engine: Engine, tmp_path: Path) -> None:
    from qc.store.ingest import latest_submissions
    from qc.store.segments import load_segments, load_segments_of

    round_id, (image, other) = setup_round(engine)
    with db.session_scope(engine) as session:
        people = {i: assigned(session, round_id, i) for i in (image, other)}
    for name in sorted(set(people[image]) | set(people[other])):
        mine = [i for i in (image, other) if name in people[i]]
        deliver(tmp_path / "d", name, mine, {image: [(5, 5), (30, 30)], other: []})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d")
        ids = [ref.submission_id for ref in latest_submissions(session, round_id=round_id)]
        batch = load_segments_of(session, submission_ids=ids)
        assert batch == {sid: load_segments(session, submission_id=sid) for sid in ids}
    assert sorted(len(v) for v in batch.values()) == [0, 0, 2, 2]  # `other` was delivered empty
