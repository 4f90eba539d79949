"""The workbench item page in chromium: the viewer (fit, zoom, pan, layers) and the browser's RLE decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from bench.review_data import build_round
from qc import masks
from qc.web import create_app
from tests.web.browser import signed_in

pytestmark = pytest.mark.slow


def _open_item(page: Any, base: str) -> None:
    page.keyboard.press("n")  # the queue's key: take the next item
    page.wait_for_url(f"{base}/items/*")
    page.wait_for_function("Array.from(document.images).every(i => i.complete && (i.hidden || i.naturalWidth > 0))")


def _state(page: Any) -> dict[str, float]:
    state: dict[str, float] = page.evaluate("QCView.state()")
    return state


def _image_point(state: dict[str, float], x: float, y: float) -> tuple[float, float]:
    """The image pixel under the viewport point (x, y)."""
    return (x - state["tx"]) / state["s"], (y - state["ty"]) / state["s"]


@pytest.fixture
def app(sqlite_engine: Engine, tmp_path: Path) -> Any:
    root = tmp_path / "images"
    root.mkdir()
    build_round(sqlite_engine, images=1, height=1200, width=1600, instances=6, image_root=root)
    return create_app(sqlite_engine.url.render_as_string(hide_password=False), secret_key="k", image_root=root)


def test_the_image_fits_zooms_about_the_pointer_and_pans(app: Any) -> None:
    with signed_in(app, "token-rev1") as (page, base, errors):
        _open_item(page, base)
        room = page.locator("#viewport").bounding_box()
        fit = _state(page)
        assert fit["s"] == pytest.approx(min(room["width"] / 1600, room["height"] / 1200))
        stage = page.locator("#stage").bounding_box()  # centred, one side filling the viewport
        assert stage["width"] == pytest.approx(1600 * fit["s"], abs=0.5)
        assert stage["x"] - room["x"] == pytest.approx((room["width"] - stage["width"]) / 2, abs=0.5)
        assert "crisp" not in (page.get_attribute("#stage", "class") or "")  # shrunk: smoothed, not blocky

        centre = (room["width"] / 2, room["height"] / 2)
        page.keyboard.press("+")
        zoomed = _state(page)
        assert zoomed["s"] == pytest.approx(fit["s"] * 1.25)
        assert _image_point(zoomed, *centre) == pytest.approx(_image_point(fit, *centre))

        pointer = (room["width"] * 0.25, room["height"] * 0.3)
        page.mouse.move(room["x"] + pointer[0], room["y"] + pointer[1])
        page.mouse.wheel(0, -400)
        wheeled = _state(page)  # the wheel handler zooms as the event is dispatched
        # the same image pixel stays under the pointer (within one: the browser gives whole-pixel mouse positions)
        assert _image_point(wheeled, *pointer) == pytest.approx(_image_point(zoomed, *pointer), abs=1)
        assert wheeled["s"] > zoomed["s"] * 1.5 and wheeled["s"] > 1
        assert "crisp" in (page.get_attribute("#stage", "class") or "")  # zoomed in: whole pixels as blocks

        page.mouse.down()
        page.mouse.move(room["x"] + pointer[0] + 60, room["y"] + pointer[1] - 40, steps=4)
        page.mouse.up()
        panned = _state(page)
        assert (panned["tx"] - wheeled["tx"], panned["ty"] - wheeled["ty"]) == pytest.approx((60, -40))
        assert panned["s"] == wheeled["s"]
        transform = page.evaluate("getComputedStyle(document.getElementById('stage')).transform")
        assert transform == f"matrix({panned['s']:g}, 0, 0, {panned['s']:g}, {panned['tx']:g}, {panned['ty']:g})"

        page.keyboard.press("-")
        assert _state(page)["s"] == pytest.approx(panned["s"] * 0.8)
        page.keyboard.press("0")
        assert _state(page) == pytest.approx(fit)
        assert errors == []


def test_layers_toggle_and_annotators_are_outlines(app: Any) -> None:
    with signed_in(app, "token-rev1") as (page, base, errors):
        _open_item(page, base)
        assert page.locator("#layer-consensus").is_hidden()  # the accepted consensus: off until asked for
        for layer in ("a1", "a2", "a3", "fused", "boxes"):
            assert page.locator(f"#layer-{layer}").is_visible(), layer
        page.uncheck("input[data-layer=a2]")
        page.check("input[data-layer=consensus]")
        page.uncheck("input[data-layer=fused]")
        assert page.locator("#layer-a2").is_hidden() and page.locator("#layer-fused").is_hidden()
        assert page.locator("#layer-consensus").is_visible() and page.locator("#layer-a1").is_visible()
        page.check("input[data-layer=a2]")
        assert page.locator("#layer-a2").is_visible()
        # each annotator's colour is the same in the legend and on its outlines
        legend = page.locator("input[data-layer=a1] + svg rect").get_attribute("fill")
        assert legend == "#e6194b"
        assert errors == []


def _blobs() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    shapes = [np.zeros((37, 53), dtype=bool)]  # empty first
    full = np.zeros((37, 53), dtype=bool)
    full[:, :] = True  # every pixel, edges included
    shapes.append(full)
    for _ in range(4):
        grid = rng.random((37, 53)) > 0.6
        grid[:, rng.integers(0, 53)] = True  # a run through a whole column
        shapes.append(grid)
    return shapes


def test_the_browser_decodes_rle_like_pycocotools(app: Any) -> None:
    with signed_in(app, "token-rev1") as (page, base, _):
        _open_item(page, base)
        for mask in _blobs():
            rle = masks.encode(mask)
            for region in [(0, 0, 53, 37), (5, 3, 20, 30), (40, 30, 13, 7)]:
                x, y, w, h = region
                got = page.evaluate("([r, b]) => Array.from(QCRle.crop(r, b[0], b[1], b[2], b[3]))", [rle, region])
                assert np.array_equal(np.array(got, dtype=bool).reshape(h, w), mask[y : y + h, x : x + w]), region
            bounds = page.evaluate("(r) => QCRle.bounds(r)", rle)
            assert bounds == (list(masks.bbox(rle)) if mask.any() else None)
