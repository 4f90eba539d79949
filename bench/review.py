"""Review page speed: the item page of a 2048x1536 image with 3 annotators x 100 instances, plus its overlays.

Serves the app with uvicorn on loopback (a thread), logs in as a lead, then times N requests
of the item page followed by one overlay PNG each (the layers in turn, so the first pass
renders them and later passes hit the (item, version, layer) cache). Prints p50/p95/max.

    .venv/bin/python -m bench.review [N]
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from bench.review_data import build_round, running
from qc.store import db
from qc.web import create_app

LAYERS = ["a1", "a2", "a3", "consensus", "disagreement"]


def main(n: int = 60) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        root.mkdir()
        engine = db.make_engine(f"sqlite:///{tmp}/qc.db")
        db.upgrade(engine)
        t0 = time.perf_counter()
        build_round(engine, images=1, height=1536, width=2048, instances=100, annotators=3, image_root=root)
        print(f"built 1 image x 3 annotators x 100 instances in {time.perf_counter() - t0:.1f} s")
        app = create_app(engine.url.render_as_string(hide_password=False), secret_key="bench", image_root=root)
        with running(app) as base:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
            csrf = re.search(r'name="csrf" value="([^"]+)"', opener.open(f"{base}/login").read().decode())
            assert csrf is not None
            body = urllib.parse.urlencode({"token": "token-lead", "csrf": csrf.group(1)}).encode()
            opener.open(f"{base}/login", data=body).read()
            first: list[float] = []
            times: list[float] = []
            for i in range(n):
                start = time.perf_counter()
                html = opener.open(f"{base}/items/1").read()
                png = opener.open(f"{base}/items/1/overlay/{LAYERS[i % len(LAYERS)]}.png").read()
                elapsed = (time.perf_counter() - start) * 1000
                (first if i < len(LAYERS) else times).append(elapsed)
                assert b"img0000.png" in html and png[:4] == b"\x89PNG"
        engine.dispose()
    every = first + times
    p95 = statistics.quantiles(every, n=20)[18]
    print(f"first pass (renders each layer once): {', '.join(f'{t:.0f}' for t in first)} ms")
    print(
        f"item page + overlay PNG, {n} requests: p50 {statistics.median(every):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(every):.1f} ms (target p95 < 300 ms)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
