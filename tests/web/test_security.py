"""The review page's safeguards: CSRF, image paths inside the root, the session cookie, the login throttle."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from qc.store import models as m
from qc.store.db import session_scope
from qc.web.security import LoginThrottle
from tests.web.client import Site, csrf_of, login


def test_post_without_csrf_is_refused(site: Site, sqlite_engine: Engine) -> None:
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


def test_image_paths_cannot_leave_the_image_root(site: Site, sqlite_engine: Engine) -> None:
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


def test_session_cookie_is_httponly_and_samesite(site: Site) -> None:
    _, client, _ = site
    client.cookies.clear()
    csrf = csrf_of(client.get("/login").text)
    cookie = client.post("/login", data={"token": "token-rev1", "csrf": csrf}).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_failed_logins_are_slowed_down(site: Site) -> None:
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
