"""Login tokens and sessions of the review page.

A token is 32 random bytes, shown once; only its SHA-256 and its first 8 characters (the
account's public key id, for the login throttle) are stored. Issuing a new token and logging
out end every session of the person (:mod:`qc.store.logins`: the session epoch).
"""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session

from qc.store import logins
from qc.store import models as m
from qc.store.api import record_event

__all__ = [
    "TOKEN_PREFIX",
    "account_for_token",
    "hash_token",
    "issue_token",
    "log_out",
    "person_for_token",
    "token_prefix",
]


def hash_token(token: str) -> str:
    """SHA-256 of a login token (tokens are 32 random bytes, so no salt is needed to resist guessing).

    >>> hash_token("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


TOKEN_PREFIX = 8
"""How many leading characters of a token are stored in clear (48 of its 256 bits): the account's key id."""


def token_prefix(token: str) -> str:
    """The public first characters of a login token.

    >>> token_prefix("abcdefghijklmnop")
    'abcdefgh'
    """
    return token[:TOKEN_PREFIX]


def issue_token(session: Session, *, person_id: int) -> str:
    """A new login token for a person (replacing any earlier one and ending their sessions).

    Only its hash and its first :data:`TOKEN_PREFIX` characters are stored.
    """
    token = secrets.token_urlsafe(32)
    logins.set_token(session, person_id=person_id, token_hash=hash_token(token), prefix=token_prefix(token))
    record_event(session, verb="issue_token", object_type="person", object_id=person_id)
    return token


def person_for_token(session: Session, token: str) -> m.Person | None:
    """The person whose token this is, or ``None`` (compared by hash; the hash column is unique)."""
    if not token:
        return None
    return logins.person_by_token_hash(session, token_hash=hash_token(token))


def account_for_token(session: Session, token: str) -> int | None:
    """The person a login attempt is aimed at, by the token's prefix (right or wrong), or ``None``.

    Tokens issued before the prefix was stored have none; an attempt on them counts per client.
    """
    if len(token) < TOKEN_PREFIX:
        return None
    accounts = logins.accounts_with_prefix(session, prefix=token_prefix(token))
    return accounts[0] if accounts else None


def log_out(session: Session, *, person_id: int) -> None:
    """End every review-page session of a person (logging out in one browser logs out all of them)."""
    logins.end_sessions(session, person_id=person_id)
    record_event(session, verb="log_out", object_type="person", object_id=person_id)
