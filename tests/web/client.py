"""A logged-in test client for the review page: FastAPI's TestClient on a small review round."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from sqlalchemy.engine import Engine

from bench.review_data import Built, build_round
from qc import review
from qc.store.db import session_scope
from qc.web import create_app

with warnings.catch_warnings():  # starlette asks for httpx2 (not installed); httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

__all__ = ["ROLES", "Site", "TestClient", "csrf_of", "login", "make_site"]

ROLES = ["anonymous", "ann1", "rev1", "rev2", "lead", "manager"]

Site = tuple[Built, TestClient, Path]
"""The round built, a client of the app on it, and the image root."""


def make_site(engine: Engine, tmp_path: Path) -> Site:
    """3 review items on ``engine``; rev1 holds item 1."""
    root = tmp_path / "images"
    root.mkdir()
    built = build_round(engine, images=3, image_root=root)
    with session_scope(engine) as s:  # rev1 holds item 1
        review.claim(s, reviewer_id=built.people["rev1"])
    url = engine.url.render_as_string(hide_password=False)
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
