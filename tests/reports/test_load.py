"""reports.load and the store reads behind it (qc.store.reports, the reports section of qc.store.segments)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from qc.errors import NotFoundError
from qc.store import db
from qc.store import models as m
from qc.store import reports as store
from qc.store.segments import consensus_areas, submission_areas
from reports.load import Tables, frame, load_tables
from tests.reports.conftest import World

FRAMES = {
    "rounds": store.RoundRow,
    "images": store.ImageRow,
    "results": store.ResultRow,
    "scores": store.ScoreRow,
    "flags": store.FlagRow,
    "assignments": store.AssignmentRow,
    "reviews": store.ReviewRow,
    "decisions": store.DecisionRow,
}


def _count(session: Session, model: type, **where: int) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(session.scalar(query) or 0)


@pytest.fixture(scope="module")
def tables(report_world: World) -> Tables:
    with db.session_scope(report_world.engine, write=False) as session:
        return load_tables(session, round_ids=[report_world.round_id])


def test_every_frame_has_the_columns_of_its_row_type(tables: Tables) -> None:
    for name, row_type in FRAMES.items():
        assert list(getattr(tables, name).columns) == list(row_type._fields), name


def test_the_frames_hold_the_rounds_rows(report_world: World, tables: Tables) -> None:
    rid = report_world.round_id
    with db.session_scope(report_world.engine, write=False) as session:
        assert len(tables.results) == _count(session, m.ImageResult, round_id=rid) == 6
        assert len(tables.scores) == _count(session, m.Score, round_id=rid) > 0
        assert len(tables.flags) == _count(session, m.Flag, round_id=rid) > 0
        assert len(tables.reviews) == _count(session, m.ReviewItem, round_id=rid) > 0
        assert len(tables.images) == _count(session, m.Image)
        # assignments of every round of the project: rework rates count later rounds
        assert len(tables.assignments) == _count(session, m.Assignment)
    assert tables.rounds["round_id"].tolist() == [rid]
    assert set(tables.decisions["kind"]) == {"rework", "accept_consensus"}
    assert tables.decisions["decision_id"].is_monotonic_increasing
    assert tables.people[int(tables.decisions["reviewer_id"].iloc[0])] == report_world.reviewer
    assert tables.classes == {1: "a", 2: "b", 3: "c"}
    assert tables.task == "instance"


def test_no_round_gives_empty_frames_of_an_instance_task(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        empty = load_tables(session, round_ids=[])
    for name, row_type in FRAMES.items():
        assert getattr(empty, name).empty and list(getattr(empty, name).columns) == list(row_type._fields)
    assert empty.classes == {} and empty.task == "instance"


def test_frame_of_no_rows_keeps_its_columns() -> None:
    assert list(frame([], store.FlagRow).columns) == list(store.FlagRow._fields)
    rows = [store.ResultRow(1, 2, "accepted", 3)]
    assert frame(rows, store.ResultRow).to_dict(orient="records") == [
        {"round_id": 1, "image_id": 2, "verdict": "accepted", "labels_spent": 3}
    ]


# --- the store reads ---------------------------------------------------------------------------------------


def test_rounds_for_a_round_or_a_project(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        assert store.rounds_for(session, round_id=report_world.round_id) == [report_world.round_id]
        project = store.rounds_for(session, project=report_world.project)
        assert project[:2] == [report_world.round_id, report_world.gold_round_id] and project == sorted(project)
        with pytest.raises(NotFoundError, match="no round 999"):
            store.rounds_for(session, round_id=999)
        with pytest.raises(NotFoundError, match="no project named 'nope'"):
            store.rounds_for(session, project="nope")
        with pytest.raises(NotFoundError, match="needs a round"):
            store.rounds_for(session)


def test_round_name_and_project_task(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        assert store.round_name(session, round_id=report_world.gold_round_id) == "second"
        assert store.round_name(session, round_id=report_world.round_id) is None  # prepare names no round
        assert store.round_name(session, round_id=999) is None
        assert store.project_task(session, project_id=1) == "instance"
        assert store.project_task(session, project_id=999) is None


def test_reproducibility_reads(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        versions = store.guideline_hashes(session, version_ids=[2, 999, 1, 1])
        assert [v.version for v in versions] == ["drill-1", "drill-2"]
        assert all(len(v.sha256) == 64 for v in versions)
        hashes = store.submission_hashes(session, round_ids=[report_world.round_id])
        assert hashes == sorted(hashes) and len(hashes) == 18  # 6 images x 3 annotators, delivered once
        assert store.submission_hashes(session, round_ids=[]) == []


def test_flag_reads(report_world: World) -> None:
    rid = report_world.round_id
    with db.session_scope(report_world.engine, write=False) as session:
        by_image = store.image_flags(session, round_id=rid)
        flags = store.round_flags(session, round_ids=[rid])
        boxes = store.flag_boxes(session, round_id=rid, image_ids=[1, 2])
    assert sum(len(v) for v in by_image.values()) == len(flags)
    for rows in by_image.values():
        severities = [f.severity for f in rows]
        assert severities == sorted(severities, reverse=True)
    image_level = [f for f in flags if f.level == "image" and f.image_id in (1, 2) and f.x is not None]
    assert sum(len(v) for v in boxes.values()) == len(image_level) > 0
    assert all(w > 0 and h > 0 for v in boxes.values() for _, _, w, h in v)


def test_image_reads(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        sizes = store.image_sizes(session, image_ids=[1, 2])
        names = store.file_names(session, image_ids=[2, 1])
        images = store.project_images(session, project_ids=[1])
    assert sorted((s.image_id, s.height, s.width) for s in sizes) == [(1, 192, 256), (2, 192, 256)]
    assert names == {1: "img00000.png", 2: "img00001.png"}
    assert len(images) == 6 and {i.file_name for i in images} >= set(names.values())


def test_segment_areas(report_world: World) -> None:
    with db.session_scope(report_world.engine, write=False) as session:
        consensus = consensus_areas(session, round_ids=[report_world.round_id])
        submitted = submission_areas(session, round_ids=[report_world.round_id])
        assert consensus_areas(session, round_ids=[999]) == []
    assert consensus and all(a.area > 0 for a in consensus)
    assert len(submitted) == 3 * 6 * 6  # 3 annotators x 6 images x 6 instances
    assert set(pd.DataFrame(submitted)["category_id"]) <= {1, 2, 3}
