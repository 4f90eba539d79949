"""The review web app: middleware, the routers and the one mapping of errors to answers.

Security: every route declares the roles it serves (:mod:`qc.web.deps`); every POST form
carries the session's CSRF token (403 without it); the session cookie is signed
(``QC_SECRET_KEY``, else a random key per process), HttpOnly, ``SameSite=Lax``, ``Secure``
over HTTPS, and valid only while it carries the person's session epoch (a logout or a new
token ends every session of that person); every template is autoescaped with
``StrictUndefined``; every answer forbids framing and inline scripts and styles (the page's
own come from ``/static``); an image file is served only when its resolved path lies inside
the image root; failed logins are slowed down per account and per client, and
``X-Forwarded-For`` / ``X-Forwarded-Proto`` count only from ``trusted_proxies``
(:mod:`qc.web.security`).

Errors: a :class:`~qc.errors.QCError` from the library answers its ``http_status`` with the
error page; nothing was stored. A database that is busy (locked by another writer for longer
than ``lock_timeout``), read-only or unreachable answers 503 with ``Retry-After`` and a page
saying that nothing (no decision) was stored.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qc import review
from qc.errors import QCError
from qc.store import db
from qc.web.deps import LoginRequired
from qc.web.pages import page
from qc.web.routes import ROUTERS
from qc.web.routes.items import overlay_cache
from qc.web.security import LoginThrottle, SecurityHeaders

__all__ = ["LOCK_TIMEOUT", "SESSION_COOKIE", "create_app", "trusted_proxies_from_env"]

SESSION_HOURS = 12
SESSION_COOKIE = "qc_session"
LOCK_TIMEOUT = 5.0
"""Seconds a request waits for a database another program holds locked before it answers 503."""
_STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    database_url: str | None = None,
    *,
    secret_key: str | None = None,
    image_root: str | Path | None = None,
    lease_minutes: float = 15,
    on_round_reviewed: review.RoundReviewed | None = None,
    trusted_proxies: str | Sequence[str] | None = None,
    secure_cookies: bool | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> FastAPI:
    """The review web app on ``database_url`` (default as :func:`qc.store.db.make_engine`).

    ``on_round_reviewed(round_id)`` is called after the decision that leaves a round with no
    open review item (see :func:`qc.review.on_round_reviewed`). ``trusted_proxies`` (addresses
    or networks, comma-separated; default ``$QC_TRUSTED_PROXIES``, else none) are the reverse
    proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` headers count. ``secure_cookies``
    ``None`` (default ``$QC_SECURE_COOKIES``, else ``None``) marks the session cookie ``Secure``
    when the request came over HTTPS; ``True``/``False`` always/never.
    """
    engine = db.make_engine(database_url, lock_timeout=lock_timeout)
    db.check_schema(engine)
    key = secret_key or os.environ.get("QC_SECRET_KEY") or secrets.token_urlsafe(32)
    app = FastAPI(title="qc review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie=SESSION_COOKIE,
        same_site="lax",
        https_only=False,  # SecurityHeaders adds Secure per request
        max_age=SESSION_HOURS * 3600,
    )
    secure = secure_cookies if secure_cookies is not None else _flag(os.environ.get("QC_SECURE_COOKIES"))
    app.add_middleware(SecurityHeaders, cookie=SESSION_COOKIE, secure_cookies=secure)
    proxies = trusted_proxies if trusted_proxies is not None else trusted_proxies_from_env()
    if proxies:
        hosts = proxies if isinstance(proxies, str) else list(proxies)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=hosts)  # outermost: the others see the client
    app.state.engine, app.state.throttle, app.state.overlay = engine, LoginThrottle(), overlay_cache(engine)
    app.state.largest_id = db.largest_id(engine)
    app.state.image_root = Path(image_root or os.environ.get("QC_IMAGE_ROOT") or Path.cwd()).resolve()
    app.state.lease_minutes, app.state.on_round_reviewed = lease_minutes, on_round_reviewed
    app.exception_handler(LoginRequired)(_login_required)
    app.exception_handler(QCError)(_qc_error)
    app.exception_handler(StarletteHTTPException)(_http_error)
    app.exception_handler(DBAPIError)(_database_error)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app


def trusted_proxies_from_env() -> str:
    """``$QC_TRUSTED_PROXIES``: the addresses or networks of the reverse proxies to trust (none when unset)."""
    return os.environ.get("QC_TRUSTED_PROXIES", "").strip()


def _flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


def _login_required(request: Request, _exc: LoginRequired) -> Response:
    if request.method == "GET":
        return RedirectResponse("/login", status_code=303)
    return Response("login required", status_code=401)


def _qc_error(request: Request, exc: QCError) -> Response:
    """The one mapping of library errors to answers: the error page with the error's ``http_status``.

    A request that asks for JSON only (the workbench's resolve) gets ``{"detail": message}``.
    """
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)
    person = getattr(request.state, "person", None)
    title = getattr(exc, "title", None) or _title(request, exc.http_status)
    return page(request, "error.html.j2", status_code=exc.http_status, person=person, message=str(exc), title=title)


_TITLES = {403: "Not allowed", 404: "Not found"}


def _title(request: Request, status: int) -> str:
    """The error page's heading: what went wrong, from the reader's side."""
    return _TITLES.get(status, "Not stored" if request.method == "POST" else "Cannot show this page")


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """A page a browser shows (the error page, with a way back) for a browser; FastAPI's JSON for other clients."""
    if "text/html" not in request.headers.get("accept", ""):
        return await http_exception_handler(request, exc)
    person = getattr(request.state, "person", None)
    title = _title(request, exc.status_code)
    message = str(exc.detail)
    response = page(request, "error.html.j2", status_code=exc.status_code, person=person, message=message, title=title)
    for name, value in (exc.headers or {}).items():  # e.g. WWW-Authenticate
        response.headers[name] = value
    return response


_UNAVAILABLE = {
    "busy": ("the database is busy: another program holds it locked", 5),
    "read-only": ("the database is read-only: ask the administrator to make it writable", 30),
    "unreachable": ("the database cannot be reached", 10),
    "not-sqlite": ("the database file is not a SQLite database: ask the administrator to check the --db path", 30),
}


def _database_error(request: Request, exc: DBAPIError) -> Response:
    """503 with ``Retry-After`` for a busy, read-only or unreachable database; other database errors stay 500s."""
    reason = db.unavailable_reason(exc)
    if reason is None:
        raise exc
    why, retry = _UNAVAILABLE[reason]
    if request.method == "GET":
        outcome = "this page could not be read"
    else:
        outcome = "your decision was NOT stored" if request.url.path.endswith("/decide") else "nothing was stored"
    message = f"{why}; {outcome}. Try again in {retry} seconds."
    person = getattr(request.state, "person", None)
    title = _title(request, 503)
    response = page(request, "error.html.j2", status_code=503, person=person, message=message, title=title)
    response.headers["Retry-After"] = str(retry)
    return response
