"""Names and values from files or the database print as plain text (issue 13 item 10).

A name like ``[/]`` is not rich markup (it printed as a crash after the data was committed), a
name like ``x[bold]y`` prints whole (the markup was swallowed), and a 100,000-character value
stored straight in the database prints whole, on one line of its table, through the real commands.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bench.review_data import build_round
from qc.cli import app
from qc.store import db
from qc.store import models as m

runner = CliRunner()
LONG = "L" * 100_000 + "[bold]"


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_name_that_looks_like_markup_prints_as_written(sqlite_engine: Engine) -> None:
    refused = runner.invoke(app, ["person", "add", "[/]", "--db", _url(sqlite_engine)])
    assert refused.exit_code == 1, refused.output
    wanted = "name must be 1 to 64 printable characters with a letter or digit; got '[/]'"
    assert refused.output == f"error: field 'name': {wanted}\n"
    added = runner.invoke(app, ["person", "add", "x[bold]y", "--role", "reviewer", "--db", _url(sqlite_engine)])
    assert added.exit_code == 0, added.output
    assert added.output == "person 'x[bold]y' added with roles reviewer\n"
    token = runner.invoke(app, ["person", "token", "x[bold]y", "--db", _url(sqlite_engine)])
    assert token.exit_code == 0 and token.output.startswith("login token for x[bold]y (shown once")


def _hostile_names(engine: Engine) -> None:
    """Annotators ``[/]`` and a 100,000-character name, an image file name and a flag message with markup."""
    build_round(engine, images=1)
    with db.session_scope(engine) as session:
        people = {p.name: p for p in session.scalars(select(m.Person))}
        people["ann1"].name, people["ann3"].name = "[/]", LONG
        for image in session.scalars(select(m.Image)):
            image.file_name = "[red]img[/].png"
        for flag in session.scalars(select(m.Flag)):
            flag.message = f"[/] {LONG} disagrees"


def test_round_status_prints_stored_names_whole(sqlite_engine: Engine) -> None:
    _hostile_names(sqlite_engine)
    result = runner.invoke(app, ["round", "status", "1", "--db", _url(sqlite_engine)])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip() for line in result.output.splitlines() if line.count("│") == 5}
    assert {"[/]", LONG} <= rows  # each name whole, in one cell of one line


def test_review_next_prints_stored_names_and_messages_whole(sqlite_engine: Engine) -> None:
    _hostile_names(sqlite_engine)
    result = runner.invoke(app, ["review", "next", "--as", "rev1", "--db", _url(sqlite_engine)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("item 1 (version ") and "image [red]img[/].png (64x48)" in lines[0]
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.count("│") == 4]
    assert ["1", "[/]"] == cells[0][:2] and ["3", LONG] == cells[2][:2]
    assert any(line.endswith(f": [/] {LONG} disagrees") for line in lines)
