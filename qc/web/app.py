"""Routes, roles, sessions and CSRF of the review page.

Security: every route checks the person's roles (:data:`ROUTE_ROLES`); every POST form
carries the session's CSRF token (403 without it); the session cookie is signed
(``QC_SECRET_KEY``, else a random key per process), HttpOnly and ``SameSite=Lax``; every
template is autoescaped with ``StrictUndefined``; an image file is served only when its
resolved path lies inside the image root; failed logins from one client are slowed down
(after 3 failures each further attempt waits 2, 4, 8 ... up to 60 s: 429 with
``Retry-After`` until then). Overlays are PNGs rendered from RLE and cached per
(item, version, layer).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from sqlmodel import Session, col, select
from starlette.middleware.sessions import SessionMiddleware

from qc import render, review, templating
from qc.errors import ConflictError, NotFoundError, PermissionDeniedError, QCError
from qc.store import db
from qc.store import models as m

__all__ = ["ROUTE_ROLES", "LoginThrottle", "create_app"]

log = logging.getLogger(__name__)

REVIEWERS = frozenset({"reviewer", "lead"})
ROUTE_ROLES: Mapping[str, frozenset[str]] = {
    "queue": REVIEWERS,
    "next": REVIEWERS,
    "item": REVIEWERS,
    "decide": REVIEWERS,
    "reassign": frozenset({"lead"}),
    "reports": frozenset({"manager", "lead"}),
    "feedback": frozenset({"annotator"}),
}
"""Which roles may use each group of routes (a reviewer also needs the item's live claim)."""


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
    root = Path(image_root or os.environ.get("QC_IMAGE_ROOT") or Path.cwd()).resolve()
    app = FastAPI(title="qc review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="qc_session", same_site="lax",
                       https_only=False, max_age=12 * 3600)  # fmt: skip
    app.state.engine, app.state.image_root, app.state.throttle = engine, root, LoginThrottle()
    app.state.lease_minutes, app.state.on_round_reviewed = lease_minutes, on_round_reviewed

    def get_session(request: Request) -> Iterator[Session]:
        # pages (GET) read only: on SQLite a write session takes the database's write lock at its start,
        # and 20 reviewers rendering pages under it queue behind each other
        with db.session_scope(engine, write=request.method != "GET") as session:
            yield session

    overlay = _overlay_cache(engine)
    _routes(app, get_session, overlay)
    return app


# --- helpers -----------------------------------------------------------------------------------------------


def templates() -> Environment:
    return templating.environment("qc.web")


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    person = context.pop("person", None)
    html = templates().get_template(name).render(csrf=csrf_token(request), person=person, **context)
    return HTMLResponse(html, status_code=status_code)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not submitted or not isinstance(expected, str) or not secrets.compare_digest(submitted, expected):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page and try again")


class LoginRequired(Exception):
    """Raised for an anonymous request: a GET redirects to /login (303), anything else answers 401."""


def person_of(request: Request, session: Session, group: str | None = None) -> m.Person:
    person_id = request.session.get("person_id")
    person = session.get(m.Person, person_id) if isinstance(person_id, int) else None
    if person is None:
        raise LoginRequired
    if group is not None and not ROUTE_ROLES[group] & set(person.roles):
        raise HTTPException(status_code=403, detail=f"{group} is for {sorted(ROUTE_ROLES[group])} only")
    return person


def item_access(session: Session, person: m.Person, item_id: int) -> m.ReviewItem:
    """The item when ``person`` may see it: a lead always; a reviewer while they hold its claim."""
    item = session.get(m.ReviewItem, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"no review item {item_id}")
    if "lead" in person.roles:
        return item
    if item.claimed_by != person.id or item.status != m.ReviewStatus.CLAIMED.value:
        raise HTTPException(status_code=403, detail="this item is not claimed by you; take the next item instead")
    return item


def _overlay_cache(engine: Any) -> Callable[[int, int, str], bytes]:
    @lru_cache(maxsize=256)
    def overlay(item_id: int, version: int, layer: str) -> bytes:
        with db.session_scope(engine, write=False) as session:
            return _render_layer(session, item_id, layer)

    return overlay


def _render_layer(session: Session, item_id: int, layer: str) -> bytes:
    item = session.get(m.ReviewItem, item_id)
    if item is None:
        raise NotFoundError(f"no review item {item_id}")
    image = session.get(m.Image, item.image_id)
    if image is None:  # pragma: no cover - foreign key
        raise NotFoundError(f"no image {item.image_id}")
    size = {"height": image.height, "width": image.width}
    annotators = sorted(review.item_submissions(session, item).items())
    layers = [_segments(session, m.Segment.submission_id, sub) for _, sub in annotators]
    if layer == "consensus":
        rows = session.scalars(
            select(m.ConsensusSegment.rle_counts).where(
                m.ConsensusSegment.round_id == item.round_id, m.ConsensusSegment.image_id == item.image_id
            )
        )
        rles = [{"size": [image.height, image.width], "counts": c} for c in rows]
        return render.layer_png(rles, colour=render.CONSENSUS_COLOUR, **size)
    if layer == "disagreement":
        return render.disagreement_png(layers, colour=render.DISAGREEMENT_COLOUR, **size)
    if layer.startswith("a") and layer[1:].isdigit() and 1 <= int(layer[1:]) <= len(layers):
        number = int(layer[1:])
        colour = render.PALETTE[(number - 1) % len(render.PALETTE)]
        return render.layer_png(layers[number - 1], colour=colour, **size)
    raise NotFoundError(f"no overlay layer {layer!r}: use a1..a{len(layers)}, consensus or disagreement")


def _segments(session: Session, column: Any, value: int) -> list[dict[str, Any]]:
    rows = session.execute(select(m.Segment.rle_counts, m.Segment.height, m.Segment.width).where(column == value))
    return [{"size": [h, w], "counts": c} for c, h, w in rows]


def safe_image_path(root: Path, stored: str | None) -> Path:
    """The image file when it lies inside ``root``; 404 otherwise (no path may leave the image root)."""
    if not stored:
        raise HTTPException(status_code=404, detail="this image has no stored file")
    candidate = (root / stored).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        raise HTTPException(status_code=404, detail="image file not found under the image root")
    return candidate


# --- routes ------------------------------------------------------------------------------------------------


def _routes(
    app: FastAPI, get_session: Callable[..., Iterator[Session]], overlay: Callable[[int, int, str], bytes]
) -> None:
    # scope="function": the session commits before the response is sent, so a redirect's next request
    # (e.g. the item just claimed) already sees the write
    dep = Depends(get_session, scope="function")

    @app.exception_handler(LoginRequired)
    def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return Response("login required", status_code=401)

    @app.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html.j2", error="")

    @app.post("/login")
    def login(
        request: Request, token: str = Form(""), csrf: str | None = Form(None), session: Session = dep
    ) -> Response:
        check_csrf(request, csrf)
        client = request.client.host if request.client else "unknown"
        throttle: LoginThrottle = app.state.throttle
        wait = throttle.wait(client)
        if wait > 0:
            return Response("too many failed logins; wait and try again", status_code=429,
                            headers={"Retry-After": str(int(wait) + 1)})  # fmt: skip
        person = review.person_for_token(session, token.strip())
        if person is None:
            throttle.failed(client)
            return page(request, "login.html.j2", status_code=401, error="unknown token")
        throttle.succeeded(client)
        request.session.clear()
        request.session["person_id"] = person.id
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf: str | None = Form(None)) -> Response:
        check_csrf(request, csrf)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/")
    def home(request: Request, session: Session = dep) -> Response:
        person = person_of(request, session)
        roles = set(person.roles)
        target = "/queue" if roles & REVIEWERS else "/reports" if "manager" in roles else "/feedback"
        return RedirectResponse(target, status_code=303)

    @app.get("/queue")
    def queue(
        request: Request,
        kind: str = "",
        category: int | None = None,
        annotator: int | None = None,
        session: Session = dep,
    ) -> HTMLResponse:
        person = person_of(request, session, "queue")
        lead = "lead" in person.roles
        rows = review.queue_rows(session, flag_kind=kind or None, category_id=category, annotator_id=annotator)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        if not lead:
            rows = [r for r in rows if r["status"] == "pending" or r["claimed_by"] == person.id]
        names = dict(session.execute(select(m.Person.id, m.Person.name)).all())
        kinds = sorted(set(session.scalars(select(m.Flag.kind).distinct())))
        classes = session.execute(select(m.LabelClass.class_id, m.LabelClass.name).distinct()).all()
        people = session.scalars(select(m.Person).order_by(col(m.Person.name))).all()
        return page(request, "queue.html.j2", person=person, rows=rows, counts=counts, names=names, kinds=kinds,
                    classes=classes, annotators=[p for p in people if "annotator" in p.roles],
                    reviewers=[p for p in people if REVIEWERS & set(p.roles)], lead=lead,
                    selected={"kind": kind, "category": category, "annotator": annotator})  # fmt: skip

    @app.post("/queue/next")
    def next_item(request: Request, csrf: str | None = Form(None), session: Session = dep) -> Response:
        check_csrf(request, csrf)
        person = person_of(request, session, "next")
        held = review.claim(session, reviewer_id=int(person.id or 0), lease_minutes=app.state.lease_minutes)
        return RedirectResponse(f"/items/{held.item_id}" if held else "/queue?empty=1", status_code=303)

    @app.get("/items/{item_id}")
    def item_page(request: Request, item_id: int, session: Session = dep) -> HTMLResponse:
        person = person_of(request, session, "item")
        item_access(session, person, item_id)
        view = review.item_view(session, item_id)
        image = session.get(m.Image, view["image"]["id"])
        has_file = bool(image and image.path)
        colours = {a["number"]: render.hex_colour(render.PALETTE[(a["number"] - 1) % 9]) for a in view["annotators"]}
        people = session.scalars(select(m.Person).order_by(col(m.Person.name))).all()
        return page(request, "item.html.j2", person=person, view=view, colours=colours, has_file=has_file,
                    lead="lead" in person.roles, reviewers=[p for p in people if REVIEWERS & set(p.roles)],
                    consensus_colour=render.hex_colour(render.CONSENSUS_COLOUR),
                    disagreement_colour=render.hex_colour(render.DISAGREEMENT_COLOUR))  # fmt: skip

    @app.get("/items/{item_id}/overlay/{layer}.png")
    def overlay_png(request: Request, item_id: int, layer: str, session: Session = dep) -> Response:
        person = person_of(request, session, "item")
        item = item_access(session, person, item_id)
        try:
            data = overlay(item_id, item.version, layer)
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    @app.get("/items/{item_id}/image")
    def image_file(request: Request, item_id: int, session: Session = dep) -> Response:
        person = person_of(request, session, "item")
        item = item_access(session, person, item_id)
        image = session.get(m.Image, item.image_id)
        return FileResponse(safe_image_path(app.state.image_root, image.path if image else None))

    @app.post("/items/{item_id}/decide")
    async def decide(request: Request, item_id: int) -> Response:
        form = await request.form()
        fields = {k: str(v) for k, v in form.items()}
        check_csrf(request, fields.get("csrf"))
        return await _run_sync(lambda: _decide(request, item_id, fields))

    def _decide(request: Request, item_id: int, fields: dict[str, str]) -> Response:
        with db.session_scope(app.state.engine) as session:
            person = person_of(request, session, "decide")
            item_access(session, person, item_id)
            try:
                feedback = {_form_int(k.removeprefix("feedback_"), k): v for k, v in fields.items()
                            if k.startswith("feedback_") and v.strip()}  # fmt: skip
                target = _form_int(fields["submission_id"], "submission_id") if fields.get("submission_id") else None
                version = _form_int(fields.get("version", ""), "version")
                review.decide(session, item_id, reviewer_id=int(person.id or 0), version=version,
                              kind=fields.get("kind", ""), note=fields.get("note", ""), feedback=feedback,
                              submission_id=target)  # fmt: skip
            except QCError as exc:
                session.rollback()
                code = 409 if isinstance(exc, ConflictError) else 403 if isinstance(exc, PermissionDeniedError) else 400
                return page(request, "error.html.j2", status_code=code, person=person, message=str(exc))
        review.on_round_reviewed(app.state.engine, item_id, app.state.on_round_reviewed)  # after the commit
        return RedirectResponse(f"/queue?decided={item_id}", status_code=303)

    @app.post("/items/{item_id}/reassign")
    def reassign(request: Request, item_id: int, to: int = Form(...), csrf: str | None = Form(None),
                 session: Session = dep) -> Response:  # fmt: skip
        check_csrf(request, csrf)
        person = person_of(request, session, "reassign")
        try:
            review.reassign(session, item_id, lead_id=int(person.id or 0), to_person_id=to,
                            lease_minutes=app.state.lease_minutes)  # fmt: skip
        except QCError as exc:
            raise HTTPException(status_code=409 if isinstance(exc, ConflictError) else 400, detail=str(exc)) from exc
        return RedirectResponse("/queue", status_code=303)

    @app.get("/reports")
    def reports(request: Request, session: Session = dep) -> HTMLResponse:
        person = person_of(request, session, "reports")
        rounds = session.scalars(select(m.Round).order_by(col(m.Round.id))).all()
        return page(request, "reports.html.j2", person=person, rounds=rounds)

    @app.get("/rounds/{round_id}/summary")
    def round_summary(request: Request, round_id: int, session: Session = dep) -> HTMLResponse:
        person_of(request, session, "reports")
        if session.get(m.Round, round_id) is None:
            raise HTTPException(status_code=404, detail=f"no round {round_id}")
        from reports.summary import render_summary, summary_data  # the one report renderer

        return HTMLResponse(render_summary(summary_data(session, round_id=round_id)))

    @app.get("/feedback")
    def feedback(request: Request, session: Session = dep) -> HTMLResponse:
        person = person_of(request, session, "feedback")
        rows = review.feedback_for(session, annotator_id=int(person.id or 0))
        return page(request, "feedback.html.j2", person=person, rows=rows)


async def _run_sync(func: Callable[[], Response]) -> Response:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func)


def _form_int(value: str, field: str) -> int:
    """A whole number from a form field; a clear 400 (QCError) otherwise."""
    try:
        return int(value)
    except ValueError as exc:
        raise QCError(f"form field {field!r} must be a whole number; got {value!r}", field=field) from exc
