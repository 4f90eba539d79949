"""The review page under load: N concurrent reviewers claim and decide for S seconds against one server.

Run: ``.venv/bin/python -m bench.load [--reviewers 20] [--seconds 120] [--items 3000]``.

A SQLite database with ``--items`` review items (``bench/review_data.py``) is served by
uvicorn in a subprocess on loopback; each reviewer is a thread with its own httpx client
that logs in with its token, then loops: claim the next item (``POST /queue/next``), open
its page, fetch one overlay, decide ``accept_consensus``. Printed: requests, p50/p95/max
latency, errors (target 0), decisions made and stored (every decision stored once).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from qc.store import db
from qc.store import models as m

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def _serve(url: str, port: int) -> None:
    import uvicorn

    from qc.web import create_app

    uvicorn.run(create_app(url, secret_key="load"), host="127.0.0.1", port=port, log_level="warning")


class Reviewer(threading.Thread):
    def __init__(self, base: str, name: str, until: float) -> None:
        super().__init__(daemon=True)
        self.base, self.name, self.until = base, name, until
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.decided: list[int] = []

    def request(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.errors.append(f"{method} {path}: {exc!r}")
            return None
        self.latencies.append((time.perf_counter() - start) * 1000)
        if response.status_code >= 400:
            self.errors.append(f"{method} {path}: HTTP {response.status_code}")
            return None
        return response

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            login = self.request(client, "GET", "/login")
            found = CSRF.search(login.text) if login else None
            csrf = found.group(1) if found else ""
            self.request(client, "POST", "/login", data={"token": f"token-{self.name}", "csrf": csrf})
            queue = self.request(client, "GET", "/queue")  # logging in starts a new session with a new CSRF token
            found = CSRF.search(queue.text) if queue else None
            if found is None:
                self.errors.append("no session after logging in (see the request errors before)")
                return
            csrf = found.group(1)
            while time.monotonic() < self.until:
                claimed = self.request(client, "POST", "/queue/next", data={"csrf": csrf})
                where = claimed.headers.get("location", "") if claimed else ""
                if not where.startswith("/items/"):
                    time.sleep(0.2)  # queue empty (or an error, already counted)
                    continue
                item = int(where.split("/")[2])
                page = self.request(client, "GET", where)
                version = VERSION.search(page.text) if page else None
                self.request(client, "GET", f"/items/{item}/overlay/consensus.png")
                if version is None:
                    continue
                data = {"csrf": csrf, "version": version.group(1), "kind": "accept_consensus"}
                done = self.request(client, "POST", f"/items/{item}/decide", data=data)
                if done is not None and done.status_code == 303:
                    self.decided.append(item)


def load_drill(folder: Path, *, reviewers: int = 20, seconds: float = 120, items: int = 3000) -> dict[str, Any]:
    """Build, serve and load; the figures and checks as a dict."""
    from bench.review_data import build_round, free_port

    url = f"sqlite:///{folder / 'load.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    build_round(engine, images=items, reviewers=reviewers)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.load", "_serve", url, str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base)
        until = time.monotonic() + seconds
        clients = [Reviewer(base, f"rev{i}", until) for i in range(1, reviewers + 1)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
    finally:
        server.terminate()
        server.wait(timeout=20)
    latencies = sorted(t for c in clients for t in c.latencies)
    decided = [i for c in clients for i in c.decided]
    with db.session_scope(engine, write=False) as session:
        stored = session.scalar(select(func.count()).select_from(m.Decision)) or 0
        item = col(m.Decision.review_item_id)
        twice = session.execute(select(item).group_by(item).having(func.count() > 1)).all()
    engine.dispose()
    return {
        "reviewers": reviewers,
        "seconds": seconds,
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(statistics.quantiles(latencies, n=20)[18], 1) if len(latencies) > 1 else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "errors": sum(len(c.errors) for c in clients),
        "first_errors": [e for c in clients for e in c.errors][:5],
        "decisions": len(decided),
        "distinct_items_decided": len(set(decided)),
        "stored_decisions": stored,
        "items_decided_twice": len(twice),
    }


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/login", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the review server at {base} did not start within 30 s")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        _serve(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--items", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qc-load-") as tmp:
        result = load_drill(Path(tmp), reviewers=args.reviewers, seconds=args.seconds, items=args.items)
    for key, value in result.items():
        print(f"{key}: {value}")
    ok = (
        result["errors"] == 0
        and result["stored_decisions"] == result["decisions"]
        and not result["items_decided_twice"]
    )
    print("OK" if ok else "FAILED")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
