"""``qc person remove`` (issue 13 item 17): a person without work goes; one with work stays, with the reason."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from qc.cli import app
from qc.core import ImageInfo
from qc.store import api, db

runner = CliRunner()


def test_person_remove(sqlite_engine: Engine) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with db.session_scope(sqlite_engine) as session:
        project = api.create_project(session, name="p", task_type="instance")
        api.add_person(session, name="1.5", roles=["annotator"])
        ana = api.add_person(session, name="ana", roles=["annotator"])
        (image,) = api.add_images(session, project_id=int(project.id or 0), images=[ImageInfo(1, "a.png", 4, 4)])
        round_id = int(api.create_round(session, project_id=int(project.id or 0)).id or 0)
        api.add_assignments(session, round_id=round_id, pairs=[(int(image.id or 0), int(ana.id or 0))])
    gone = runner.invoke(app, ["person", "remove", "1.5", "--db", url])
    assert gone.exit_code == 0, gone.output
    assert "person '1.5' removed" in gone.output
    kept = runner.invoke(app, ["person", "remove", "ana", "--db", url])
    assert kept.exit_code == 1 and "cannot be removed: they have 1 assignment" in kept.output
    missing = runner.invoke(app, ["person", "remove", "1.5", "--db", url])
    assert missing.exit_code == 1 and "no person named '1.5'" in missing.output
    with db.session_scope(sqlite_engine, write=False) as session:
        assert api.find_person(session, name="ana").name == "ana"
