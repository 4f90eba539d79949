"""What keeps the review page safe: CSRF tokens, the login throttle and image paths that stay inside their root.

Every POST form carries the session's CSRF token (403 without it); failed logins from one
client are slowed down (after 3 failures each further attempt waits 2, 4, 8 ... up to 60 s);
an image file is served only when its resolved path lies inside the image root.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import HTTPException, Request

__all__ = ["LoginThrottle", "check_csrf", "csrf_token", "safe_image_path"]


class LoginThrottle:
    """Per-client backoff after failed logins: free for 3 failures, then 2, 4, 8 ... 60 s between tries."""

    def __init__(self, *, free: int = 3, cap: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.cap, self.clock = free, cap, clock
        self._state: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds the client must wait before trying again (0 when it may try now)."""
        with self._lock:
            _, until = self._state.get(client, (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            count, _ = self._state.get(client, (0, 0.0))
            count += 1
            delay = 0.0 if count < self.free else min(self.cap, 2.0 ** (count - self.free + 1))
            self._state[client] = (count, self.clock() + delay)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._state.pop(client, None)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); every form of the page carries it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless ``submitted`` is the session's CSRF token."""
    expected = request.session.get("csrf")
    if not submitted or not isinstance(expected, str) or not secrets.compare_digest(submitted, expected):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page and try again")


def safe_image_path(root: Path, stored: str | None) -> Path:
    """The image file when it lies inside ``root``; 404 otherwise (no path may leave the image root)."""
    if not stored:
        raise HTTPException(status_code=404, detail="this image has no stored file")
    candidate = (root / stored).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        raise HTTPException(status_code=404, detail="image file not found under the image root")
    return candidate
