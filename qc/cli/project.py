"""``qc init``, ``qc images add``, ``qc person add|token|remove``: a project, its images and its people."""

from __future__ import annotations

from pathlib import Path

import typer

from qc.cli._common import DB_OPTION, PROJECT_OPTION, console, failures, open_session, project_id

__all__ = ["images_app", "init", "person_app"]

images_app = typer.Typer(help="Add images to a project.", no_args_is_help=True)
person_app = typer.Typer(help="Add people (annotators, reviewers, leads, managers).", no_args_is_help=True)


def init(
    guideline: Path = typer.Option(..., "--guideline", "-g", exists=True, dir_okay=False, help="Guideline YAML."),
    name: str | None = typer.Option(None, "--name", help="Project name (default: the guideline's name)."),
    url: str | None = DB_OPTION,
) -> None:
    """Create the database schema and a project from a guideline (or add a new guideline version)."""
    from qc.guideline import load_guideline
    from qc.rounds import init_project
    from qc.store import db

    with failures():
        engine = db.make_engine(url)
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()
        rules = load_guideline(guideline)
        with open_session(url) as session:
            ref = init_project(session, guideline=rules, name=name)
        verb = "created" if ref.created else "updated"
        console.print(
            f"project {ref.name!r} {verb}: guideline {rules.version} ({rules.text_hash[:12]}), "
            f"{len(rules.classes)} classes"
        )


@images_app.command("add")
def images_add(
    paths: list[Path] = typer.Argument(..., exists=True, help="Image files, or folders of .png/.jpg/.tif files."),
    project: str = PROJECT_OPTION,
    url: str | None = DB_OPTION,
) -> None:
    """Add image files to a project (their size is read from the file header)."""
    from qc.formats.images import read_image_infos
    from qc.store.api import add_images

    with failures():
        infos, where = read_image_infos(paths)
        with open_session(url) as session:
            rows = add_images(session, project_id=project_id(session, project), images=infos, paths=where)
        console.print(f"{len(rows)} images in project {project!r}")


@person_app.command("add")
def person_add(
    name: str = typer.Argument(..., help="Unique name."),
    role: list[str] = typer.Option(["annotator"], "--role", "-r", help="annotator, reviewer, lead or manager."),
    token: bool = typer.Option(False, "--token", help="Also issue a login token (printed once, stored hashed)."),
    url: str | None = DB_OPTION,
) -> None:
    """Add a person with roles."""
    from qc.review import issue_token
    from qc.store.api import add_person

    with failures(), open_session(url) as session:
        person = add_person(session, name=name, roles=role)
        console.print(f"person {person.name!r} added with roles {', '.join(person.roles)}")
        if token:
            secret = issue_token(session, person_id=int(person.id or 0))
            console.print(f"login token (shown once, keep it secret): {secret}")


@person_app.command("token")
def person_token(name: str = typer.Argument(..., help="The person's name."), url: str | None = DB_OPTION) -> None:
    """Issue a new login token for the review page (printed once; only its hash is stored)."""
    from qc.review import issue_token
    from qc.store.api import find_person

    with failures(), open_session(url) as session:
        person = find_person(session, name=name)
        token = issue_token(session, person_id=int(person.id or 0))
    console.print(f"login token for {name} (shown once, keep it secret): {token}")


@person_app.command("remove")
def person_remove(name: str = typer.Argument(..., help="The person's name."), url: str | None = DB_OPTION) -> None:
    """Remove a person who has no work (no assignment, submission or decision), e.g. one created by mistake."""
    from qc.store.api import remove_person

    with failures(), open_session(url) as session:
        remove_person(session, name=name)
    console.print(f"person {name!r} removed")
