"""The review page through FastAPI's TestClient: every route for every role, CSRF, escaping, paths, backoff."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pytest
from PIL import Image as PILImage
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.review_data import Built, build_round
from qc import review
from qc.store import models as m
from qc.store.db import session_scope
from qc.web import create_app
from qc.web.app import LoginThrottle

with warnings.catch_warnings():  # starlette asks for httpx2 (not installed); httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROLES = ["anonymous", "ann1", "rev1", "rev2", "lead", "manager"]


@pytest.fixture
def site(sqlite_engine: Engine, tmp_path: Path) -> tuple[Built, TestClient, Path]:
    root = tmp_path / "images"
    root.mkdir()
    built = build_round(sqlite_engine, images=3, image_root=root)
    with session_scope(sqlite_engine) as s:  # rev1 holds item 1
        review.claim(s, reviewer_id=built.people["rev1"])
    url = sqlite_engine.url.render_as_string(hide_password=False)
    app = create_app(url, secret_key="test-secret", image_root=root)
    return built, TestClient(app, follow_redirects=False), root


def login(client: TestClient, who: str) -> str:
    client.cookies.clear()
    csrf = csrf_of(client.get("/login").text)
    if who != "anonymous":
        response = client.post("/login", data={"token": f"token-{who}", "csrf": csrf})
        assert response.status_code == 303, response.text
        csrf = csrf_of(client.get("/login").text)
    return csrf


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


# (method, path, {role: expected status}); item 1 is claimed by rev1, item 2 is pending
MATRIX = [
    ("GET", "/queue", {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 200, "lead": 200, "manager": 403}),
    ("POST", "/queue/next", {"anonymous": 401, "ann1": 403, "rev1": 303, "rev2": 303, "lead": 303, "manager": 403}),
    ("GET", "/items/1", {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403}),
    ("GET", "/items/2", {"anonymous": 303, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 200, "manager": 403}),
    ("GET", "/items/1/overlay/a1.png",
     {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403}),
    ("GET", "/items/1/overlay/disagreement.png",
     {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403}),
    ("GET", "/items/1/image", {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403}),
    ("POST", "/items/1/decide",
     {"anonymous": 401, "ann1": 403, "rev1": 303, "rev2": 403, "lead": 409, "manager": 403}),
    ("POST", "/items/2/reassign",
     {"anonymous": 401, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 303, "manager": 403}),
    ("GET", "/reports", {"anonymous": 303, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 200, "manager": 200}),
    ("GET", "/rounds/1/summary",
     {"anonymous": 303, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 200, "manager": 200}),
    ("GET", "/feedback", {"anonymous": 303, "ann1": 200, "rev1": 403, "rev2": 403, "lead": 403, "manager": 403}),
    ("GET", "/", {"anonymous": 303, "ann1": 303, "rev1": 303, "rev2": 303, "lead": 303, "manager": 303}),
    ("GET", "/login", dict.fromkeys(ROLES, 200)),
    ("POST", "/logout", {"anonymous": 303, "ann1": 303, "rev1": 303, "rev2": 303, "lead": 303, "manager": 303}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_route_by_role(site: tuple[Built, TestClient, Path], method: str, path: str, expected: dict[str, int]) -> None:
    built, client, _ = site
    got = {}
    for role in ROLES:
        csrf = login(client, role)
        data = {"csrf": csrf, "version": "2", "kind": "accept_consensus", "to": str(built.people["rev2"])}
        response = client.get(path) if method == "GET" else client.post(path, data=data)
        got[role] = response.status_code
        if role == "rev1" and path == "/items/1/decide":
            break  # decided: the lead's try below would see a decided item
    if path == "/items/1/decide":  # lead on a decided item: stale (409)
        csrf = login(client, "lead")
        got["lead"] = client.post(path, data={"csrf": csrf, "version": "2", "kind": "accept_consensus"}).status_code
        for role in ("rev2", "manager"):
            csrf = login(client, role)
            got[role] = client.post(path, data={"csrf": csrf, "version": "2", "kind": "accept_consensus"}).status_code
    assert got == expected


def test_post_without_csrf_is_refused(site: tuple[Built, TestClient, Path], sqlite_engine: Engine) -> None:
    _, client, _ = site
    login(client, "rev1")
    assert client.post("/items/1/decide", data={"version": "2", "kind": "accept_consensus"}).status_code == 403
    assert (
        client.post("/items/1/decide", data={"csrf": "forged", "version": "2", "kind": "accept_consensus"}).status_code
        == 403
    )
    assert client.post("/login", data={"token": "token-rev1"}).status_code == 403
    with session_scope(sqlite_engine, write=False) as s:
        assert s.scalars(select(m.Decision)).all() == []


def test_image_paths_cannot_leave_the_image_root(site: tuple[Built, TestClient, Path], sqlite_engine: Engine) -> None:
    built, client, root = site
    secret = root.parent / "secret.png"
    secret.write_bytes(b"not for you")
    with session_scope(sqlite_engine) as s:
        image = s.get(m.Image, built.image_ids[0])
        assert image is not None
        image.path = "../secret.png"
        s.add(image)
    login(client, "lead")
    assert client.get("/items/1/image").status_code == 404
    with session_scope(sqlite_engine) as s:
        image = s.get(m.Image, built.image_ids[0])
        assert image is not None
        image.path = str(secret)
        s.add(image)
    assert client.get("/items/1/image").status_code == 404
    assert client.get("/items/1/../../secret.png").status_code == 404
    assert client.get("/items/1/overlay/..%2F..%2Fsecret.png").status_code == 404


def test_user_text_is_escaped(site: tuple[Built, TestClient, Path], sqlite_engine: Engine) -> None:
    built, client, _ = site
    csrf = login(client, "rev1")
    page = client.get("/items/1").text
    assert "<script>alert(1)</script>" not in page
    assert "edges differ &lt;script&gt;alert(1)&lt;/script&gt;" in page
    ann2 = built.people["ann2"]
    response = client.post("/items/1/decide", data={"csrf": csrf, "version": "2", "kind": "rework",
                                                    f"feedback_{ann2}": "<script>steal()</script> redo"})  # fmt: skip
    assert response.status_code == 303
    login(client, "ann2")
    feedback = client.get("/feedback").text
    assert "<script>steal()" not in feedback and "&lt;script&gt;steal()&lt;/script&gt; redo" in feedback
    login(client, "ann1")
    assert "steal()" not in client.get("/feedback").text  # annotators see only their own feedback


def test_session_cookie_is_httponly_and_samesite(site: tuple[Built, TestClient, Path]) -> None:
    _, client, _ = site
    client.cookies.clear()
    csrf = csrf_of(client.get("/login").text)
    cookie = client.post("/login", data={"token": "token-rev1", "csrf": csrf}).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_failed_logins_are_slowed_down(site: tuple[Built, TestClient, Path]) -> None:
    _, client, _ = site
    csrf = login(client, "anonymous")
    codes = [client.post("/login", data={"token": "wrong", "csrf": csrf}).status_code for _ in range(4)]
    right = client.post("/login", data={"token": "token-rev1", "csrf": csrf})
    assert codes == [401, 401, 401, 429] and right.status_code == 429 and int(right.headers["retry-after"]) >= 1


def test_login_throttle_backoff_grows_and_resets() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    waits = []
    for _ in range(5):
        throttle.failed("c")
        waits.append(throttle.wait("c"))
    assert waits == [0.0, 0.0, 2.0, 4.0, 8.0]
    throttle.succeeded("c")
    assert throttle.wait("c") == 0.0


def test_queue_filters_and_overlay_pixels(site: tuple[Built, TestClient, Path]) -> None:
    _, client, _ = site
    login(client, "lead")
    everything = client.get("/queue").text
    assert everything.count('<a href="/items/') == 3 and 'id="count-pending">2<' in everything
    assert client.get("/queue?kind=no_such_kind").text.count('<a href="/items/') == 0
    png = PILImage.open(io.BytesIO(client.get("/items/1/overlay/a1.png").content))
    alpha = png.getchannel("A")
    assert png.size == (64, 48) and alpha.getextrema() == (0, 255)
    assert client.get("/items/1/overlay/a9.png").status_code == 404


@pytest.mark.parametrize("field", ["version", "submission_id", "feedback_x"])
def test_malformed_form_numbers_are_a_clear_400(site: tuple[Built, TestClient, Path], field: str) -> None:
    _, client, _ = site
    csrf = login(client, "rev1")
    client.get("/items/1")
    data = {"csrf": csrf, "version": "2", "kind": "accept_submission", "submission_id": "1", field: "two"}
    response = client.post("/items/1/decide", data=data)
    assert response.status_code == 400
    assert "must be a whole number" in response.text
