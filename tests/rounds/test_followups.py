"""Which annotator gets a follow-up never depends on timing (issue 13 item 15).

Sixteen images, five annotators, two per image, every pair disagreeing (each draws its box
somewhere else), ``k_max: 3``: every image escalates to a third annotator chosen by load. The
follow-ups are chosen in one place after scoring (:func:`qc.rounds.assign_followups`, in
image-id order, load from committed assignments), so scoring the images in another order, in
two runs (a run killed before its follow-up step, then resumed), or in parallel batches gives
the same follow-ups as one uninterrupted run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import rounds
from qc.core import ImageInfo
from qc.guideline import parse_guideline
from qc.store import db
from qc.store import models as m
from qc.store.api import add_images
from tests.support.databases import upgraded
from tests.support.rounds import GUIDELINE as SHAPES
from tests.support.rounds import H, W, assigned, deliver

GUIDELINE = SHAPES.replace("routing: {k: 3,", "routing: {k: 2,")  # two first, a third on disagreement
PEOPLE = ["a1", "a2", "a3", "a4", "a5"]
IMAGES = 16


def _delivered_round(folder: Path, people: list[str] = PEOPLE) -> tuple[Engine, int, list[int]]:
    """A fresh database whose round has every assigned annotator's file ingested, nothing scored."""
    folder.mkdir()
    engine = db.make_engine(f"sqlite:///{folder / 'qc.db'}")
    upgraded(engine)
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(GUIDELINE))
        infos = [ImageInfo(i, f"img{i}.png", H, W) for i in range(IMAGES)]
        ids = [int(r.id or 0) for r in add_images(session, project_id=ref.project_id, images=infos)]
        round_id = rounds.schedule_round(
            session, project_id=ref.project_id, annotators=people, seed=7, name="r1"
        ).round_id
        owed = {i: assigned(session, round_id, i) for i in ids}
    for n, name in enumerate(people):  # each annotator's box lies apart from everyone else's: no pair agrees
        mine = [i for i in ids if name in owed[i]]
        deliver(folder / "delivery", name, mine, {i: [(2 + 12 * n, 2 + 12 * n)] for i in mine})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=folder / "delivery")
    return engine, round_id, ids


def _followups(engine: Engine) -> dict[int, str]:
    """``image id -> annotator`` of every follow-up assignment."""
    with db.session_scope(engine, write=False) as session:
        names = {p.id: p.name for p in session.scalars(select(m.Person))}
        rows = session.scalars(select(m.Assignment).where(m.Assignment.kind == "followup"))
        return {a.image_id: names[a.annotator_id] for a in rows}


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_the_order_images_are_scored_in_does_not_change_who_follows_up(tmp_path: Path) -> None:
    forward, round_id, ids = _delivered_round(tmp_path / "forward")
    backward, _, _ = _delivered_round(tmp_path / "backward")
    with db.session_scope(forward) as session:
        ahead = rounds.score_images(session, round_id=round_id, image_ids=ids)
    with db.session_scope(backward) as session:
        behind = rounds.score_images(session, round_id=round_id, image_ids=ids[::-1])
    chosen = _followups(forward)
    assert sorted(chosen) == ids  # every image escalated and found a third annotator
    assert len(set(chosen.values())) > 1  # spread by load, not all to one person
    assert _followups(backward) == chosen
    assert {o.image_id: o.followup for o in ahead} == {o.image_id: o.followup for o in behind} == chosen
    assert {o.verdict for o in ahead} == {"escalate"}


def test_a_resumed_or_parallel_run_assigns_what_an_uninterrupted_one_does(tmp_path: Path) -> None:
    whole, round_id, ids = _delivered_round(tmp_path / "whole")
    rounds.score_batch(_url(whole), round_id=round_id, image_ids=ids)
    with db.session_scope(whole) as session:
        chosen = rounds.assign_followups(session, round_id=round_id)
    expected = _followups(whole)
    assert chosen == expected
    assert sorted(expected) == ids
    resumed, _, _ = _delivered_round(tmp_path / "resumed")
    rounds.score_batch(_url(resumed), round_id=round_id, image_ids=ids[5:11])  # killed before its follow-up step
    rounds.score_batch(_url(resumed), round_id=round_id, image_ids=[*ids[11:], *ids[:5]])
    with db.session_scope(resumed) as session:
        rounds.assign_followups(session, round_id=round_id)
    assert _followups(resumed) == expected
    parallel, _, _ = _delivered_round(tmp_path / "parallel")
    batches = [ids[i::4] for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda batch: rounds.score_batch(_url(parallel), round_id=round_id, image_ids=batch), batches))
    with db.session_scope(parallel) as session:
        rounds.assign_followups(session, round_id=round_id)
        assert rounds.assign_followups(session, round_id=round_id) == {}  # again: nothing twice
    assert _followups(parallel) == expected
    for engine in (whole, resumed, parallel):
        engine.dispose()


def test_an_escalated_image_with_nobody_free_goes_to_review(tmp_path: Path) -> None:
    engine, round_id, ids = _delivered_round(tmp_path / "two", people=["a1", "a2"])
    with db.session_scope(engine) as session:
        outcomes = rounds.score_images(session, round_id=round_id, image_ids=ids)
        verdicts = {r.verdict for r in session.scalars(select(m.ImageResult))}
    assert {(o.verdict, o.followup) for o in outcomes} == {("review", None)} and verdicts == {"review"}
    assert _followups(engine) == {}
    engine.dispose()


def test_the_score_flow_assigns_the_same_followups_with_any_workers_and_batches(
    prefect_harness: None, tmp_path: Path
) -> None:
    from flows.round import score_round

    one, round_id, ids = _delivered_round(tmp_path / "one")
    many, _, _ = _delivered_round(tmp_path / "many")
    alone = score_round(_url(one), round_id, batch_size=16, workers=1)
    spread = score_round(_url(many), round_id, batch_size=3, workers=2)  # 6 batches on 2 processes, 4 threads
    chosen = _followups(one)
    assert sorted(chosen) == ids and _followups(many) == chosen
    assert {o["image_id"]: o["followup"] for o in alone} == {o["image_id"]: o["followup"] for o in spread} == chosen
    for engine in (one, many):
        engine.dispose()
