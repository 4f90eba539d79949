"""The dependencies of the review page's routes: the session, the signed-in person, roles, the item, CSRF.

Routes declare what they need as ``Annotated`` parameters and never check by hand:
``SessionDep`` (one session per request; GET requests read only), ``CurrentPerson``
(anonymous, or a session ended by a logout or a new token since: :class:`LoginRequired`), a
role alias made by :func:`require` (``Reviewer``, ``Lead``, ``ReportReader``, ``Annotator``:
403 for anyone else), ``VisibleItem`` (the review item when the person may see it: a lead
always, a reviewer while they hold its live claim) and ``CsrfForm`` (403 without the
session's CSRF token). Declare ``CsrfForm`` first: the token is checked before anything
else. An id beyond what the database can hold (1 .. 2^63 - 1 on SQLite, 2^31 - 1 on
PostgreSQL) is 404, like any unknown id (:func:`known_id`); a field that is no whole number is 400
(:func:`whole_number`, :func:`id_field`, :func:`item_version`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request
from sqlmodel import Session

from qc.errors import InvalidOptionError
from qc.store import db, logins
from qc.store import models as m
from qc.store import review as store
from qc.store.logins import PersonRef
from qc.web.security import check_csrf

__all__ = [
    "REVIEWERS",
    "Annotator",
    "CsrfForm",
    "CurrentPerson",
    "Lead",
    "LoginRequired",
    "ReportReader",
    "Reviewer",
    "SessionDep",
    "VisibleItem",
    "id_field",
    "item_version",
    "known_id",
    "require",
    "whole_number",
]

REVIEWERS = frozenset({"reviewer", "lead"})


class LoginRequired(Exception):
    """Raised for an anonymous request: a GET redirects to /login (303), anything else answers 401."""


def _session(request: Request) -> Iterator[Session]:
    # pages (GET) read only: on SQLite a write session takes the database's write lock at its start,
    # and 20 reviewers rendering pages under it queue behind each other
    with db.session_scope(request.app.state.engine, write=request.method != "GET") as session:
        yield session


# scope="function": the session commits before the response is sent, so a redirect's next request
# (e.g. the item just claimed) already sees the write
SessionDep = Annotated[Session, Depends(_session, scope="function")]


def _current_person(request: Request, session: SessionDep) -> PersonRef:
    """The signed-in person, while the session carries their current epoch (a logout or new token ends it)."""
    person_id, epoch = request.session.get("person_id"), request.session.get("epoch")
    person = None
    if isinstance(person_id, int) and 0 < person_id <= request.app.state.largest_id and isinstance(epoch, int):
        person = logins.person_ref(session, person_id=person_id)
    if person is None or person.session_epoch != epoch:
        request.session.clear()
        raise LoginRequired
    request.state.person = person  # the error page shows who is signed in
    return person


CurrentPerson = Annotated[PersonRef, Depends(_current_person)]


def require(*roles: str) -> Any:
    """A dependency giving the signed-in person when they have one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    def person_with_role(request: Request, person: CurrentPerson) -> PersonRef:
        if not allowed & set(person.roles):
            raise HTTPException(status_code=403, detail=f"{request.url.path} is for {sorted(allowed)} only")
        return person

    return Depends(person_with_role)


Reviewer = Annotated[PersonRef, require(*REVIEWERS)]
Lead = Annotated[PersonRef, require("lead")]
ReportReader = Annotated[PersonRef, require("manager", "lead")]
Annotator = Annotated[PersonRef, require("annotator")]


def known_id(request: Request, value: int, what: str) -> int:
    """``value`` when a row could have it as id; 404 otherwise (the database cannot even compare larger numbers)."""
    if not 0 < value <= request.app.state.largest_id:
        raise HTTPException(status_code=404, detail=f"no {what} {value}")
    return value


def whole_number(value: object, field: str) -> int:
    """A whole number from a form field or a JSON value (a number or digits, not a bool); 400 otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidOptionError(field, "a whole number", value)
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidOptionError(field, "a whole number", value) from exc


def id_field(request: Request, value: object, field: str, what: str) -> int:
    """The id in a field: 400 for no whole number, 404 for one no row can have."""
    return known_id(request, whole_number(value, field), what)


def item_version(request: Request, value: object, field: str = "version") -> int:
    """An item version from a field; :class:`InvalidOptionError` (400) for anything else."""
    number, largest = whole_number(value, field), request.app.state.largest_id
    if not 0 < number < largest:  # versions count from 1; the next version must fit too
        raise InvalidOptionError(field, f"a whole number between 1 and {largest - 1}", value)
    return number


def _visible_item(request: Request, item_id: int, person: Reviewer, session: SessionDep) -> m.ReviewItem:
    item = store.find_review_item(session, item_id=known_id(request, item_id, "review item"))
    if item is None:
        raise HTTPException(status_code=404, detail=f"no review item {item_id}")
    if "lead" in person.roles:
        return item
    if item.claimed_by != person.id or item.status != m.ReviewStatus.CLAIMED.value:
        raise HTTPException(status_code=403, detail="this item is not claimed by you; take the next item instead")
    return item


VisibleItem = Annotated[m.ReviewItem, Depends(_visible_item)]


def _csrf_form(request: Request, csrf: Annotated[str | None, Form()] = None) -> None:
    check_csrf(request, csrf)


CsrfForm = Annotated[None, Depends(_csrf_form)]
