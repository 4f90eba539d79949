"""Sessions end at logout and at token rotation; the login throttle counts per account and per real client.

The last case runs ``qc review serve`` itself (uvicorn in a subprocess): a rotated
``X-Forwarded-For`` header from the loopback address must not reset the throttle.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from qc import review
from qc.store.db import session_scope
from qc.web import create_app
from qc.web.app import SESSION_COOKIE
from tests.web.client import Site, TestClient, csrf_of, login

REPO = Path(__file__).resolve().parents[2]


def _copy(client: TestClient) -> TestClient:
    """A second browser holding a copy of ``client``'s session cookie."""
    other = TestClient(client.app, follow_redirects=False)
    other.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    return other


def test_logging_out_ends_a_copied_session_cookie(site: Site) -> None:
    _, client, _ = site
    csrf = login(client, "rev1")
    stolen, bystander = _copy(client), TestClient(client.app, follow_redirects=False)
    login(bystander, "rev2")
    assert stolen.get("/queue").status_code == 200
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    refused = stolen.get("/queue")
    assert refused.status_code == 303 and refused.headers["location"] == "/login"
    assert stolen.post("/queue/next", data={"csrf": csrf}).status_code == 401
    assert bystander.get("/queue").status_code == 200  # another person's session goes on
    login(client, "rev1")  # the same token signs in again
    assert client.get("/queue").status_code == 200


def test_a_new_token_ends_every_session_of_the_person(site: Site, sqlite_engine: Engine) -> None:
    built, client, _ = site
    login(client, "rev1")
    stolen = _copy(client)
    assert stolen.get("/queue").status_code == 200
    with session_scope(sqlite_engine) as s:
        token = review.issue_token(s, person_id=built.people["rev1"])  # what `qc person token rev1` does
    assert stolen.get("/queue").status_code == 303 and client.get("/queue").status_code == 303
    csrf = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"token": "token-rev1", "csrf": csrf}).status_code == 401
    assert client.post("/login", data={"token": token, "csrf": csrf}).status_code == 303
    assert client.get("/queue").status_code == 200


def _tokens(engine: Engine, built_people: dict[str, int], *names: str) -> dict[str, str]:
    with session_scope(engine) as s:
        return {name: review.issue_token(s, person_id=built_people[name]) for name in names}


def test_one_client_guessing_tokens_does_not_lock_out_the_others_behind_its_address(
    site: Site, sqlite_engine: Engine
) -> None:
    built, client, _ = site
    tokens = _tokens(sqlite_engine, built.people, "rev1", "rev2")
    csrf = login(client, "anonymous")
    guesses = [client.post("/login", data={"token": f"guess-{n}", "csrf": csrf}).status_code for n in range(5)]
    assert guesses == [401, 401, 401, 429, 429]  # the guesser waits
    colleague = TestClient(client.app, follow_redirects=False)  # same address ("testclient")
    csrf = csrf_of(colleague.get("/login").text)
    assert colleague.post("/login", data={"token": tokens["rev2"], "csrf": csrf}).status_code == 303


def test_failures_against_one_account_are_counted_whatever_the_client(site: Site, sqlite_engine: Engine) -> None:
    built, _, _ = site
    tokens = _tokens(sqlite_engine, built.people, "rev1", "rev2")
    app = create_app(str(sqlite_engine.url), secret_key="k", trusted_proxies="testclient")
    wrong = tokens["rev1"][:8] + "x" * 35  # rev1's public prefix, the rest guessed
    codes = []
    for n in range(4):  # a new client address each time: only the account's count can stop it
        browser = TestClient(app, follow_redirects=False, headers={"X-Forwarded-For": f"203.0.113.{n}"})
        csrf = csrf_of(browser.get("/login").text)
        codes.append(browser.post("/login", data={"token": wrong, "csrf": csrf}).status_code)
    assert codes == [401, 401, 401, 429]
    right = browser.post("/login", data={"token": tokens["rev1"], "csrf": csrf})
    assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1  # the account waits too
    other = TestClient(app, follow_redirects=False, headers={"X-Forwarded-For": "203.0.113.3"})
    csrf = csrf_of(other.get("/login").text)
    assert other.post("/login", data={"token": tokens["rev2"], "csrf": csrf}).status_code == 303


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(sqlite_engine: Engine, tmp_path: Path) -> Iterator[str]:
    """``qc review serve`` on the review test database, its base URL (stopped afterwards)."""
    from bench.review_data import build_round

    build_round(sqlite_engine, images=1)
    port = _free_port()
    env = {**os.environ, "QC_SECRET_KEY": "k"}
    env.pop("QC_TRUSTED_PROXIES", None)
    command = [sys.executable, "-m", "qc.cli", "review", "serve", "--port", str(port), "--db", str(sqlite_engine.url)]
    log = (tmp_path / "serve.log").open("w")
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "serve.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_qc_review_serve_ignores_forwarded_for_unless_told_to_trust_a_proxy(served: str) -> None:
    with httpx.Client(base_url=served, follow_redirects=False) as client:
        csrf = csrf_of(client.get("/login").text)
        codes = [
            client.post(
                "/login", data={"token": "wrong", "csrf": csrf}, headers={"X-Forwarded-For": f"198.51.100.{n}"}
            ).status_code
            for n in range(4)
        ]
    assert codes == [401, 401, 401, 429]
