"""The review page in a real browser: Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.review_data import build_round
from qc.store import models as m
from qc.store.db import session_scope
from qc.web import create_app
from tests.web.browser import signed_in


@pytest.mark.slow
def test_reviewer_logs_in_and_accepts_with_a_key(sqlite_engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "images"
    root.mkdir()
    built = build_round(sqlite_engine, images=3, height=240, width=320, instances=4, image_root=root)
    app = create_app(sqlite_engine.url.render_as_string(hide_password=False), secret_key="k", image_root=root)
    shot = tmp_path / "item.png"
    with signed_in(app, "token-rev1", width=1000) as (page, base, refused):  # refused: what the CSP blocked (nothing)
        assert page.inner_text("#count-pending") == "3"
        page.keyboard.press("n")
        page.wait_for_url(f"{base}/items/*")
        page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        box = page.locator("#stage").bounding_box()  # the 320 x 240 image fits the viewer beside the panel
        room = page.locator("#viewport").bounding_box()
        assert box is not None and room is not None
        scale = min(room["width"] / 320, room["height"] / 240)
        assert (box["width"], box["height"]) == pytest.approx((320 * scale, 240 * scale), abs=0.5)
        assert page.locator("#feedback").get_attribute("open") is None  # findings for one annotator: collapsed
        assert "1 finding, 1 annotator" in page.inner_text("#feedback summary")
        page.uncheck("input[data-layer=a1]")
        assert page.locator("#layer-a1").is_hidden()
        page.check("input[data-layer=a1]")
        page.screenshot(path=str(shot), full_page=True)
        item_id = int(page.url.rsplit("/", 1)[1])
        page.keyboard.press("Shift+2")  # the whole image: accept ann2's submission
        page.wait_for_url(f"{base}/queue?decided={item_id}")
        assert page.inner_text("#count-decided") == "1"
        assert refused == []
    with session_scope(sqlite_engine, write=False) as s:
        decision = s.scalars(select(m.Decision)).one()
        result = s.scalars(select(m.ImageResult).where(m.ImageResult.image_id == built.image_ids[0])).one()
    assert decision.review_item_id == item_id and decision.kind == "accept_submission"
    assert decision.target_submission_id == built.submissions[(built.image_ids[0], built.people["ann2"])]
    assert result.verdict == "accepted"
    assert shot.stat().st_size > 5_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
