"""The review app in a real browser: Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from bench.review_data import running

__all__ = ["ARGS", "CHROMIUM", "signed_in"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def signed_in(
    app: FastAPI, token: str, *, width: int = 1400, height: int = 900
) -> Iterator[tuple[Any, str, list[str]]]:
    """``(page, base URL, console errors)``: the holder of ``token`` signed in on ``app`` (served on loopback).

    The errors list collects what the console reported as errors (a Content-Security-Policy
    refusal, a script error): a test asserts it stays empty.
    """
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (apt-get install chromium); CI installs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with running(app) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/login")
            page.fill("#token", token)
            page.click("#login")
            page.wait_for_url(f"{base}/queue")
            yield page, base, errors
        finally:
            browser.close()
