"""``qc review next|decide`` and ``qc person token`` through the real console script app."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bench.review_data import build_round
from qc import review
from qc.cli import app
from qc.store import models as m
from qc.store.db import session_scope


def test_next_then_decide_from_the_terminal(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=2)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    shown = runner.invoke(app, ["review", "next", "--as", "rev1", "--db", url])
    assert shown.exit_code == 0, shown.output
    assert "img0000.png" in shown.output and "boundary_disagreement" in shown.output and "ann3" in shown.output
    item = int(re.search(r"qc review decide (\d+)", shown.output).group(1))  # type: ignore[union-attr]
    both = runner.invoke(app, ["review", "decide", str(item), "--as", "rev1", "--rework", "--escalate", "--db", url])
    assert both.exit_code == 2
    feedback = ["--rework", "--feedback", "nobody=x"]
    bad = runner.invoke(app, ["review", "decide", str(item), "--as", "rev1", *feedback, "--db", url])
    assert bad.exit_code == 1 and "ANNOTATOR=TEXT" in bad.output
    done = runner.invoke(app, ["review", "decide", str(item), "--as", "rev1", "--accept-submission", "2", "--db", url])
    assert done.exit_code == 0, done.output
    again = runner.invoke(app, ["review", "decide", str(item), "--as", "rev1", "--accept-consensus", "--db", url])
    assert again.exit_code == 1 and "stale decision" in again.output
    with session_scope(sqlite_engine, write=False) as s:
        decision = s.scalars(select(m.Decision)).one()
    assert decision.target_submission_id == built.submissions[(built.image_ids[0], built.people["ann2"])]


def test_person_token_is_printed_once_and_stored_hashed(sqlite_engine: Engine) -> None:
    build_round(sqlite_engine, images=1)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    added = runner.invoke(app, ["person", "add", "rita", "--role", "reviewer", "--token", "--db", url])
    issued = runner.invoke(app, ["person", "token", "rev1", "--db", url])
    assert added.exit_code == 0 and issued.exit_code == 0, added.output + issued.output
    token = issued.output.rsplit(":", 1)[1].strip()
    rita = added.output.rsplit(":", 1)[1].strip()
    with session_scope(sqlite_engine, write=False) as s:
        found = review.person_for_token(s, token)
        other = review.person_for_token(s, rita)
        hashes = s.scalars(select(m.Person.token_hash)).all()
    assert found is not None and found.name == "rev1" and other is not None and other.roles == ["reviewer"]
    assert token not in hashes and review.hash_token(token) in hashes


def test_a_version_of_zero_is_refused_not_taken_for_the_current_one(sqlite_engine: Engine) -> None:
    """``--version 0`` used to count as "not given": the current version, past the claim and staleness checks."""
    build_round(sqlite_engine, images=1)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    shown = runner.invoke(app, ["review", "next", "--as", "rev1", "--db", url])
    item = int(re.search(r"qc review decide (\d+)", shown.output).group(1))  # type: ignore[union-attr]
    decide = ["review", "decide", str(item), "--as", "rev2", "--accept-consensus", "--db", url]
    zero = runner.invoke(app, [*decide, "--version", "0"])  # rev2 never claimed it
    assert zero.exit_code == 2 and "--version" in zero.output
    stale = runner.invoke(app, [*decide, "--version", "99"])
    assert stale.exit_code == 1 and "stale decision" in stale.output
    with session_scope(sqlite_engine, write=False) as s:
        assert s.scalars(select(m.Decision)).all() == []
