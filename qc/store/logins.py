"""People as the review page signs them in: who they are, their login token, their session epoch.

A login token is stored as its SHA-256 (``token_hash``) and its first characters
(``token_prefix``, public like a key id: the login throttle counts failures per account with
it). ``session_epoch`` grows at each logout (:func:`end_sessions`) and token rotation
(:func:`set_token`); the review page accepts a session only while it carries the current epoch.
Functions take the session first and keyword-only arguments, and leave the commit to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from qc.store import models as m
from qc.store.api import get_row

__all__ = [
    "PersonRef",
    "accounts_with_prefix",
    "end_sessions",
    "people_by_name",
    "person_by_token_hash",
    "person_names",
    "person_ref",
    "set_token",
]


@dataclass(frozen=True)
class PersonRef:
    """A person as the reviewer page shows them (a snapshot: it outlives its session)."""

    id: int
    name: str
    roles: tuple[str, ...]
    session_epoch: int = 0


def person_ref(session: Session, *, person_id: int) -> PersonRef | None:
    """The person with this id, or ``None``."""
    person = session.get(m.Person, person_id)
    return None if person is None else _ref(person)


def people_by_name(session: Session) -> list[PersonRef]:
    """Every person, ordered by name."""
    return [_ref(person) for person in session.scalars(select(m.Person).order_by(col(m.Person.name)))]


def person_names(session: Session) -> dict[int, str]:
    """``person id -> name`` of every person."""
    return {int(person_id): str(name) for person_id, name in session.execute(select(m.Person.id, m.Person.name))}


def person_by_token_hash(session: Session, *, token_hash: str) -> m.Person | None:
    """The person whose login token has this hash (the column is unique), or ``None``."""
    return session.scalars(select(m.Person).where(m.Person.token_hash == token_hash)).first()


def accounts_with_prefix(session: Session, *, prefix: str) -> list[int]:
    """The ids of the people whose login token starts with ``prefix`` (as stored at issue), by id."""
    query = select(m.Person.id).where(m.Person.token_prefix == prefix).order_by(col(m.Person.id))
    return [int(person_id) for person_id in session.scalars(query) if person_id is not None]


def set_token(session: Session, *, person_id: int, token_hash: str, prefix: str) -> None:
    """Store a person's new login token (hash and prefix), replacing any earlier one; ends their sessions."""
    person = get_row(session, m.Person, person_id)
    person.token_hash, person.token_prefix = token_hash, prefix
    session.add(person)
    session.flush()
    end_sessions(session, person_id=person_id)


def end_sessions(session: Session, *, person_id: int) -> int:
    """End every review-page session of a person (their epoch grows by one); the new epoch."""
    statement = (
        update(m.Person)
        .where(col(m.Person.id) == person_id)
        .values(session_epoch=col(m.Person.session_epoch) + 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(statement)
    person = get_row(session, m.Person, person_id)
    session.refresh(person)
    return person.session_epoch


def _ref(person: m.Person) -> PersonRef:
    return PersonRef(int(person.id or 0), person.name, tuple(person.roles), person.session_epoch)
