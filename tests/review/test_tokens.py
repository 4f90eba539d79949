"""Login tokens of the review page: shown once, stored hashed, replaced by a new one."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bench.review_data import build_round
from qc import review
from qc.store import models as m
from qc.store.db import session_scope


def test_tokens_are_stored_hashed(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    with session_scope(sqlite_engine) as s:
        token = review.issue_token(s, person_id=built.people["rev1"])
        person = s.get(m.Person, built.people["rev1"])
        assert person is not None and person.token_hash == review.hash_token(token) != token
        found = review.person_for_token(s, token)
        assert found is not None and found.name == "rev1"
        assert review.person_for_token(s, "token-rev1") is None  # the old token no longer works
        assert review.person_for_token(s, "") is None
