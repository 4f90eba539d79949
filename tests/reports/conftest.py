"""A small database for the report tests, built without Prefect (and a round of hostile user text).

``report_world``: the project ``drill`` of :func:`bench.workload.prepare` (6 synthetic images,
3 annotators), scored and closed; a second round over 3 of its images plus one gold image
(whose known answer is annotator1's delivery); a reviewer who decided two review items of the
first round (a rework and an accept, at fixed times).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.workload import ANNOTATORS, GUIDELINE, SMALL, make_images, prepare
from qc import review, rounds
from qc.core import ImageInfo
from qc.guideline import load_guideline
from qc.store import db
from qc.store import models as m
from qc.store.api import add_assignments, add_guideline_version, add_images, add_person, create_round, get_row
from qc.store.results import FlagCreate, ScoreCreate, save_image_result
from qc.store.segments import add_gold_segments

REPO = Path(__file__).resolve().parents[2]
EVIL = "<script>alert('x')</script>"
DECIDED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
IMAGES = 6
GOLD_IMAGE = 6


@dataclass(frozen=True)
class World:
    url: str
    engine: Engine
    round_id: int
    gold_round_id: int
    project: str = "drill"
    reviewer: str = "rita <b>"


@pytest.fixture(scope="session")
def report_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("report-world")
    prepared = prepare(f"sqlite:///{folder / 'qc.db'}", folder, IMAGES, **SMALL)
    engine = db.make_engine(prepared.url)
    with db.session_scope(engine) as session:
        gold_round = _gold_round(session, round_id=prepared.round_id, delivery=prepared.delivery)
        for round_id in (prepared.round_id, gold_round):
            rounds.score_images(session, round_id=round_id, image_ids=rounds.pending_images(session, round_id=round_id))
            rounds.close_round(session, round_id=round_id)
        reviewer = int(add_person(session, name=World.reviewer, roles=["reviewer"]).id or 0)
    for hours, kind in enumerate(("rework", "accept_consensus")):
        _decide(engine, reviewer, kind, DECIDED_AT + timedelta(hours=hours))
    yield World(prepared.url, engine, prepared.round_id, gold_round)
    engine.dispose()


def _gold_round(session: Session, *, round_id: int, delivery: Path) -> int:
    """A second round of the project over images 1-3 with the gold image mixed in, ingested."""
    project_id = get_row(session, m.Round, round_id).project_id
    text = GUIDELINE.replace("routing: {k: 3}", "routing: {k: 3, gold_rate: 0.34}")
    add_guideline_version(session, project_id=project_id, version="drill-2", text=text)
    answer = make_images(IMAGES, **SMALL)[GOLD_IMAGE - 1].annotators[ANNOTATORS[0]]
    add_gold_segments(session, image_id=GOLD_IMAGE, segments=answer, source="annotator1")
    plan = dict(image_ids=[1, 2, 3], gold_image_ids=[GOLD_IMAGE], name="second")
    second = rounds.schedule_round(session, project_id=project_id, annotators=ANNOTATORS, seed=2, **plan).round_id
    rounds.ingest_folder(session, round_id=second, folder=delivery)
    return second


def _decide(engine: Engine, reviewer: int, kind: str, at: datetime) -> None:
    with db.session_scope(engine) as session:
        claim = review.claim(session, reviewer_id=reviewer, now=at)
        assert claim is not None
        feedback = {1: "trace <i>closer</i>"} if kind == "rework" else None
        review.decide(
            session,
            claim.item_id,
            reviewer_id=reviewer,
            version=claim.version,
            kind=kind,
            note=f"{kind} <img src=x>",
            feedback=feedback,
            now=at + timedelta(minutes=10),
        )


# --- a small hand-made round with hostile user text ---------------------------------------------------------


def hostile_round(session: Session) -> int:
    """One image, three annotators (one named like a script), a reviewer's rework note with HTML in it."""
    ref = rounds.init_project(session, guideline=load_guideline(REPO / "examples" / "guideline.yaml"), name="evil")
    images = add_images(session, project_id=ref.project_id, images=[ImageInfo(1, "a.png", 20, 30)])
    image_id = int(images[0].id or 0)
    people = [int(add_person(session, name=n, roles=["annotator"]).id or 0) for n in (EVIL, "bob", "cy")]
    reviewer = int(add_person(session, name="rev<b>", roles=["reviewer"]).id or 0)
    round_row = create_round(session, project_id=ref.project_id, name="r<1>", guideline_version_id=None)
    round_id = int(round_row.id or 0)
    add_assignments(session, round_id=round_id, pairs=[(image_id, p) for p in people])
    save_image_result(
        session,
        round_id=round_id,
        image_id=image_id,
        input_hash="h",
        verdict="review",
        labels_spent=3,
        summary={},
        scores=_hostile_scores(people),
        flags=[_hostile_flag(people[0])],
    )
    item = m.ReviewItem(round_id=round_id, image_id=image_id, status="decided")
    session.add(item)
    session.flush()
    session.add(m.Decision(review_item_id=int(item.id or 0), reviewer_id=reviewer, kind="rework", note="<img src=x>"))
    session.flush()
    return round_id


def _hostile_scores(people: list[int]) -> list[ScoreCreate]:
    scores = [ScoreCreate("annotator", (p,), "loo_iou", v) for p, v in zip(people, (0.5, 0.9, 0.8), strict=True)]
    return [*scores, ScoreCreate("group", tuple(people), "mean_iou", 0.7, category_id=1)]


def _hostile_flag(person: int) -> FlagCreate:
    return FlagCreate("extra", "annotator", (1, 1, 5, 5), (person,), severity=1.0, message=f"{EVIL} drew an object")
