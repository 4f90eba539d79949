"""What keeps the review page safe: CSRF tokens, the login throttle, safe image paths, response headers.

Every POST form carries the session's CSRF token (403 without it). Failed logins are slowed
down per account (the token's public prefix names it) and, for tokens no account starts
with, per client address: after 3 failures each further attempt waits 2, 4, 8 ... up to 60 s,
and 15 minutes without a failure forgive the earlier ones. The client address is the
connection's peer; ``X-Forwarded-For`` counts only from a configured trusted proxy
(``create_app(trusted_proxies=...)``), so that rotating the header does not reset the count,
and one client's failures never lock out the others behind the same address who know their
token. An image file is served only when its resolved path lies inside the image root. Every
answer forbids framing (``X-Frame-Options: DENY``, CSP ``frame-ancestors 'none'``) and loads
scripts and styles only from the page's own origin; over HTTPS the session cookie is ``Secure``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "LoginThrottle",
    "SecurityHeaders",
    "check_csrf",
    "csrf_token",
    "policy_for_inline",
    "safe_image_path",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Every page's policy: its own scripts, styles, images and requests (the workbench's resolve) only, no inline
code, never in a frame."""


_INLINE = re.compile(r"<(style|script)(?:\s[^>]*)?>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


def policy_for_inline(html: str) -> str:
    """The page policy allowing exactly the inline ``<style>`` and ``<script>`` blocks of ``html`` (by hash).

    For a self-contained page (a report) served as it is; nothing else inline runs.

    >>> policy_for_inline("<style>p {}</style>").split("; ")[2]
    "style-src 'self' 'sha256-SNJDlN1Iy2mnt7DOjQIyDb2LQE6O5PQiSZomcdzawQ4='"
    """
    hashes: dict[str, list[str]] = {"style": [], "script": []}
    for kind, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        hashes[kind.lower()].append(f"'sha256-{digest}'")
    policy = CONTENT_SECURITY_POLICY
    for kind, found in hashes.items():
        if found:
            policy = policy.replace(f"{kind}-src 'self'", " ".join([f"{kind}-src 'self'", *found]))
    return policy


class LoginThrottle:
    """Backoff after failed logins per key: free for 3 failures, then 2, 4, 8 ... 60 s between tries.

    A key's failures are forgotten ``forget`` seconds after its last one; at most ``keys`` keys
    are remembered (those quiet the longest are dropped first), so that a flood of addresses
    cannot grow it without bound.
    """

    def __init__(
        self,
        *,
        free: int = 3,
        cap: float = 60.0,
        forget: float = 900.0,
        keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.cap, self.forget, self.keys, self.clock = free, cap, forget, keys, clock
        self._state: dict[str, tuple[int, float, float]] = {}  # key -> (failures, wait until, last failure)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds the key must wait before trying again (0 when it may try now)."""
        with self._lock:
            _, until, _ = self._current(key)
        return max(0.0, until - self.clock())

    def failed(self, key: str) -> None:
        with self._lock:
            count, _, _ = self._current(key)
            count += 1
            now = self.clock()
            delay = 0.0 if count < self.free else min(self.cap, 2.0 ** (count - self.free + 1))
            self._state.pop(key, None)  # re-inserted last: the dict stays ordered by last failure
            self._state[key] = (count, now + delay, now)
            self._prune()

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)

    def _current(self, key: str) -> tuple[int, float, float]:
        count, until, last = self._state.get(key, (0, 0.0, 0.0))
        if count and self.clock() - last > self.forget:
            return 0, 0.0, 0.0
        return count, until, last

    def _prune(self) -> None:
        while len(self._state) > self.keys:  # ordered by last failure: the longest quiet go first
            del self._state[next(iter(self._state))]


class SecurityHeaders:
    """ASGI middleware: frame and content policies on every answer; the session cookie ``Secure`` over HTTPS.

    ``secure_cookies`` ``None`` marks the cookie ``Secure`` when the request came over HTTPS
    (directly, or as a trusted proxy's ``X-Forwarded-Proto`` says); ``True``/``False`` always/never.
    A route may send its own ``Content-Security-Policy`` (e.g. with the hash of an inline style).
    """

    def __init__(self, app: ASGIApp, *, cookie: str, secure_cookies: bool | None = None) -> None:
        self.app, self.cookie, self.secure_cookies = app, cookie.encode("latin-1") + b"=", secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https" if self.secure_cookies is None else self.secure_cookies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if secure:
                    message["headers"] = [self._secure(name, value) for name, value in message["headers"]]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _secure(self, name: bytes, value: bytes) -> tuple[bytes, bytes]:
        if name.lower() == b"set-cookie" and value.startswith(self.cookie) and b"; secure" not in value.lower():
            return name, value + b"; secure"
        return name, value


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
