"""The review page's safeguards: CSRF, image paths, the session cookie, the login throttle, headers, id ranges."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.review_data import build_round
from qc.store import models as m
from qc.store.db import session_scope
from qc.web import create_app
from qc.web.security import LoginThrottle
from tests.web.client import Site, TestClient, csrf_of, login


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


class _Inline(HTMLParser):
    """Inline code in a page: ``<script>`` without ``src``, ``<style>`` blocks, ``style=`` and ``on*=`` attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if (tag == "script" and "src" not in names) or tag == "style":
            self.found.append(tag)
        self.found += [f"{tag}[{name}]" for name in names if name == "style" or name.startswith("on")]


PAGES = ["/login", "/queue", "/items/1", "/items/1/overlay/a1.png", "/items/1/image", "/reports", "/feedback"]
PAGES += ["/rounds/1/summary", "/static/item.js", "/no/such/page", "/items/999"]


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_forbids_framing_and_inline_code(site: Site, path: str) -> None:
    _, client, _ = site
    login(client, "lead")
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    if response.headers["content-type"].startswith("text/html") and path != "/rounds/1/summary":
        parser = _Inline()
        parser.feed(response.text)
        assert parser.found == [], path


def test_the_summary_page_allows_exactly_its_own_inline_style(site: Site) -> None:
    _, client, _ = site
    login(client, "manager")
    response = client.get("/rounds/1/summary")
    (style,) = re.findall(r"<style>(.*?)</style>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'self' 'sha256-{digest}'" in response.headers["content-security-policy"]


def _session_cookie(client: TestClient, **headers: str) -> str:
    """The session cookie the login page sets (it holds the CSRF token)."""
    client.cookies.clear()
    response = client.get("/login", headers=headers)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("qc_session=")
    return cookie.lower()


def test_the_session_cookie_is_secure_over_https_and_behind_a_trusted_proxy(sqlite_engine: Engine) -> None:
    build_round(sqlite_engine, images=1)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    plain = TestClient(create_app(url, secret_key="k"), follow_redirects=False)
    assert "secure" not in _session_cookie(plain)
    assert "secure" not in _session_cookie(plain, **{"X-Forwarded-Proto": "https"})  # nobody trusted said so
    direct = TestClient(create_app(url, secret_key="k"), base_url="https://testserver", follow_redirects=False)
    assert "; secure" in _session_cookie(direct)
    csrf = csrf_of(direct.get("/login").text)
    signed_in = direct.post("/login", data={"token": "token-rev1", "csrf": csrf})
    assert signed_in.status_code == 303 and "; secure" in signed_in.headers["set-cookie"].lower()
    proxied = TestClient(create_app(url, secret_key="k", trusted_proxies="testclient"), follow_redirects=False)
    assert "; secure" in _session_cookie(proxied, **{"X-Forwarded-Proto": "https"})
    assert "secure" not in _session_cookie(proxied, **{"X-Forwarded-Proto": "http"})
    forced = TestClient(create_app(url, secret_key="k", secure_cookies=True), follow_redirects=False)
    cookie = _session_cookie(forced)
    assert cookie.count("secure") == 1 and "httponly" in cookie and "samesite=lax" in cookie


HUGE = [str(2**31), str(2**63 - 1), str(2**63), "99999999999999999999999999", str(-(2**63) - 1)]


@pytest.mark.parametrize("number", HUGE)
def test_ids_beyond_the_database_range_are_not_found(site_on_both: Site, number: str) -> None:
    built, client, _ = site_on_both
    client = TestClient(client.app, follow_redirects=False, raise_server_exceptions=False)
    csrf = login(client, "lead")
    for path in (f"/items/{number}", f"/items/{number}/overlay/a1.png", f"/items/{number}/image"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/rounds/{number}/summary").status_code == 404
    assert client.get(f"/queue?category={number}&annotator={number}").status_code == 200
    form = {"csrf": csrf, "version": "2", "kind": "accept_consensus"}
    assert client.post(f"/items/{number}/decide", data=form).status_code == 404
    reviewer = str(built.people["rev2"])
    assert client.post(f"/items/{number}/reassign", data={"csrf": csrf, "to": reviewer}).status_code == 404
    assert client.post("/items/2/reassign", data={"csrf": csrf, "to": number}).status_code == 404
    held = login(client, "rev1")  # rev1 holds item 1
    for field, value in (("version", number), ("submission_id", number), (f"feedback_{number}", "redo")):
        data = {"csrf": held, "version": "2", "kind": "accept_submission", field: value}
        assert client.post("/items/1/decide", data=data).status_code in (400, 404), field
