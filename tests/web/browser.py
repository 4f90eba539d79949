"""The review app in a real browser: Debian's chromium driven by Playwright (no browser download).

One chromium per test file (a launch costs about 2 s of CPU, Playwright's driver included); each
sign-in gets a new browser context, so two sign-ins share no cookie or storage. ``close_browser``
(a module-scoped fixture of ``tests/web/conftest.py``) ends it after the file's last test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from bench.review_data import running

__all__ = ["ARGS", "CHROMIUM", "close_browser", "signed_in"]

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


_open: list[Any] = []  # [Playwright, Browser] while a file's tests use them


def _browser() -> Any:
    if not _open:
        sync_api = pytest.importorskip("playwright.sync_api")
        playwright = sync_api.sync_playwright().start()
        try:
            _open[:] = [playwright, playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)]
        except BaseException:
            playwright.stop()
            raise
    return _open[1]


def close_browser() -> None:
    """End the chromium and the Playwright driver that :func:`signed_in` started, if it did."""
    if _open:
        playwright, browser = _open
        _open.clear()
        try:
            browser.close()
        finally:
            playwright.stop()


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
    browser = _browser()
    with running(app) as base:
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/login")
            page.fill("#token", token)
            page.click("#login")
            page.wait_for_url(f"{base}/queue")
            yield page, base, errors
        finally:
            context.close()
