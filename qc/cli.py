"""The ``qc`` command line (library commands; ``flows/cli.py`` adds the ones that run flows).

One Typer sub-app per topic, each added to :data:`app` with ``app.add_typer``. The
database is chosen with ``--db`` (or ``$QC_DATABASE_URL``, else ``sqlite:///qc.db`` in the
working folder).

Exit codes: 0 success; 1 an error in the input or the database (the message says what,
where and how to fix it); 2 wrong command-line usage; 3 the database schema is behind
the code (run ``qc db upgrade``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from PIL import Image as PILImage
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, select

from qc.core import ImageInfo
from qc.errors import FormatError, NotFoundError, QCError, SchemaOutdatedError
from qc.guideline import load_guideline
from qc.rounds import RoundStatus, export_consensus, export_for_tool, init_project
from qc.store import db
from qc.store import models as m
from qc.store.api import add_images, add_person
from qc.store.results import list_image_results

__all__ = ["app", "db_app"]

EXIT_CODES = (
    "Exit codes: 0 success; 1 an error in the input or the database (the message says what, where and how to fix "
    "it); 2 wrong command-line usage; 3 the database schema is behind the code (run `qc db upgrade`)."
)

app = typer.Typer(
    name="qc", help=f"Quality control for image segmentation labels.\n\n{EXIT_CODES}", no_args_is_help=True
)
db_app = typer.Typer(help="Create and upgrade the qc database (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console(soft_wrap=True)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: $QC_DATABASE_URL, else sqlite:///qc.db).")


@app.callback()
def main() -> None:
    """Quality control for image segmentation labels.

    Exit codes: 0 success; 1 an error in the input or the database (the message says what,
    where and how to fix it); 2 wrong command-line usage; 3 the database schema is behind
    the code (run `qc db upgrade`).
    """


@db_app.command("upgrade")
def db_upgrade(url: str | None = DB_OPTION) -> None:
    """Apply every pending migration (creates the schema in an empty database)."""
    engine = db.make_engine(url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
        after = db.current_revision(engine)
    except QCError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{where}: already at revision {after} (head)")
    else:
        console.print(f"{where}: upgraded from {before or 'empty'} to {after} (head)")


@db_app.command("current")
def db_current(url: str | None = DB_OPTION) -> None:
    """Show the database's revision and whether it is up to date (exit code 1 when it is not)."""
    engine = db.make_engine(url)
    try:
        current = db.current_revision(engine)
        head = db.head_revision()
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    state = "up to date" if current == head else "behind: run `qc db upgrade`"
    console.print(f"{where}: revision {current or 'none (empty)'}, head {head} — {state}")
    if current != head:
        raise typer.Exit(code=1)


# --- shared plumbing -------------------------------------------------------------------------------------


@contextmanager
def failures() -> Iterator[None]:
    """Turn qc errors into one clear line and the documented exit code."""
    try:
        yield
    except SchemaOutdatedError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=3) from exc
    except QCError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc


@contextmanager
def open_session(url: str | None, *, write: bool = True) -> Iterator[Session]:
    """A session on a database whose schema is current (else exit code 3 with the fix)."""
    engine = db.make_engine(url)
    try:
        db.check_schema(engine)
        with db.session_scope(engine, write=write) as session:
            yield session
    finally:
        engine.dispose()


def database_url(url: str | None) -> str:
    """The URL a command works on, as text (flows get URLs, not engines)."""
    return db.resolve_url(url).render_as_string(hide_password=False)


def project_id(session: Session, name: str) -> int:
    row = session.scalars(select(m.Project).where(m.Project.name == name)).first()
    if row is None or row.id is None:
        known = ", ".join(session.scalars(select(m.Project.name))) or "none"
        raise NotFoundError(f"no project named {name!r} (projects: {known}); create it with qc init", field="project")
    return row.id


# --- library commands ------------------------------------------------------------------------------------

images_app = typer.Typer(help="Add images to a project.", no_args_is_help=True)
person_app = typer.Typer(help="Add people (annotators, reviewers, leads, managers).", no_args_is_help=True)
app.add_typer(images_app, name="images")
app.add_typer(person_app, name="person")
PROJECT_OPTION = typer.Option(..., "--project", "-p", help="Project name (as given to qc init).")


@app.command("init")
def init(
    guideline: Path = typer.Option(..., "--guideline", "-g", exists=True, dir_okay=False, help="Guideline YAML."),
    name: str | None = typer.Option(None, "--name", help="Project name (default: the guideline's name)."),
    url: str | None = DB_OPTION,
) -> None:
    """Create the database schema and a project from a guideline (or add a new guideline version)."""
    with failures():
        engine = db.make_engine(url)
        db.upgrade(engine)
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
    with failures():
        infos, where = image_infos(paths)
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

    with failures(), open_session(url) as session:
        person = add_person(session, name=name, roles=role)
        console.print(f"person {person.name!r} added with roles {', '.join(person.roles)}")
        if token:
            secret = issue_token(session, person_id=int(person.id or 0))
            console.print(f"login token (shown once, keep it secret): {secret}", markup=False)


@app.command("export")
def export(
    round_id: int = typer.Option(..., "--round", help="Round id."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    tool_format: str | None = typer.Option(
        None, "--format", help="coco|cvat-xml|labelstudio: for the annotation tool."
    ),
    annotator: str | None = typer.Option(None, "--annotator", help="Export this person's submission, not consensus."),
    url: str | None = DB_OPTION,
) -> None:
    """Export a round's accepted consensus labels as COCO instances; with --format/--annotator, for rework."""
    with failures(), open_session(url, write=False) as session:
        if tool_format is not None or annotator is not None:
            chosen = tool_format or "coco"
            count = export_for_tool(session, round_id=round_id, path=output, format=chosen, annotator=annotator)
            console.print(f"{count} images (accepted and rework) written to {output} as {chosen}")
            return
        accepted = [r.image_id for r in list_image_results(session, round_id=round_id) if r.verdict == "accepted"]
        count = export_consensus(session, round_id=round_id, image_ids=accepted, path=output)
    console.print(f"{count} accepted images written to {output}")


def print_status(status: RoundStatus) -> None:
    """The round-status table, also printed at the end of the demo."""
    verdicts = status.verdicts
    console.print(
        f"round {status.name or status.round_id} ({status.status}): {status.images} images, "
        f"{status.delivered}/{status.assignments} assignments delivered; accepted {verdicts.get('accepted', 0)}, "
        f"escalated {verdicts.get('escalate', 0)}, in review {verdicts.get('review', 0)}; "
        f"labels per accepted image {status.labels_per_accepted:.2f}"
    )
    table = Table("annotator", "images", "leave-one-out IoU", "findings", title="agreement per annotator")
    ranked = sorted(status.annotators.items(), key=lambda item: -(item[1]["loo_iou"] or 0.0))
    for name, row in ranked:
        loo = row["loo_iou"]
        table.add_row(name, str(row["images"]), "–" if loo is None else f"{loo:.3f}", str(row["findings"]))
    console.print(table)
    if status.findings:
        console.print("findings: " + ", ".join(f"{k} {v}" for k, v in sorted(status.findings.items())))


def image_infos(paths: list[Path]) -> tuple[list[ImageInfo], dict[str, str]]:
    """ImageInfo per image file (folders are expanded); sizes from the headers."""
    files: list[Path] = []
    for path in paths:
        files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if path.is_dir() else [path]
    infos = []
    for number, file in enumerate(files, start=1):
        try:
            with PILImage.open(file) as image:
                width, height = image.size
        except OSError as exc:
            raise FormatError(f"cannot read the image header: {exc}", path=str(file)) from exc
        infos.append(ImageInfo(number, file.name, height, width))
    return infos, {f.name: str(f.resolve()) for f in files}


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
