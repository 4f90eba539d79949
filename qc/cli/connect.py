"""``qc connect labelstudio``: connect a project to a Label Studio server (the token is never printed nor stored
in the database; see :mod:`qc.connect._secret` for where it is kept)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from qc.cli._common import DB_OPTION, PROJECT_OPTION, console, database_url, failures, open_session, project_id

__all__ = ["connect_app"]

connect_app = typer.Typer(help="Connect a project to an annotation tool's server.", no_args_is_help=True)


@connect_app.command("labelstudio")
def labelstudio(
    project: str = PROJECT_OPTION,
    url: str = typer.Option(..., "--url", help="Label Studio's address, e.g. http://127.0.0.1:8080."),
    document_root: Path | None = typer.Option(
        None,
        "--document-root",
        help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT: images stored under it are shown in Label Studio.",
    ),
    db_url: str | None = DB_OPTION,
) -> None:
    """Check the server and the token ($QC_LABELSTUDIO_TOKEN, else asked for), then connect the project."""
    from qc.connect import ENV_VAR, connect_project

    token = os.environ.get(ENV_VAR, "").strip()
    if not token:
        token = typer.prompt("Label Studio access token", hide_input=True).strip()
    target = database_url(db_url)
    with failures(), open_session(db_url) as session:
        pid = project_id(session, project)
        result = connect_project(
            session,
            project_id=pid,
            url=url,
            token=token,
            database_url=target,
            document_root=str(document_root) if document_root else None,
        )
    kept = f"token kept in {result.token_file} (mode 0600)" if result.token_file else f"set ${ENV_VAR} at each use"
    console.print(
        f"project {project} connected to Label Studio at {result.url} as {result.user} "
        f"(token fingerprint {result.fingerprint}); {kept}"
    )
