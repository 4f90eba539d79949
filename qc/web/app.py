"""The review web app: middleware, the routers and the one mapping of errors to answers.

Security: every route declares the roles it serves (:mod:`qc.web.deps`); every POST form
carries the session's CSRF token (403 without it); the session cookie is signed
(``QC_SECRET_KEY``, else a random key per process), HttpOnly and ``SameSite=Lax``; every
template is autoescaped with ``StrictUndefined``; an image file is served only when its
resolved path lies inside the image root; failed logins from one client are slowed down
(after 3 failures each further attempt waits 2, 4, 8 ... up to 60 s: 429 with
``Retry-After`` until then) (:mod:`qc.web.security`). A :class:`~qc.errors.QCError` from
the library answers its ``http_status`` with the error page; nothing was stored.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from qc import review
from qc.errors import QCError
from qc.store import db
from qc.web.deps import LoginRequired
from qc.web.pages import page
from qc.web.routes import ROUTERS
from qc.web.routes.items import overlay_cache
from qc.web.security import LoginThrottle

__all__ = ["create_app"]

SESSION_HOURS = 12


def create_app(
    database_url: str | None = None,
    *,
    secret_key: str | None = None,
    image_root: str | Path | None = None,
    lease_minutes: float = 15,
    on_round_reviewed: review.RoundReviewed | None = None,
) -> FastAPI:
    """The review web app on ``database_url`` (default as :func:`qc.store.db.make_engine`).

    ``on_round_reviewed(round_id)`` is called after the decision that leaves a round with no
    open review item (see :func:`qc.review.on_round_reviewed`).
    """
    engine = db.make_engine(database_url)
    db.check_schema(engine)
    key = secret_key or os.environ.get("QC_SECRET_KEY") or secrets.token_urlsafe(32)
    app = FastAPI(title="qc review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie="qc_session",
        same_site="lax",
        https_only=False,
        max_age=SESSION_HOURS * 3600,
    )
    app.state.engine, app.state.throttle, app.state.overlay = engine, LoginThrottle(), overlay_cache(engine)
    app.state.image_root = Path(image_root or os.environ.get("QC_IMAGE_ROOT") or Path.cwd()).resolve()
    app.state.lease_minutes, app.state.on_round_reviewed = lease_minutes, on_round_reviewed
    app.exception_handler(LoginRequired)(_login_required)
    app.exception_handler(QCError)(_qc_error)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _login_required(request: Request, _exc: LoginRequired) -> Response:
    if request.method == "GET":
        return RedirectResponse("/login", status_code=303)
    return Response("login required", status_code=401)


def _qc_error(request: Request, exc: QCError) -> Response:
    """The one mapping of library errors to answers: the error page with the error's ``http_status``."""
    person = getattr(request.state, "person", None)
    return page(request, "error.html.j2", status_code=exc.http_status, person=person, message=str(exc))
