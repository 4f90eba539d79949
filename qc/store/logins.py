"""People as the review page signs them in: who they are, their login token's hash.

Functions take the session first and keyword-only arguments, and leave the commit to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from qc.store import models as m
from qc.store.api import get_row

__all__ = ["PersonRef", "people_by_name", "person_by_token_hash", "person_names", "person_ref", "set_token_hash"]


@dataclass(frozen=True)
class PersonRef:
    """A person as the reviewer page shows them (a snapshot: it outlives its session)."""

    id: int
    name: str
    roles: tuple[str, ...]


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


def set_token_hash(session: Session, *, person_id: int, token_hash: str) -> None:
    """Store the hash of a person's new login token (replacing any earlier one)."""
    person = get_row(session, m.Person, person_id)
    person.token_hash = token_hash
    session.add(person)
    session.flush()


def _ref(person: m.Person) -> PersonRef:
    return PersonRef(int(person.id or 0), person.name, tuple(person.roles))
