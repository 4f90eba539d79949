"""Issue 13 items 10 and 17: people's names are checked before a person is created, and a person without work
can be removed (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from qc.errors import ConflictError, InvalidOptionError, NotFoundError
from qc.store import api, db
from qc.store.submissions import list_rejections, record_refused_file

GOOD = ["ana", "José María", "ana.lopez@lab.org", "o'brien", "dee-2", "1.5", "rev<b>", "李"]
BAD = [
    ("", "empty"),
    ("..", "no letter or digit"),
    ("[/]", "rich markup alone"),
    (" ana", "leading space"),
    ("ana\n", "a newline"),
    ("ana\x1b[2J", "a terminal escape"),
    ("caf\udce9", "an undecodable byte of a file name"),
    ("a" * 65, "longer than 64"),
    ("x" * 1_000_000, "a megabyte"),
]


@pytest.mark.parametrize("name", GOOD)
def test_names_people_use_are_accepted(engine: Engine, name: str) -> None:
    with db.session_scope(engine) as session:
        assert api.add_person(session, name=name, roles=["annotator"]).name == name


@pytest.mark.parametrize(("name", "why"), BAD, ids=[why for _, why in BAD])
def test_junk_names_are_refused_before_a_person_is_created(engine: Engine, name: str, why: str) -> None:
    with db.session_scope(engine) as session, pytest.raises(InvalidOptionError) as refused:
        api.add_person(session, name=name, roles=["annotator"])
    assert refused.value.field == "name" and len(str(refused.value)) < 200, why
    with db.session_scope(engine) as session, pytest.raises(NotFoundError):
        api.find_person(session, name=name)


def test_a_person_without_work_is_removed_and_their_refused_files_keep_the_path(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        project = api.create_project(session, name="p", task_type="instance")
        junk = api.add_person(session, name="1.5", roles=["annotator"])
        round_row = api.create_round(session, project_id=int(project.id or 0))
        record_refused_file(
            session,
            round_id=int(round_row.id or 0),
            annotator_id=junk.id,
            source_path="deliveries/1.5.json",
            source_hash="h",
            field=None,
            message="1.5 is not an annotator of round 1",
        )
    with db.session_scope(engine) as session:
        api.remove_person(session, name="1.5")
    with db.session_scope(engine, write=False) as session:
        with pytest.raises(NotFoundError):
            api.find_person(session, name="1.5")
        (kept,) = list_rejections(session)
        assert (kept.source_path, kept.annotator_id) == ("deliveries/1.5.json", None)


def test_a_person_with_work_is_not_removed_and_the_refusal_says_what_they_have(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        project = api.create_project(session, name="p", task_type="instance")
        ana = api.add_person(session, name="ana", roles=["annotator"])
        from qc.core import ImageInfo

        (image,) = api.add_images(session, project_id=int(project.id or 0), images=[ImageInfo(1, "a.png", 4, 4)])
        round_row = api.create_round(session, project_id=int(project.id or 0))
        pairs = [(int(image.id or 0), int(ana.id or 0))]
        api.add_assignments(session, round_id=int(round_row.id or 0), pairs=pairs)
        api.record_event(session, verb="login", object_type="person", actor_id=ana.id)
    with db.session_scope(engine) as session, pytest.raises(ConflictError) as refused:
        api.remove_person(session, name="ana")
    assert "1 assignment, 1 recorded action" in str(refused.value)
    with db.session_scope(engine, write=False) as session:
        assert api.find_person(session, name="ana").name == "ana"
    with db.session_scope(engine) as session, pytest.raises(NotFoundError):
        api.remove_person(session, name="nobody")
