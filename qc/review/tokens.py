"""Login tokens of the review page: 32 random bytes shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session

from qc.store import logins
from qc.store import models as m
from qc.store.api import record_event

__all__ = ["hash_token", "issue_token", "person_for_token"]


def hash_token(token: str) -> str:
    """SHA-256 of a login token (tokens are 32 random bytes, so no salt is needed to resist guessing).

    >>> hash_token("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, *, person_id: int) -> str:
    """A new login token for a person (replacing any earlier one); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    logins.set_token_hash(session, person_id=person_id, token_hash=hash_token(token))
    record_event(session, verb="issue_token", object_type="person", object_id=person_id)
    return token


def person_for_token(session: Session, token: str) -> m.Person | None:
    """The person whose token this is, or ``None`` (compared by hash; the hash column is unique)."""
    if not token:
        return None
    return logins.person_by_token_hash(session, token_hash=hash_token(token))
