"""The workbench's JSON routes: an item's disputes (GET) and their resolution (POST, CSRF in the body)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bench.review_data import Built, build_round
from qc import review
from qc.store import models as m
from qc.store.db import session_scope
from qc.web import create_app
from tests.web.client import TestClient, login

JSON = {"Accept": "application/json"}


@pytest.fixture
def held(sqlite_engine: Engine, tmp_path: Path) -> tuple[Built, TestClient, int]:
    """One image with 3 disputes, claimed by rev1: (the round, a client, the item's version)."""
    built = build_round(sqlite_engine, images=1, instances=3, disputes=3, image_root=tmp_path)
    with session_scope(sqlite_engine) as s:
        claim = review.claim(s, reviewer_id=built.people["rev1"])
    assert claim is not None
    app = create_app(sqlite_engine.url.render_as_string(hide_password=False), secret_key="k", image_root=tmp_path)
    return built, TestClient(app, follow_redirects=False), claim.version


def test_the_disputes_come_as_json_with_every_version(held: tuple[Built, TestClient, int]) -> None:
    _, client, version = held
    login(client, "rev1")
    data = client.get("/items/1/disputes").json()
    assert (data["item"], data["version"], data["width"], data["height"]) == (1, version, 64, 48)
    assert [(a["number"], a["name"], a["colour"]) for a in data["annotators"]] == [
        (1, "ann1", "#e6194b"),
        (2, "ann2", "#3cb44b"),
        (3, "ann3", "#0082c8"),
    ]
    assert data["classes"] == [{"id": 1, "name": "car <b>"}]
    first, _, third = data["disputes"]
    assert [v["number"] for v in first["versions"]] == [1, 2, 3]
    assert first["versions"][0]["rle"]["size"] == [48, 64] and first["fused"] == first["versions"][0]["rle"]
    assert third["versions"][2]["rle"] is None and third["resolution"] is None  # ann3 did not draw object 3
    assert [p[:2] for p in first["pairwise"]] == [["ann1", "ann2"], ["ann1", "ann3"], ["ann2", "ann3"]]
    login(client, "ann1")
    assert client.get("/items/1/disputes").status_code == 403


def test_resolve_checks_csrf_then_the_body_and_answers_json(held: tuple[Built, TestClient, int]) -> None:
    built, client, version = held
    csrf = login(client, "rev1")
    ids = [d["id"] for d in client.get("/items/1/disputes").json()["disputes"]]
    every = {str(i): {"kind": "fused"} for i in ids}
    no_token = client.post("/items/1/resolve", json={"version": version, "resolutions": every}, headers=JSON)
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["detail"]
    bad = client.post(
        "/items/1/resolve",
        json={"csrf": csrf, "version": version, "resolutions": {**every, str(ids[0]): {"kind": "keep"}}},
        headers=JSON,
    )
    assert bad.status_code == 400
    assert f"resolutions.{ids[0]}.kind must be one of take, fused, set_class" in bad.json()["detail"]
    stale = client.post(
        "/items/1/resolve", json={"csrf": csrf, "version": version - 1, "resolutions": every}, headers=JSON
    )
    assert stale.status_code == 409 and stale.json()["detail"]
    ann2 = built.people["ann2"]
    every[str(ids[1])] = {"kind": "take", "person_id": ann2}
    done = client.post("/items/1/resolve", json={"csrf": csrf, "version": version, "resolutions": every}, headers=JSON)
    assert done.status_code == 200 and done.json() == {"decided": 1, "redirect": "/queue?decided=1"}
    login(client, "lead")
    resolved = [d["resolution"] for d in client.get("/items/1/disputes").json()["disputes"]]
    assert resolved == ["fused by rev1", "take ann2 by rev1", "fused by rev1"]


def test_a_lead_who_annotated_the_image_is_told_why_the_item_page_is_refused(
    held: tuple[Built, TestClient, int], sqlite_engine: Engine
) -> None:
    built, client, _ = held
    with session_scope(sqlite_engine) as s:  # ann1 is a lead as well
        person = s.get(m.Person, built.people["ann1"])
        assert person is not None
        person.roles = ["annotator", "lead"]
    login(client, "ann1")
    shown = client.get("/items/1", headers={"Accept": "text/html"})
    assert shown.status_code == 403
    heading = re.search(r"<h1>(.*?)</h1>", shown.text)
    assert heading is not None and heading.group(1) == "You annotated this image"
    message = re.search(r'<p class="error" id="message">(.*?)</p>', shown.text, re.S)
    assert message is not None
    assert "ann1 annotated image 1 (img0000.png, review item 1)" in message.group(1)
    assert "another reviewer or lead must decide it" in message.group(1)
    assert client.get("/items/1/disputes", headers=JSON).status_code == 403
