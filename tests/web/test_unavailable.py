"""A busy (locked) or read-only database: the page answers 503 with Retry-After and says the decision was NOT stored.

On a SQLite file and on PostgreSQL. The wait for a lock is the app's ``lock_timeout`` (5 s by
default, here 0.3 s), not the store's 30 s busy timeout.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager

from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.review_data import build_round
from qc.store import models as m
from qc.store.db import session_scope
from qc.web import create_app
from qc.web.app import LOCK_TIMEOUT, SESSION_COOKIE
from tests.support.databases import locked, read_only_url
from tests.web.client import TestClient, csrf_of


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _signed_in(app_url: str) -> tuple[TestClient, str, int, int]:
    """rev1 signed in on the review page (holding item 1): the client, its CSRF token, the item and its version."""
    client = TestClient(create_app(app_url, secret_key="k"), follow_redirects=False)
    csrf = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"token": "token-rev1", "csrf": csrf}).status_code == 303
    csrf = csrf_of(client.get("/login").text)  # a new session, a new token
    assert client.post("/queue/next", data={"csrf": csrf}).status_code == 303
    item_id = int(client.get("/queue").text.split('href="/items/')[1].split('"')[0])
    version = int(client.get(f"/items/{item_id}").text.split('name="version" value="')[1].split('"')[0])
    return client, csrf, item_id, version


def _decisions(engine: Engine) -> list[m.Decision]:
    with session_scope(engine, write=False) as s:
        return list(s.scalars(select(m.Decision)))


def _locked(engine: Engine) -> AbstractContextManager[None]:
    """Another program holds the write lock (SQLite) or the review items' rows (PostgreSQL)."""
    return locked(engine, "SELECT id FROM review_item FOR UPDATE")


def test_a_locked_database_answers_503_and_stores_nothing(review_engine: Engine) -> None:
    build_round(review_engine, images=2)
    client, csrf, item_id, version = _signed_in(_url(review_engine))
    quick = TestClient(create_app(_url(review_engine), secret_key="k", lock_timeout=0.3), follow_redirects=False)
    quick.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    form = {"csrf": csrf, "version": str(version), "kind": "accept_consensus"}
    with _locked(review_engine):
        assert quick.get(f"/items/{item_id}").status_code == 200  # reading goes on
        busy = quick.post(f"/items/{item_id}/decide", data=form)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
    assert "database is busy" in busy.text and "your decision was NOT stored" in busy.text
    assert busy.headers["x-frame-options"] == "DENY"
    assert _decisions(review_engine) == []
    done = quick.post(f"/items/{item_id}/decide", data=form)  # the lock is gone: the same form goes through
    assert done.status_code == 303 and [d.review_item_id for d in _decisions(review_engine)] == [item_id]
    for app in (client.app, quick.app):
        app.state.engine.dispose()


def test_a_read_only_database_answers_503_and_says_so(review_engine: Engine) -> None:
    build_round(review_engine, images=2)
    client, csrf, item_id, version = _signed_in(_url(review_engine))
    frozen = TestClient(create_app(read_only_url(review_engine), secret_key="k"), follow_redirects=False)
    frozen.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    assert frozen.get(f"/items/{item_id}").status_code == 200
    form = {"csrf": csrf, "version": str(version), "kind": "accept_consensus"}
    refused = frozen.post(f"/items/{item_id}/decide", data=form)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
    assert "read-only" in refused.text and "your decision was NOT stored" in refused.text
    taken = frozen.post("/queue/next", data={"csrf": csrf})
    assert taken.status_code == 503 and "nothing was stored" in taken.text
    assert _decisions(review_engine) == []
    for app in (client.app, frozen.app):
        app.state.engine.dispose()


def test_the_page_waits_seconds_not_the_stores_half_minute_for_a_lock(sqlite_engine: Engine) -> None:
    app = create_app(_url(sqlite_engine), secret_key="k")
    with app.state.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == LOCK_TIMEOUT * 1000 == 5000
    app.state.engine.dispose()


def test_other_database_errors_stay_errors(sqlite_engine: Engine) -> None:
    build_round(sqlite_engine, images=1)
    client, _, _, _ = _signed_in(_url(sqlite_engine))
    with sqlite3.connect(str(sqlite_engine.url.database)) as other:
        other.execute("DROP TABLE flag")  # a broken schema is no reason to say "try again"
    broken = TestClient(client.app, follow_redirects=False, raise_server_exceptions=False)
    broken.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    assert broken.get("/queue").status_code == 500
    client.app.state.engine.dispose()
