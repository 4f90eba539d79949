"""Review page speed: the workbench item page of a 2000x1500 image, 5 annotators x 200 objects, 40 disputes.

Serves the app with uvicorn on loopback (a thread), logs in as a lead, then times N requests
of the item page followed by one overlay PNG each (the layers in turn, so the first pass
renders them and later passes hit the (item, version, layer) cache). Prints p50/p95/max, the
page weight (HTML with its inline dispute data, scripts, the overlays) and, in chromium when
it is installed, the page's load and the time one `j` takes (focus the next dispute: zoom
and draw its crops, no request to the server).

    .venv/bin/python -m bench.review [N] [--annotators 5] [--objects 200] [--disputes 40]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from bench.review_data import build_round, running
from qc.store import db
from qc.web import create_app

HEIGHT, WIDTH = 1500, 2000
CHROMIUM = Path("/usr/bin/chromium")


def main(n: int, annotators: int, objects: int, disputes: int) -> None:
    layers = [f"a{i}" for i in range(1, annotators + 1)] + ["consensus"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        root.mkdir()
        engine = db.make_engine(f"sqlite:///{tmp}/qc.db")
        db.upgrade(engine)
        t0 = time.perf_counter()
        build_round(
            engine, images=1, height=HEIGHT, width=WIDTH, instances=objects, annotators=annotators,
            image_root=root, disputes=disputes,
        )  # fmt: skip
        print(f"built 1 image x {annotators} annotators x {objects} objects, {disputes} disputes in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
        app = create_app(engine.url.render_as_string(hide_password=False), secret_key="bench", image_root=root)
        with running(app) as base:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            csrf = re.search(r'name="csrf" value="([^"]+)"', opener.open(f"{base}/login").read().decode())
            assert csrf is not None
            body = urllib.parse.urlencode({"token": "token-lead", "csrf": csrf.group(1)}).encode()
            opener.open(f"{base}/login", data=body).read()
            pages, first, overlays = _time_requests(opener, base, layers, n)
            weight = _weight(opener, base, layers)
            browser = _in_chromium(base) if CHROMIUM.exists() else None
        engine.dispose()
    p95 = statistics.quantiles(pages, n=20)[18]
    print(f"item page alone, {n} requests: p50 {statistics.median(pages):.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(pages):.1f} ms (target p95 <= 300 ms)")  # fmt: skip
    print(f"overlay PNGs, first render each: {', '.join(f'{t:.0f}' for t in first)} ms; "
          f"cached: p50 {statistics.median(overlays):.1f} ms")  # fmt: skip
    print("page weight: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in weight.items()))
    if browser:
        print("chromium 1400x900: " + ", ".join(f"{k} {v:.0f} ms" for k, v in browser.items()))


def _time_requests(
    opener: urllib.request.OpenerDirector, base: str, layers: list[str], n: int
) -> tuple[list[float], list[float], list[float]]:
    pages: list[float] = []
    first: list[float] = []
    overlays: list[float] = []
    for i in range(n):
        start = time.perf_counter()
        html = opener.open(f"{base}/items/1").read()
        pages.append((time.perf_counter() - start) * 1000)
        assert b"img0000.png" in html
        start = time.perf_counter()
        png = opener.open(f"{base}/items/1/overlay/{layers[i % len(layers)]}.png").read()
        (first if i < len(layers) else overlays).append((time.perf_counter() - start) * 1000)
        assert png[:4] == b"\x89PNG"
    return pages, first, overlays or first


def _weight(opener: urllib.request.OpenerDirector, base: str, layers: list[str]) -> dict[str, int]:
    size = {"HTML (with the disputes' JSON)": len(opener.open(f"{base}/items/1").read())}
    size["scripts and CSS"] = sum(
        len(opener.open(f"{base}/static/{name}").read()) for name in ("item.js", "view.js", "rle.js", "review.css")
    )
    size["overlay PNGs"] = sum(len(opener.open(f"{base}/items/1/overlay/{layer}.png").read()) for layer in layers)
    size["image"] = len(opener.open(f"{base}/items/1/image").read())
    return size


def _in_chromium(base: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/login")
            page.fill("#token", "token-lead")
            page.click("#login")
            page.wait_for_url(f"{base}/queue")
            start = time.perf_counter()
            page.goto(f"{base}/items/1")
            loaded = (time.perf_counter() - start) * 1000
            steps = []
            for _ in range(20):
                steps.append(page.evaluate(
                    "() => { const t = performance.now();"
                    " document.dispatchEvent(new KeyboardEvent('keydown', {key: 'j'}));"
                    " return performance.now() - t; }"
                ))  # fmt: skip
        finally:
            browser.close()
    return {"item page load (all layers)": loaded, "one j, median of 20": statistics.median(steps)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=60)
    parser.add_argument("--annotators", type=int, default=5)
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--disputes", type=int, default=40)
    args = parser.parse_args()
    main(args.n, args.annotators, args.objects, args.disputes)
