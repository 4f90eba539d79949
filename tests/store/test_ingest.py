"""Ingest: segments round-trip, re-ingest is a no-op, changes are new versions, failures store nothing."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from qc import masks
from qc.core import ImageInfo, Segment
from qc.errors import ConflictError, NotFoundError
from qc.formats._base import ParsedAnnotations, Rejection
from qc.store import api, db, ingest, models
from qc.store.segments import load_segments

H, W = 6, 8


@dataclass(frozen=True)
class World:
    """One project with images a.png, b.png, c.png; alice owes a and b, bob owes a and c, in round ``round_id``."""

    round_id: int
    alice: int
    bob: int
    images: dict[str, int]

    def assignment(self, engine: Engine, file_name: str, annotator: int) -> int:
        with db.session_scope(engine) as session:
            rows = api.list_assignments(session, round_id=self.round_id, annotator_id=annotator)
            return next(a.id for a in rows if a.image_id == self.images[file_name] and a.id is not None)


@pytest.fixture
def world(engine: Engine) -> World:
    with db.session_scope(engine) as session:
        project = api.create_project(session, name="demo", task_type="instance")
        assert project.id is not None
        infos = [ImageInfo(i, name, H, W) for i, name in enumerate(["a.png", "b.png", "c.png"], start=1)]
        images = {row.file_name: row.id for row in api.add_images(session, project_id=project.id, images=infos)}
        alice = api.add_person(session, name="alice", roles=["annotator"]).id
        bob = api.add_person(session, name="bob", roles=["annotator", "reviewer"]).id
        round_row = api.create_round(session, project_id=project.id, k=2)
        assert round_row.id is not None and alice is not None and bob is not None
        pairs = [(images["a.png"], alice), (images["b.png"], alice), (images["a.png"], bob), (images["c.png"], bob)]
        assert api.add_assignments(session, round_id=round_row.id, pairs=pairs) == 4
        return World(round_row.id, alice, bob, {k: v for k, v in images.items() if v is not None})


def box_mask(x0: int, y0: int, x1: int, y1: int, height: int = H, width: int = W) -> dict[str, Any]:
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return masks.encode(mask)


def parsed_file(
    segments: list[tuple[int, Segment]],
    *,
    names: tuple[str, ...] = ("a.png", "b.png"),
    rejections: tuple[Rejection, ...] = (),
    path: str = "alice.json",
) -> ParsedAnnotations:
    """A file listing ``names`` as images 1, 2, ... with the given (image id, segment) pairs."""
    images = {i: ImageInfo(i, name, H, W) for i, name in enumerate(names, start=1)}
    return ParsedAnnotations(
        path=path, format="coco", images=images, segments=list(segments), rejections=list(rejections)
    )


def two_image_file() -> ParsedAnnotations:
    return parsed_file(
        [
            (1, Segment(10, 1, box_mask(0, 0, 3, 2))),
            (1, Segment(11, 2, box_mask(4, 1, 8, 6), iscrowd=True)),
            (2, Segment(12, 1, box_mask(2, 2, 5, 5))),
        ]
    )


def count(session: Session, model: type[SQLModel]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def ingest_alice(engine: Engine, world: World, parsed: ParsedAnnotations, digest: str) -> ingest.IngestResult:
    with db.session_scope(engine) as session:
        return ingest.ingest_file(
            session, round_id=world.round_id, annotator_id=world.alice, parsed=parsed, content_hash=digest
        )


def test_ingest_stores_segments_equal_to_the_input(engine: Engine, world: World) -> None:
    parsed = two_image_file()
    result = ingest_alice(engine, world, parsed, "f1")
    assert len(result.created) == 2 and result.segments == 3 and result.rejections == 0
    with db.session_scope(engine) as session:
        refs = ingest.latest_submissions(session, round_id=world.round_id)
        assert [(r.image_id, r.annotator_id, r.version) for r in refs] == [
            (world.images["a.png"], world.alice, 1),
            (world.images["b.png"], world.alice, 1),
        ]
        loaded = load_segments(session, submission_id=refs[0].submission_id)
        rows = session.scalars(select(models.Segment).order_by(models.Segment.id)).all()  # type: ignore[arg-type]
    expected = [seg for _, seg in parsed.segments[:2]]
    assert [(s.category_id, s.rle, s.iscrowd) for s in loaded] == [(s.category_id, s.rle, s.iscrowd) for s in expected]
    assert [r.source_id for r in rows] == ["10", "11", "12"]
    for row, (_, seg) in zip(rows, parsed.segments, strict=True):
        assert row.rle_counts == seg.rle["counts"]
        assert row.area == masks.area(seg.rle)
        assert (row.bbox_x, row.bbox_y, row.bbox_w, row.bbox_h) == masks.bbox(seg.rle)
    assert rows[0].area == 6 and (rows[1].bbox_x, rows[1].bbox_y, rows[1].bbox_w, rows[1].bbox_h) == (4, 1, 4, 5)


def test_reingesting_the_same_content_stores_nothing(engine: Engine, world: World) -> None:
    first = ingest_alice(engine, world, two_image_file(), "f1")
    again = ingest_alice(engine, world, two_image_file(), "f1")
    renamed = ingest_alice(engine, world, parsed_file(two_image_file().segments, path="renamed.json"), "f1-renamed")
    assert not first.stored_nothing
    assert again.stored_nothing and renamed.stored_nothing
    assert again.created == () and len(again.unchanged) == 2
    with db.session_scope(engine) as session:
        assert (count(session, models.Submission), count(session, models.Segment)) == (2, 3)
        assert count(session, models.Event) == 1


def test_a_changed_file_makes_version_two_and_keeps_version_one(engine: Engine, world: World) -> None:
    ingest_alice(engine, world, two_image_file(), "f1")
    changed = [*two_image_file().segments[:2], (2, Segment(12, 3, box_mask(0, 0, 8, 6)))]
    result = ingest_alice(engine, world, parsed_file(changed), "f2")
    b_assignment = world.assignment(engine, "b.png", world.alice)
    assert len(result.created) == 1 and result.unchanged == (world.assignment(engine, "a.png", world.alice),)
    with db.session_scope(engine) as session:
        versions = session.scalars(
            select(models.Submission).where(models.Submission.assignment_id == b_assignment)
        ).all()
        assert sorted(s.version for s in versions) == [1, 2]
        old, new = sorted(versions, key=lambda s: s.version)
        assert [(s.category_id, s.area) for s in load_segments(session, submission_id=old.id or 0)] == [(1, 9)]
        assert [(s.category_id, s.area) for s in load_segments(session, submission_id=new.id or 0)] == [(3, 48)]
        latest = ingest.latest_submissions(session, round_id=world.round_id, image_id=world.images["b.png"])
        assert [(r.submission_id, r.version) for r in latest] == [(new.id, 2)]
        assert (old.source_hash, new.source_hash) == ("f1", "f2")


def test_a_failure_mid_file_stores_nothing_of_it(engine: Engine, world: World) -> None:
    # image b's two segments share annotation id 12: the (submission, source id) unique constraint refuses
    # them after both submissions were inserted; none of the file's rows may remain.
    bad = [*two_image_file().segments, (2, Segment(12, 2, box_mask(0, 0, 1, 1)))]
    bad_file = parsed_file(bad, rejections=(Rejection("alice.json", 1, 99, "bbox", "bad bbox"),))
    with db.session_scope(engine) as session:
        api.add_person(session, name="carol", roles=["lead"])  # earlier work of the same transaction
        with pytest.raises(ConflictError, match="nothing of it was stored") as info:
            ingest.ingest_file(
                session, round_id=world.round_id, annotator_id=world.alice, parsed=bad_file, content_hash="bad"
            )
        assert info.value.path == "alice.json"
    with db.session_scope(engine) as session:
        stored = [count(session, t) for t in (models.Submission, models.Segment, models.Rejection, models.Event)]
        assert stored == [0, 0, 0, 0]
        assert api.find_person(session, name="carol").roles == ["lead"]


def test_everything_refused_is_stored_as_a_rejection(engine: Engine, world: World) -> None:
    segments = [
        (1, Segment(10, 1, box_mask(0, 0, 3, 2))),  # kept
        (2, Segment(11, 1, box_mask(0, 0, 3, 2, height=H + 1))),  # mask size differs from b.png
        (3, Segment(12, 1, box_mask(0, 0, 2, 2))),  # c.png is bob's, not alice's
        (4, Segment(13, 1, box_mask(0, 0, 2, 2))),  # zzz.png is not in the project
        (7, Segment(14, 1, box_mask(0, 0, 2, 2))),  # image 7 is not among the file's images
    ]
    reader_said = Rejection("alice.json", 1, 15, "segmentation", "polygon has 2 points")
    parsed = parsed_file(segments, names=("a.png", "b.png", "c.png", "zzz.png"), rejections=(reader_said,))
    result = ingest_alice(engine, world, parsed, "f1")
    assert result.segments + result.rejections == len(segments) + 1  # nothing silently dropped
    assert result.rejections == 5
    with db.session_scope(engine) as session:
        rows = ingest.list_rejections(session, round_id=world.round_id, annotator_id=world.alice)
        by_annotation = {r.annotation_ref: r for r in rows}
        assert set(by_annotation) == {"11", "12", "13", "14", "15"}
        assert by_annotation["11"].field == "segmentation" and "7x8" in by_annotation["11"].message
        assert "not assigned" in by_annotation["12"].message and by_annotation["12"].image_ref == "3"
        assert "not assigned" in by_annotation["13"].message
        assert "do not list" in by_annotation["14"].message
        assert by_annotation["15"].message == "polygon has 2 points"
        a_submission = ingest.latest_submissions(session, round_id=world.round_id, image_id=world.images["a.png"])
        assert by_annotation["15"].submission_id == a_submission[0].submission_id  # linked to image a's submission
        assert by_annotation["12"].submission_id is None
    again = ingest_alice(engine, world, parsed, "f1")
    assert again.stored_nothing
    with db.session_scope(engine) as session:
        assert count(session, models.Rejection) == 5


def test_image_size_mismatch_rejects_the_image_and_its_segments(engine: Engine, world: World) -> None:
    parsed = ParsedAnnotations(
        path="alice.json",
        format="coco",
        images={1: ImageInfo(1, "a.png", H * 2, W * 2)},
        segments=[(1, Segment(10, 1, box_mask(0, 0, 2, 2, H * 2, W * 2)))],
    )
    result = ingest_alice(engine, world, parsed, "f1")
    assert result.created == () and result.rejections == 2
    with db.session_scope(engine) as session:
        messages = [r.message for r in ingest.list_rejections(session, round_id=world.round_id)]
    assert all("12x16 (h x w) in the file but 6x8" in message for message in messages)


def test_events_are_appended_per_ingest(engine: Engine, world: World) -> None:
    first = ingest_alice(engine, world, two_image_file(), "f1")
    changed = parsed_file([(1, Segment(10, 1, box_mask(0, 0, 1, 1)))])
    second = ingest_alice(engine, world, changed, "f2")
    with db.session_scope(engine) as session:
        events = api.list_events(session, verb="ingest")
    assert [e.id for e in events] == [first.event_id, second.event_id]
    assert events[0].object_type == "round" and events[0].object_id == world.round_id
    assert events[0].payload["submissions"] == list(first.created)
    assert (events[0].payload["segments"], events[1].payload["segments"]) == (3, 1)
    assert events[1].payload["unchanged"] == 0 and events[1].payload["source_hash"] == "f2"


def test_an_assigned_image_without_segments_is_an_empty_submission(engine: Engine, world: World) -> None:
    result = ingest_alice(engine, world, parsed_file([], names=("b.png",)), "f1")
    assert len(result.created) == 1 and result.segments == 0
    assert result.missing == (world.assignment(engine, "a.png", world.alice),)
    with db.session_scope(engine) as session:
        assert load_segments(session, submission_id=result.created[0]) == []


def test_ingest_submission_takes_only_its_assignment(engine: Engine, world: World) -> None:
    assignment_id = world.assignment(engine, "a.png", world.bob)
    parsed = parsed_file(two_image_file().segments, path="bob.json")
    with db.session_scope(engine) as session:
        result = ingest.ingest_submission(
            session, assignment_id=assignment_id, parsed=parsed, source_path="bob.json", content_hash="b1"
        )
        refs = ingest.latest_submissions(session, round_id=world.round_id)
        event = api.list_events(session, object_type="assignment", object_id=assignment_id)
    assert (result.segments, result.rejections) == (2, 1)  # b.png's segment: not bob's
    assert [(r.assignment_id, r.annotator_id) for r in refs] == [(assignment_id, world.bob)]
    assert [e.id for e in event] == [result.event_id]


def test_ingest_into_a_closed_round_or_unknown_ids_is_refused(engine: Engine, world: World) -> None:
    with db.session_scope(engine) as session, pytest.raises(NotFoundError, match="no person with id 999"):
        ingest.ingest_file(
            session, round_id=world.round_id, annotator_id=999, parsed=two_image_file(), content_hash="x"
        )
    with db.session_scope(engine) as session:
        api.get_row(session, models.Round, world.round_id).status = models.RoundStatus.CLOSED.value
    with pytest.raises(ConflictError, match="closed"):
        ingest_alice(engine, world, two_image_file(), "f1")


def test_concurrent_ingests_of_different_annotators_all_succeed(engine: Engine, world: World) -> None:
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        pytest.skip("in-memory SQLite is one shared connection: no concurrent writers")
    files = {
        world.alice: two_image_file(),
        world.bob: parsed_file(two_image_file().segments, names=("a.png", "c.png"), path="bob.json"),
    }
    errors: list[BaseException] = []

    def work(annotator: int) -> None:
        try:
            with db.session_scope(engine) as session:
                ingest.ingest_file(
                    session, round_id=world.round_id, annotator_id=annotator, parsed=files[annotator], content_hash="h"
                )
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(annotator,)) for annotator in files for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.session_scope(engine, write=False) as session:
        refs = ingest.latest_submissions(session, round_id=world.round_id)
        assert count(session, models.Submission) == 4  # each file stored once, although ingested twice
    assert sorted((r.annotator_id, r.version) for r in refs) == sorted([(world.alice, 1)] * 2 + [(world.bob, 1)] * 2)
