"""Where the Label Studio token lives: ``$QC_LABELSTUDIO_TOKEN``, else a 0600 file beside a SQLite qc database.

The database keeps only the server's URL and the token's fingerprint (:func:`fingerprint`),
never the token. With a SQLite database the token given to ``qc connect labelstudio`` is
written to ``<database>.labelstudio-<project id>.token`` (mode 0600, readable by the owner
only, like an SSH key), so later commands and scheduled flows on the same machine find it.
A PostgreSQL database is shared by a team and lives elsewhere: no file is written, and
``$QC_LABELSTUDIO_TOKEN`` must be set wherever qc talks to Label Studio.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from qc.errors import InvalidOptionError
from qc.store.db import resolve_url

__all__ = ["ENV_VAR", "fingerprint", "load_token", "save_token", "token_file"]

ENV_VAR = "QC_LABELSTUDIO_TOKEN"


def fingerprint(token: str) -> str:
    """The first 12 hex digits of the token's SHA-256: tells tokens apart, reveals nothing.

    >>> fingerprint("secret")
    '2bb80d537b1d'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def token_file(database_url: str, project_id: int) -> Path | None:
    """The token file of a project beside a SQLite database file; ``None`` for other databases.

    >>> token_file("sqlite:////data/qc.db", 3).as_posix()
    '/data/qc.db.labelstudio-3.token'
    >>> token_file("postgresql://qc@db/qc", 3) is None
    True
    """
    url = resolve_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    database = Path(url.database)
    return database.with_name(f"{database.name}.labelstudio-{project_id}.token")


def save_token(database_url: str, project_id: int, token: str) -> Path | None:
    """Write the token to its 0600 file (see :func:`token_file`); returns the file, ``None`` when none is kept."""
    path = token_file(database_url, project_id)
    if path is None:
        return None
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def load_token(database_url: str, project_id: int) -> str:
    """``$QC_LABELSTUDIO_TOKEN``, else the project's token file; :class:`InvalidOptionError` when neither is there."""
    given = os.environ.get(ENV_VAR, "").strip()
    if given:
        return given
    path = token_file(database_url, project_id)
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    where = f"nor is there {path}" if path is not None else "and a PostgreSQL database keeps no token file"
    raise InvalidOptionError(
        ENV_VAR,
        "a Label Studio access token",
        "nothing",
        hint=f"${ENV_VAR} is not set, {where}; set it, or run qc connect labelstudio again",
    )
