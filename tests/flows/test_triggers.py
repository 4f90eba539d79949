"""A finished review starts the close of its round: qc.review.on_round_reviewed and its call sites, no server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from flows.triggers import close_reviewed_round
from qc import review, rounds
from qc.cli import app
from qc.core import ImageInfo
from qc.guideline import parse_guideline
from qc.store import db
from qc.store import models as m
from qc.store.api import add_images, add_person
from qc.store.results import add_review_items
from tests.support.databases import upgraded

GUIDELINE = """
version: "1"
name: shapes
task: instance
classes:
  - {id: 1, name: box, kind: thing, colour: "#ff0000", min_area: 4}
routing: {k: 2, k_initial: 2, k_max: 2}
"""


def queued_round(tmp_path: Path) -> tuple[str, Engine, int, int]:
    """A round of 2 images, both queued for review; returns (url, engine, round id, reviewer id)."""
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    engine = db.make_engine(url)
    upgraded(engine)
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        rows = add_images(
            session, project_id=ref.project_id, images=[ImageInfo(i, f"i{i}.png", 16, 16) for i in (1, 2)]
        )
        round_id = rounds.schedule_round(session, project_id=ref.project_id, annotators=["ann", "bob"], seed=0).round_id
        add_review_items(session, round_id=round_id, image_ids=[int(r.id or 0) for r in rows])
        reviewer = int(add_person(session, name="rev", roles=["reviewer"]).id or 0)
    return url, engine, round_id, reviewer


def decide_next(engine: Engine, reviewer: int) -> int:
    with db.session_scope(engine) as session:
        held = review.claim(session, reviewer_id=reviewer)
        assert held is not None
        review.decide(session, held.item_id, reviewer_id=reviewer, version=held.version, kind="accept_consensus")
    return held.item_id


def close_events(engine: Engine, round_id: int) -> int:
    with db.session_scope(engine, write=False) as session:
        rows = session.scalars(select(m.Event).where(m.Event.verb == "close", m.Event.object_id == round_id)).all()
    return len(rows)


def test_only_the_last_decision_of_a_round_calls_back(tmp_path: Path) -> None:
    _, engine, round_id, reviewer = queued_round(tmp_path)
    called: list[int] = []
    first = decide_next(engine, reviewer)
    assert review.on_round_reviewed(engine, first, called.append) is None
    assert called == []
    last = decide_next(engine, reviewer)
    assert review.on_round_reviewed(engine, last, called.append) == round_id
    assert called == [round_id]


def test_in_process_close_without_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    url, engine, round_id, reviewer = queued_round(tmp_path)
    decide_next(engine, reviewer)
    last = decide_next(engine, reviewer)
    assert review.on_round_reviewed(engine, last, close_reviewed_round(url)) == round_id
    assert close_events(engine, round_id) == 1


def test_a_failing_callback_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _, engine, round_id, reviewer = queued_round(tmp_path)
    decide_next(engine, reviewer)
    last = decide_next(engine, reviewer)

    def broken(_: int) -> None:
        raise RuntimeError("server down")

    with caplog.at_level(logging.ERROR, logger="qc.review"):
        assert review.on_round_reviewed(engine, last, broken) == round_id
    assert f"qc round close {round_id}" in caplog.text


def test_review_decide_command_closes_the_fully_reviewed_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    url, engine, round_id, reviewer = queued_round(tmp_path)
    decide_next(engine, reviewer)
    with db.session_scope(engine) as session:
        held = review.claim(session, reviewer_id=reviewer)
    assert held is not None
    decide = ["review", "decide", str(held.item_id), "--as", "rev", "--accept-consensus", "--db", url]
    result = CliRunner().invoke(app, decide)
    assert result.exit_code == 0, result.output
    assert f"round {round_id} fully reviewed: closing it" in result.output
    assert close_events(engine, round_id) == 1
