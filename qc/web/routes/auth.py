"""Signing in and out with a login token, and the home page that sends each role where it works."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qc import review
from qc.store import logins
from qc.web.deps import REVIEWERS, CsrfForm, CurrentPerson, SessionDep
from qc.web.pages import page
from qc.web.security import LoginThrottle

__all__ = ["router"]

router = APIRouter()


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html.j2", error="")


@router.post("/login")
def login(request: Request, _csrf: CsrfForm, session: SessionDep, token: Annotated[str, Form()] = "") -> Response:
    """Sign in with a login token; failures are throttled per account, else per client (:mod:`qc.web.security`)."""
    token = token.strip()
    throttle: LoginThrottle = request.app.state.throttle
    key = _throttle_key(request, review.account_for_token(session, token))
    wait = throttle.wait(key)
    if wait > 0:
        headers = {"Retry-After": str(int(wait) + 1)}
        return Response("too many failed logins; wait and try again", status_code=429, headers=headers)
    person = review.person_for_token(session, token)
    if person is None or person.id is None:
        throttle.failed(key)
        return page(request, "login.html.j2", status_code=401, error="unknown token")
    throttle.succeeded(key)
    request.session.clear()
    request.session["person_id"], request.session["epoch"] = person.id, person.session_epoch
    return RedirectResponse("/", status_code=303)


def _throttle_key(request: Request, account: int | None) -> str:
    """The account a token's prefix names; for a prefix no account has, the client's address."""
    if account is not None:
        return f"account:{account}"
    return f"client:{request.client.host if request.client else 'unknown'}"


@router.post("/logout")
def logout(request: Request, _csrf: CsrfForm, session: SessionDep) -> Response:
    """End the session here and every other session of the person (a copied cookie stops working too)."""
    person_id = request.session.get("person_id")
    if isinstance(person_id, int) and logins.person_ref(session, person_id=person_id) is not None:
        review.log_out(session, person_id=person_id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(person: CurrentPerson) -> Response:
    roles = set(person.roles)
    target = "/queue" if roles & REVIEWERS else "/reports" if "manager" in roles else "/feedback"
    return RedirectResponse(target, status_code=303)
