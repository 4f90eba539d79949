"""Resolving disputes on the workbench in chromium: by keyboard only, with undo, paging and conflicts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.review_data import build_round
from qc import masks, review
from qc.store import db
from qc.store import models as m
from qc.store.api import add_assignments, add_person
from qc.store.segments import consensus_provenance
from qc.web import create_app
from tests.support.disputes import DisputedRound, disputed_round
from tests.support.rounds import rect
from tests.web.browser import signed_in

pytestmark = pytest.mark.slow


def _take_item(page: Any, base: str) -> int:
    page.keyboard.press("n")
    page.wait_for_url(f"{base}/items/*")
    page.locator("#focus").wait_for(state="visible")
    return int(page.url.rsplit("/", 1)[1])


def _app(engine: Engine, root: Path) -> Any:
    return create_app(engine.url.render_as_string(hide_password=False), secret_key="k", image_root=root)


def _token(engine: Engine, person_id: int) -> str:
    with db.session_scope(engine) as session:
        return review.issue_token(session, person_id=person_id)


@pytest.fixture
def built(sqlite_engine: Engine, tmp_path: Path) -> DisputedRound:
    return disputed_round(sqlite_engine, tmp_path / "deliveries")


def test_a_reviewer_resolves_three_disputes_by_keyboard_only(
    sqlite_engine: Engine, built: DisputedRound, tmp_path: Path
) -> None:
    rita, ann, bob, cy = (built.people[n] for n in ("rita", "ann", "bob", "cy"))
    shot = tmp_path / "workbench-focus.png"  # the test's artefact: a dispute in focus at 1400 x 900
    with signed_in(_app(sqlite_engine, tmp_path), _token(sqlite_engine, rita)) as (page, base, errors):
        item_id = _take_item(page, base)
        assert page.inner_text("#progress") == "0 of 3 resolved"
        assert page.inner_text("#focus-title") == "Dispute 1 of 3 · unsupported · box"
        captions = page.locator("#crops figcaption").all_inner_texts()
        assert [c.split("\n")[0] for c in captions] == ["1 · ann", "2 · bob", "3 · cy", "f · fused"]
        assert "did not draw it" in captions[2] and "IoU to fused" in captions[0]
        assert "ann–bob 0.60" in page.inner_text("#pairwise")
        view = page.evaluate("QCView.state()")  # zoomed to dispute 1's box (2, 40, 15, 12): its centre in the middle
        room = page.locator("#viewport").bounding_box()
        assert (view["tx"] + 9.5 * view["s"], view["ty"] + 46 * view["s"]) == pytest.approx(
            (room["width"] / 2, room["height"] / 2)
        )
        page.screenshot(path=str(shot))

        page.keyboard.press("2")  # bob's version ... then undone
        assert page.inner_text("#progress") == "1 of 3 resolved"
        assert page.inner_text("#dispute-1 .resolution") == "take bob"
        page.keyboard.press("u")
        assert page.inner_text("#progress") == "0 of 3 resolved"
        assert page.inner_text("#dispute-1 .resolution") == "open"
        assert page.inner_text("#focus-title").startswith("Dispute 1 of 3")
        page.keyboard.press("3")  # cy did not draw it: refused, nothing chosen
        assert "cy did not draw this object" in page.inner_text("#hint")
        assert page.inner_text("#progress") == "0 of 3 resolved"

        page.keyboard.press("1")  # ann's version; the focus moves on to dispute 2
        assert page.inner_text("#focus-title").startswith("Dispute 2 of 3")
        page.keyboard.press("f")
        page.keyboard.press("x")
        assert page.inner_text("#progress") == "3 of 3 resolved · Enter submits"
        assert [page.inner_text(f"#dispute-{i} .resolution") for i in (1, 2, 3)] == ["take ann", "fused", "remove"]
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/queue?decided={item_id}")
        assert errors == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first, second, _ = (d.id for d in _views(sqlite_engine, built.item_id, rita))
    with db.session_scope(sqlite_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
    got = [(s.source, s.supporters, s.chosen_by, s.dispute_id, s.segment.category_id) for s in label]
    assert got == [
        ("consensus", (ann, bob, cy), None, None, 1),
        ("annotator", (ann,), rita, first, 1),
        ("fused", (ann, bob, cy), rita, second, 1),
    ]
    for segment, want in zip(label, [rect(2, 2), rect(2, 40), rect(42, 2)], strict=True):  # 12 x 12 boxes
        np.testing.assert_array_equal(masks.decode(segment.segment.rle), masks.decode(want))


def _views(engine: Engine, item_id: int, viewer: int) -> list[review.DisputeView]:
    with db.session_scope(engine, write=False) as session:
        return review.dispute_views(session, item_id, viewer)


def test_a_stale_item_is_a_conflict_shown_on_the_page_and_nothing_is_stored(
    sqlite_engine: Engine, built: DisputedRound, tmp_path: Path
) -> None:
    rita = built.people["rita"]
    with db.session_scope(sqlite_engine) as session:
        lead = int(add_person(session, name="lena", roles=["lead"]).id or 0)
    with signed_in(_app(sqlite_engine, tmp_path), _token(sqlite_engine, rita)) as (page, base, _):
        item_id = _take_item(page, base)
        for key in ("1", "f", "c"):
            page.keyboard.press(key)
        assert page.evaluate("document.activeElement.id") == "inline-class"  # chosen inline, no window.prompt
        page.keyboard.press("Enter")
        with db.session_scope(sqlite_engine) as session:  # meanwhile the lead hands the item on: a new version
            review.reassign(session, item_id, lead_id=lead, to_person_id=rita, lease_minutes=15)
        page.keyboard.press("Enter")
        page.locator("#message").wait_for(state="visible")
        message = page.inner_text("#message")
        assert message.startswith("Not stored, conflict:") and "reload the item" in message
        assert page.url.endswith(f"/items/{item_id}")
    assert all(d.resolution is None for d in _views(sqlite_engine, item_id, rita))


def test_hundreds_of_disputes_page_by_50_and_fused_takes_the_rest(sqlite_engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "images"
    root.mkdir()
    built = build_round(sqlite_engine, images=1, height=480, width=640, instances=120, disputes=120, image_root=root)
    rev1 = built.people["rev1"]
    with signed_in(_app(sqlite_engine, root), "token-rev1") as (page, base, errors):
        item_id = _take_item(page, base)
        assert page.locator("#dispute-rows tr").count() == 50 and page.inner_text("#page-label") == "page 1 of 3"
        page.click("#page-next")
        assert page.locator("#dispute-rows tr").first.get_attribute("id") == "dispute-51"
        page.click("#page-prev")
        for _ in range(50):  # j to dispute 51: the list follows to its page
            page.keyboard.press("j")
        assert page.inner_text("#page-label") == "page 2 of 3"
        assert page.get_attribute("#dispute-51", "class") == "current open"
        panel, focus, row = (page.locator(s).bounding_box() for s in ("#panel", "#focus", "#dispute-51"))
        assert focus["y"] >= panel["y"] - 1  # deep in the list the crops stay in view, the current row below them
        assert focus["y"] + focus["height"] <= row["y"] and row["y"] + row["height"] <= panel["y"] + panel["height"]
        assert page.evaluate(
            "document.getElementById('panel').scrollWidth <= document.getElementById('panel').clientWidth"
        )
        page.keyboard.press("Shift+Tab")  # Tab / Shift+Tab move like j / k
        assert page.inner_text("#page-label") == "page 1 of 3"
        assert page.inner_text("#focus-title").startswith("Dispute 50 ")
        page.keyboard.press("Tab")
        assert page.get_attribute("#dispute-51", "class") == "current open"
        page.keyboard.press("x")  # remove 51, then fused for every other one
        page.keyboard.press("Shift+F")
        assert page.inner_text("#progress") == "120 of 120 resolved · Enter submits"
        page.keyboard.press("u")  # undoes the whole "fused for the rest" at once
        assert page.inner_text("#progress") == "1 of 120 resolved"
        page.click("#fused-rest")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/queue?decided={item_id}")
        assert errors == []
    resolved = [(d.index, d.resolution.kind if d.resolution else None) for d in _views(sqlite_engine, item_id, rev1)]
    assert resolved == [(i, "remove" if i == 51 else "fused") for i in range(1, 121)]
    with db.session_scope(sqlite_engine, write=False) as session:
        decision = session.scalars(select(m.Decision)).one()
    assert decision.kind == "resolve"


def test_notes_and_the_class_are_typed_inline_and_stored(
    sqlite_engine: Engine, built: DisputedRound, tmp_path: Path
) -> None:
    rita = built.people["rita"]
    with signed_in(_app(sqlite_engine, tmp_path), _token(sqlite_engine, rita)) as (page, base, errors):
        item_id = _take_item(page, base)
        page.keyboard.press("r")  # dispute 1: send it back, with a note typed in the field under the crops
        assert page.locator("#inline").is_visible() and page.evaluate("document.activeElement.id") == "inline-note"
        people = page.locator("#inline-person option").all_inner_texts()  # cy missed it: anyone may get it back
        assert people == ["everyone who drew it (ann, bob)", "1 · ann", "2 · bob", "3 · cy (did not draw it)"]
        assert page.input_value("#inline-person") == ""  # by default everyone who drew it
        page.keyboard.press("Enter")  # no note yet: refused
        assert "a note is needed" in page.inner_text("#hint") and page.inner_text("#progress") == "0 of 3 resolved"
        page.keyboard.type("follow the left edge")
        page.keyboard.press("Alt+7")  # the picker by key: Alt+N is annotator N, Alt+0 everyone who drew it
        assert page.inner_text("#hint") == "no annotator 7" and page.input_value("#inline-person") == ""
        page.keyboard.press("Alt+3")
        assert page.input_value("#inline-person") == str(built.people["cy"])
        assert page.inner_text("#hint") == "to cy alone"
        page.keyboard.press("Alt+0")
        assert page.input_value("#inline-person") == ""
        page.keyboard.press("Alt+2")  # bob alone gets it back
        assert page.input_value("#inline-note") == "follow the left edge"  # the keys typed nothing into the note
        page.keyboard.press("Enter")
        assert page.inner_text("#dispute-1 .resolution") == "send back to bob: follow the left edge"
        page.keyboard.press("e")  # dispute 2: escalate; Esc cancels, e again
        page.keyboard.press("Escape")
        assert page.locator("#inline").is_hidden()
        page.keyboard.press("e")
        page.keyboard.type("is a partly hidden box one object?")
        page.keyboard.press("Enter")
        page.keyboard.press("c")  # dispute 3, the class conflict: the fused shape as a disc
        page.select_option("#inline-class", label="disc")
        page.keyboard.press("Enter")
        assert page.inner_text("#dispute-3 .resolution") == "class disc"
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/queue?decided={item_id}")
        assert errors == []
    views = _views(sqlite_engine, item_id, rita)
    got = [(d.resolution.kind, d.resolution.note, d.resolution.category, d.resolution.person) for d in views]
    assert got == [
        ("rework", "follow the left edge", None, "bob"),
        ("escalate", "is a partly hidden box one object?", None, None),
        ("set_class", "", "disc", None),
    ]


def test_an_annotator_assigned_but_not_delivered_keeps_one_number_and_colour_everywhere(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with db.session_scope(sqlite_engine) as session:  # al comes first by id and never delivers
        al = int(add_person(session, name="al", roles=["annotator"]).id or 0)
    built = disputed_round(sqlite_engine, tmp_path / "deliveries")
    with db.session_scope(sqlite_engine) as session:  # a follow-up annotator, assigned after the close
        add_assignments(session, round_id=built.round_id, pairs=[(built.image_id, al)], kind="followup")
    with signed_in(_app(sqlite_engine, tmp_path), _token(sqlite_engine, built.people["rita"])) as (page, base, errors):
        item_id = _take_item(page, base)
        legend = [t.strip() for t in page.locator("#legend label").all_inner_texts()][:4]
        assert legend == ["1. al", "2. ann", "3. bob", "4. cy"]
        captions = [c.split("\n") for c in page.locator("#crops figcaption").all_inner_texts()]
        assert [c[0] for c in captions] == ["1 · al", "2 · ann", "3 · bob", "4 · cy", "f · fused"]
        assert captions[0][1] == "did not draw it"
        colours = page.evaluate("JSON.parse(document.getElementById('workbench').dataset.workbench).annotators")
        layers = {
            n: Image.open(io.BytesIO(page.request.get(f"{base}/items/{item_id}/overlay/a{n}.png").body()))
            for n in (1, 2, 3)
        }
        assert layers[1].getextrema()[3] == (0, 0)  # al delivered nothing: an empty layer, not ann's
        ann_edge, bob_edge = (2, 46), (5, 46)  # the left edges of dispute 1's boxes: ann's at x = 2, bob's at x = 5
        assert layers[2].getpixel(ann_edge)[3] > 0 and layers[2].getpixel(bob_edge)[3] == 0
        assert layers[3].getpixel(bob_edge)[3] > 0 and layers[3].getpixel(ann_edge)[3] == 0
        assert "#" + bytes(layers[2].getpixel(ann_edge)[:3]).hex() == colours[1]["colour"]  # ann's legend colour
        page.keyboard.press("1")  # al did not draw it: refused
        assert "al did not draw this object" in page.inner_text("#hint")
        page.keyboard.press("2")
        assert page.inner_text("#dispute-1 .resolution") == "take ann"
        assert errors == []
