"""A re-delivery after a review decision re-opens the review item: never a silent undo of the decision.

The whole sequence on a SQLite file and on PostgreSQL: ingest, score, close, decide, re-deliver,
score, close, export; then decide again and export.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import review, rounds
from qc.cli.review import print_item
from qc.errors import ConflictError
from qc.store import db
from qc.store import models as m
from qc.store.api import add_person, list_events
from qc.web import create_app
from tests.support.rounds import assigned, deliver, setup_round
from tests.web.client import TestClient, csrf_of

OVERLAPPING = [(5, 5), (10, 10)]  # two instances that overlap: a guideline violation sends the image to review
APART = [(5, 5), (30, 30)]


def _first_round(engine: Engine, tmp_path: Path) -> tuple[int, int, list[str], int]:
    """Round, the image in review, its annotators, the reviewer: a second image stays undelivered (round open)."""
    round_id, (image, other) = setup_round(engine)
    with db.session_scope(engine) as session:
        people = assigned(session, round_id, image)
        reviewer = int(add_person(session, name="rita", roles=["reviewer"]).id or 0)
    for name in people:
        deliver(tmp_path / "d1", name, [image], {image: OVERLAPPING})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d1")
        (scored,) = rounds.score_images(session, round_id=round_id, image_ids=[image])
        closed = rounds.close_round(session, round_id=round_id)
    assert scored.verdict == "review"
    assert closed.status == "open" and closed.review == (image,) and closed.awaiting == (other,)
    return round_id, image, people, reviewer


def _decide(engine: Engine, reviewer: int, kind: str, submission_id: int | None = None) -> review.DecisionResult:
    with db.session_scope(engine) as session:
        held = review.claim(session, reviewer_id=reviewer)
        assert held is not None
        return review.decide(
            session, held.item_id, reviewer_id=reviewer, version=held.version, kind=kind, submission_id=submission_id
        )


def _exported(path: Path) -> list[int]:
    return sorted(image["id"] for image in json.loads(path.read_text())["images"])


def _item(engine: Engine, item_id: int) -> m.ReviewItem:
    with db.session_scope(engine, write=False) as session:
        item = session.get(m.ReviewItem, item_id)
        assert item is not None
        return item


def test_a_redelivery_after_a_decision_reopens_the_item_until_it_is_decided_again(
    review_engine: Engine, tmp_path: Path
) -> None:
    engine = review_engine
    round_id, image, people, reviewer = _first_round(engine, tmp_path)
    with db.session_scope(engine, write=False) as session:
        subs = review.item_submissions(session, session.scalars(select(m.ReviewItem)).one())
    ids = {name: person for person, name in _names(engine).items()}
    first = _decide(engine, reviewer, "accept_submission", subs[ids[people[1]]])
    decided_version = first.version
    with db.session_scope(engine) as session:
        before = rounds.close_round(session, round_id=round_id, export_path=tmp_path / "before.json")
    assert before.accepted == (image,) and _exported(tmp_path / "before.json") == [image]

    # people[0] corrects their file while the round is open; the watch-folder scoring picks it up
    deliver(tmp_path / "d2", people[0], [image], {image: APART})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d2")
        assert rounds.pending_images(session, round_id=round_id) == [image]
        (again,) = rounds.score_images(session, round_id=round_id, image_ids=[image])
    assert again.verdict == "review" and again.reopened == first.item_id

    item = _item(engine, first.item_id)
    assert (item.status, item.version, item.claimed_by) == ("pending", decided_version + 1, None)
    assert item.lease_until is None
    with db.session_scope(engine, write=False) as session:
        (event,) = list_events(session, verb="reopen", object_type="review_item", object_id=first.item_id)
        new_sub = review.item_submissions(session, item)[ids[people[0]]]
        decisions = session.scalars(select(m.Decision)).all()
        result = session.scalars(select(m.ImageResult).where(m.ImageResult.image_id == image)).one()
        view = review.item_view(session, first.item_id)
    assert event.payload["new_submissions"] == {people[0]: new_sub} and new_sub != subs[ids[people[0]]]
    assert event.payload["superseded_decisions"] == [first.decision_id]
    assert [d.id for d in decisions] == [first.decision_id]  # the earlier decision stays in the audit trail
    assert result.verdict == "review" and result.summary is not None
    assert result.summary["reopened"]["new_submissions"] == {people[0]: new_sub}
    assert [d.id for d in view.decisions] == [first.decision_id] and view.reopened

    with db.session_scope(engine) as session:
        after = rounds.close_round(session, round_id=round_id, export_path=tmp_path / "after.json")
        still_open = review.open_review_items(session, round_id=round_id)
    assert after.review == (image,) and after.accepted == () and after.new_review_items == 0 and still_open == 1
    assert _exported(tmp_path / "after.json") == []  # not accepted until a reviewer decides the new work

    second = _decide(engine, reviewer, "accept_consensus")
    assert second.item_id == first.item_id and second.status == "decided"
    with db.session_scope(engine) as session:
        final = rounds.close_round(session, round_id=round_id, export_path=tmp_path / "final.json")
    assert final.accepted == (image,) and _exported(tmp_path / "final.json") == [image]


def test_a_redelivery_while_the_item_is_claimed_makes_the_claimed_version_stale(
    review_engine: Engine, tmp_path: Path
) -> None:
    engine = review_engine
    round_id, image, people, reviewer = _first_round(engine, tmp_path)
    with db.session_scope(engine) as session:
        held = review.claim(session, reviewer_id=reviewer)
    assert held is not None
    deliver(tmp_path / "d2", people[1], [image], {image: APART})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d2")
        (again,) = rounds.score_images(session, round_id=round_id, image_ids=[image])
    assert again.reopened == held.item_id
    item = _item(engine, held.item_id)
    assert (item.status, item.claimed_by, item.version) == ("claimed", reviewer, held.version + 1)
    with db.session_scope(engine) as session, pytest.raises(ConflictError, match="changed since your claim"):
        review.decide(session, held.item_id, reviewer_id=reviewer, version=held.version, kind="accept_consensus")
    with db.session_scope(engine) as session:  # the reviewer reloads the item and decides on what is there now
        done = review.decide(
            session, held.item_id, reviewer_id=reviewer, version=held.version + 1, kind="accept_consensus"
        )
    assert done.status == "decided"


def test_scoring_an_image_without_a_review_item_reopens_nothing(review_engine: Engine, tmp_path: Path) -> None:
    round_id, (image, _) = setup_round(review_engine)
    with db.session_scope(review_engine) as session:
        people = assigned(session, round_id, image)
    for name in people:
        deliver(tmp_path / "d", name, [image], {image: APART})
    with db.session_scope(review_engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d")
        (scored,) = rounds.score_images(session, round_id=round_id, image_ids=[image])
        assert list_events(session, verb="reopen") == []
    assert scored.verdict == "accepted" and scored.reopened is None


def _names(engine: Engine) -> dict[int, str]:
    with db.session_scope(engine, write=False) as session:
        return {int(p.id or 0): p.name for p in session.scalars(select(m.Person))}


def test_the_item_page_and_the_command_line_say_why_the_item_is_back(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    round_id, image, people, reviewer = _first_round(engine, tmp_path)
    first = _decide(engine, reviewer, "accept_consensus")
    deliver(tmp_path / "d2", people[0], [image], {image: APART})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d2")
        rounds.score_images(session, round_id=round_id, image_ids=[image])
        add_person(session, name="lee", roles=["lead"], token_hash=review.hash_token("token-lee"))
        view = review.item_view(session, first.item_id)
    new_sub = view.reopened[0].new_submissions[people[0]]
    client = TestClient(create_app(engine.url.render_as_string(hide_password=False), secret_key="k"))
    csrf = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"token": "token-lee", "csrf": csrf}, follow_redirects=False).status_code == 303
    html = client.get(f"/items/{first.item_id}").text
    assert f"{people[0]} (submission {new_sub})" in html
    assert f"(submission {new_sub}); they supersede decision #{first.decision_id}" in html
    assert f"#{first.decision_id} accept_consensus" in html
    printed = io.StringIO()
    with redirect_stdout(printed):
        print_item(view)
    assert f"supersedes #{first.decision_id}" in printed.getvalue()
