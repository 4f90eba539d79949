"""The review page's routes through FastAPI's TestClient: every route for every role, escaping, filters, forms."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy.engine import Engine

from bench.review_data import build_round, rectangles
from qc.store import models as m
from qc.store.api import get_row
from qc.store.db import session_scope
from qc.store.reliability import replace_reliability
from qc.web import create_app
from tests.web.client import ROLES, Site, TestClient, login

# (method, path, {role: expected status}); item 1 is claimed by rev1, item 2 is pending
# (method, path, {role: expected status}); item 1 is claimed by rev1, item 2 is pending
MATRIX = [
    ("GET", "/queue", {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 200, "lead": 200, "manager": 403}),
    ("POST", "/queue/next", {"anonymous": 401, "ann1": 403, "rev1": 303, "rev2": 303, "lead": 303, "manager": 403}),
    ("GET", "/items/1", {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403}),
    (
        "GET",
        "/items/1/disputes",
        {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403},
    ),
    ("GET", "/items/2", {"anonymous": 303, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 200, "manager": 403}),
    (
        "GET",
        "/items/1/overlay/a1.png",
        {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403},
    ),
    (
        "GET",
        "/items/1/overlay/disagreement.png",
        {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403},
    ),
    ("GET", "/items/1/image", {"anonymous": 303, "ann1": 403, "rev1": 200, "rev2": 403, "lead": 200, "manager": 403}),
    ("POST", "/items/1/decide", {"anonymous": 401, "ann1": 403, "rev1": 303, "rev2": 403, "lead": 409, "manager": 403}),
    (
        "POST",
        "/items/2/reassign",
        {"anonymous": 401, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 303, "manager": 403},
    ),
    ("GET", "/reports", {"anonymous": 303, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 200, "manager": 200}),
    (
        "GET",
        "/rounds/1/summary",
        {"anonymous": 303, "ann1": 403, "rev1": 403, "rev2": 403, "lead": 200, "manager": 200},
    ),
    ("GET", "/feedback", {"anonymous": 303, "ann1": 200, "rev1": 403, "rev2": 403, "lead": 403, "manager": 403}),
    ("GET", "/", {"anonymous": 303, "ann1": 303, "rev1": 303, "rev2": 303, "lead": 303, "manager": 303}),
    ("GET", "/login", dict.fromkeys(ROLES, 200)),
    ("POST", "/logout", {"anonymous": 303, "ann1": 303, "rev1": 303, "rev2": 303, "lead": 303, "manager": 303}),
]


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_route_by_role(site: Site, method: str, path: str, expected: dict[str, int]) -> None:
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


def test_user_text_is_escaped(site: Site, sqlite_engine: Engine) -> None:
    built, client, _ = site
    csrf = login(client, "rev1")
    page = client.get("/items/1").text
    assert "<script>alert(1)</script>" not in page
    assert "edges differ &lt;script&gt;alert(1)&lt;/script&gt;" in page
    ann2 = built.people["ann2"]
    response = client.post(
        "/items/1/decide",
        data={"csrf": csrf, "version": "2", "kind": "rework", f"feedback_{ann2}": "<script>steal()</script> redo"},
    )
    assert response.status_code == 303
    login(client, "ann2")
    feedback = client.get("/feedback").text
    assert "<script>steal()" not in feedback and "&lt;script&gt;steal()&lt;/script&gt; redo" in feedback
    login(client, "ann1")
    assert "steal()" not in client.get("/feedback").text  # annotators see only their own feedback


def test_queue_filters_and_overlay_pixels(site: Site) -> None:
    _, client, _ = site
    login(client, "lead")
    everything = client.get("/queue").text
    assert everything.count('<a href="/items/') == 3 and 'id="count-pending">2<' in everything
    assert client.get("/queue?kind=no_such_kind").text.count('<a href="/items/') == 0
    png = PILImage.open(io.BytesIO(client.get("/items/1/overlay/a1.png").content))
    alpha = png.getchannel("A")
    assert png.size == (64, 48) and alpha.getextrema() == (0, 255)
    assert set(np.unique(np.asarray(alpha))) == {0, 255}  # outlines only: no translucent fill hides the picture
    first = rectangles(2, 48, 64, seed=1)[0]  # ann1's first rectangle (bench.review_data): its border, not inside
    x0, y0, x1, y1 = first
    assert alpha.getpixel((x0, y0)) == 255 and alpha.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == 0
    assert client.get("/items/1/overlay/a9.png").status_code == 404


@pytest.mark.parametrize("field", ["version", "submission_id", "feedback_x"])
def test_malformed_form_numbers_are_a_clear_400(site: Site, field: str) -> None:
    _, client, _ = site
    csrf = login(client, "rev1")
    client.get("/items/1")
    data = {"csrf": csrf, "version": "2", "kind": "accept_submission", "submission_id": "1", field: "two"}
    response = client.post("/items/1/decide", data=data)
    assert response.status_code == 400
    assert "must be a whole number" in response.text


def test_library_errors_answer_their_http_status_with_the_error_page(site: Site) -> None:
    built, client, _ = site
    csrf = login(client, "lead")
    annotator = client.post("/items/2/reassign", data={"csrf": csrf, "to": str(built.people["ann1"])})
    assert annotator.status_code == 403 and "reviewing needs the reviewer or lead role" in annotator.text
    missing = client.post("/items/99/reassign", data={"csrf": csrf, "to": str(built.people["rev2"])})
    assert missing.status_code == 404 and 'id="message"' in missing.text
    assert client.get("/items/1/overlay/zz.png").status_code == 404
    assert client.get("/rounds/99/summary").status_code == 404
    csrf = login(client, "rev1")
    bad = client.post("/items/1/decide", data={"csrf": csrf, "version": "2", "kind": "nope"})
    assert bad.status_code == 400 and "kind must be one of accept_submission" in bad.text
    assert "<span>rev1 (reviewer)</span>" in bad.text  # the error page knows who is signed in
    stale = client.post("/items/1/decide", data={"csrf": csrf, "version": "9", "kind": "accept_consensus"})
    assert stale.status_code == 409 and "stale decision" in stale.text


def test_the_last_decision_starts_the_close_of_its_round(sqlite_engine: Engine) -> None:
    built = build_round(sqlite_engine, images=1)
    called: list[int] = []
    app = create_app(sqlite_engine.url.render_as_string(hide_password=False), on_round_reviewed=called.append)
    client = TestClient(app, follow_redirects=False)
    csrf = login(client, "rev1")
    assert client.post("/queue/next", data={"csrf": csrf}).headers["location"] == "/items/1"
    done = client.post("/items/1/decide", data={"csrf": csrf, "version": "2", "kind": "accept_consensus"})
    assert done.status_code == 303 and called == [built.round_id]


def test_a_browser_gets_the_error_page_and_an_api_client_json(site: Site) -> None:
    """A reviewer who opens someone else's item in the browser sees a page with the reason and a way back."""
    _, client, _ = site
    login(client, "rev2")
    shown = client.get("/items/1", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert shown.status_code == 403 and shown.headers["content-type"].startswith("text/html")
    assert "<h1>Not allowed</h1>" in shown.text and 'href="/queue"' in shown.text
    assert "this item is not claimed by you; take the next item instead" in shown.text
    missing = client.get("/items/1/image/nothing", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
    api = client.get("/items/1")
    assert api.status_code == 403
    assert api.json() == {"detail": "this item is not claimed by you; take the next item instead"}


def test_an_annotator_sees_their_own_reliability_and_nobody_elses(site: Site, sqlite_engine: Engine) -> None:
    built, client, _ = site
    with session_scope(sqlite_engine) as session:
        project_id = get_row(session, m.Round, built.round_id).project_id
        rows = [
            {"person_id": built.people[name], "n_objects": n, "miss_rate": rate, "intervals": {"miss_rate": [0.0, 0.5]}}
            for name, n, rate in (("ann1", 11, 0.125), ("ann2", 22, 0.875))
        ]
        replace_reliability(session, project_id=project_id, round_id=built.round_id, rows=rows)
        replace_reliability(session, project_id=project_id, round_id=None, rows=rows[:1])
    login(client, "ann1")
    page = client.get("/feedback").text
    assert page.count("<td>11</td>") == 2 and "0.125 [0.000, 0.500]" in page  # their round and project rows
    assert "<td>r1</td>" in page and "every round" in page
    assert "<td>22</td>" not in page and "0.875" not in page  # never another annotator's figures
    login(client, "ann2")
    page = client.get("/feedback").text
    assert page.count("<td>22</td>") == 1 and "0.875" in page and "0.125" not in page
    login(client, "ann3")
    assert "No reliability measured for you yet" in client.get("/feedback").text
