"""Signing in and out with a login token, and the home page that sends each role where it works."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qc import review
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
    client = request.client.host if request.client else "unknown"
    throttle: LoginThrottle = request.app.state.throttle
    wait = throttle.wait(client)
    if wait > 0:
        headers = {"Retry-After": str(int(wait) + 1)}
        return Response("too many failed logins; wait and try again", status_code=429, headers=headers)
    person = review.person_for_token(session, token.strip())
    if person is None:
        throttle.failed(client)
        return page(request, "login.html.j2", status_code=401, error="unknown token")
    throttle.succeeded(client)
    request.session.clear()
    request.session["person_id"] = person.id
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, _csrf: CsrfForm) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(person: CurrentPerson) -> Response:
    roles = set(person.roles)
    target = "/queue" if roles & REVIEWERS else "/reports" if "manager" in roles else "/feedback"
    return RedirectResponse(target, status_code=303)
