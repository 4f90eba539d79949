"""Migrations: an empty database upgrades to head, the tables match the models, stale schemas are refused."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from qc.errors import SchemaOutdatedError, StoreError
from qc.review.tokens import account_for_token, hash_token, issue_token, person_for_token
from qc.store import _models_connect as connect_tables
from qc.store import db, models
from qc.store.api import create_project
from qc.store.connect import add_remote_tasks, lead_time_rows, record_annotation, round_task_links, set_connection
from qc.store.reliability import reliability_rows, replace_reliability, round_observations

TABLES = set(
    "project label_class guideline_version image person round assignment submission segment score flag "
    "review_item decision consensus_segment rejection event image_result gold_segment labelstudio_connection "
    "labelstudio_project labelstudio_task labelstudio_annotation annotator_reliability".split()
)


def _stamp(engine: Engine, revision: str) -> None:
    config = db.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.stamp(config, revision)


def test_empty_database_is_refused_with_the_upgrade_hint(empty_engine: Engine) -> None:
    with pytest.raises(SchemaOutdatedError, match="run `qc db upgrade`"):
        db.check_schema(empty_engine)
    assert db.current_revision(empty_engine) is None


def test_upgrade_creates_every_table_and_passes_the_check(empty_engine: Engine) -> None:
    db.upgrade(empty_engine)
    names = set(inspect(empty_engine).get_table_names())
    assert names >= TABLES | {"alembic_version"}
    assert db.current_revision(empty_engine) == db.head_revision() == "0007"
    db.check_schema(empty_engine)  # no error


def test_the_quick_schema_look_agrees_with_alembic(empty_engine: Engine) -> None:
    """What check_schema reads without Alembic: no revision before the upgrade, Alembic's head after it."""
    assert db._quick_revisions(empty_engine) == (None, db.head_revision())
    db.upgrade(empty_engine)
    assert db._quick_revisions(empty_engine) == (db.head_revision(), db.head_revision())
    _stamp(empty_engine, "0003")
    assert db._quick_revisions(empty_engine) == ("0003", db.head_revision())
    with pytest.raises(SchemaOutdatedError, match="at revision 0003 but this qc needs"):
        db.check_schema(empty_engine)


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), models.metadata)
    assert differences == []


def test_models_list_the_columns_in_the_migrated_order(engine: Engine) -> None:
    # the segment tables inherit their mask columns (RleColumns): they must still sit where the migrations put them
    inspector = inspect(engine)
    for name in sorted(TABLES):
        migrated = [c["name"] for c in inspector.get_columns(name)]
        assert [c.name for c in models.metadata.tables[name].columns] == migrated, name


def test_upgrade_twice_keeps_the_data(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        create_project(session, name="p", task_type="instance")
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        assert session.scalars(select(models.Project.name)).all() == ["p"]


def test_database_stamped_below_head_is_refused(engine: Engine) -> None:
    _stamp(engine, "base")
    with pytest.raises(SchemaOutdatedError, match="qc db upgrade"):
        db.check_schema(engine)


def test_database_from_a_newer_qc_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff99'")
    with pytest.raises(StoreError, match="newer qc") as info:
        db.check_schema(engine)
    assert not isinstance(info.value, SchemaOutdatedError)


def test_downgrade_below_the_first_revision_drops_nothing(engine: Engine) -> None:
    config = db.alembic_config(engine)
    with pytest.raises(StoreError, match="refusing to downgrade"), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert db.current_revision(engine) == db.head_revision()


def test_upgrade_from_0001_keeps_assignments_and_gives_them_the_consensus_kind(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, revision="0001")
    with empty_engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO project (id, name, task_type, created_at) VALUES (1, 'p', 'instance', '2026-01-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO person (id, name, roles, created_at) VALUES (1, 'ann', '[]', '2026-01-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO image (id, project_id, file_name, width, height) VALUES (1, 1, 'a.png', 4, 4)"
        )
        connection.exec_driver_sql(
            "INSERT INTO round (id, project_id, kind, status, k, created_at) "
            "VALUES (1, 1, 'consensus', 'open', 3, '2026-01-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO assignment (id, round_id, image_id, annotator_id, created_at) "
            "VALUES (1, 1, 1, 1, '2026-01-01')"
        )
    db.upgrade(empty_engine)
    db.check_schema(empty_engine)
    with db.session_scope(empty_engine) as session:
        (assignment,) = session.scalars(select(models.Assignment)).all()
    assert (assignment.id, assignment.kind) == (1, "consensus")


def test_upgrade_from_0002_keeps_people_and_their_tokens_and_starts_every_epoch_at_0(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, revision="0002")
    with empty_engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO person (id, name, roles, token_hash, created_at) "
            f"VALUES (1, 'rita', '[\"reviewer\"]', '{hash_token('old-token')}', '2026-01-01'), "
            "(2, 'ann', '[\"annotator\"]', NULL, '2026-01-01')"
        )
    db.upgrade(empty_engine)
    db.check_schema(empty_engine)
    with db.session_scope(empty_engine) as session:
        people = session.scalars(select(models.Person).order_by(models.Person.id)).all()
        assert [(p.name, p.session_epoch, p.token_prefix) for p in people] == [("rita", 0, None), ("ann", 0, None)]
        found = person_for_token(session, "old-token")  # a token issued before the upgrade still signs in
        assert found is not None and found.name == "rita"
        assert account_for_token(session, "old-token-guess") is None  # no prefix stored yet: throttled per client
        token = issue_token(session, person_id=1)
        assert account_for_token(session, token) == 1 and account_for_token(session, token[:8] + "x" * 35) == 1
    with db.session_scope(empty_engine, write=False) as session:
        rita = session.get(models.Person, 1)
        assert rita is not None and rita.session_epoch == 1 and rita.token_prefix == token[:8]


def test_upgrade_from_0002_keeps_submissions_complete_and_rejections_without_an_image(empty_engine: Engine) -> None:
    """0004: existing submissions count no rejections; existing rejections name no image."""
    db.upgrade(empty_engine, revision="0002")
    rows = [
        "INSERT INTO project (id, name, task_type, created_at) VALUES (1, 'p', 'instance', '2026-01-01')",
        "INSERT INTO person (id, name, roles, created_at) VALUES (1, 'ann', '[]', '2026-01-01')",
        "INSERT INTO image (id, project_id, file_name, width, height) VALUES (1, 1, 'a.png', 4, 4)",
        "INSERT INTO round (id, project_id, kind, status, k, created_at) "
        "VALUES (1, 1, 'consensus', 'open', 3, '2026-01-01')",
        "INSERT INTO assignment (id, round_id, image_id, annotator_id, created_at, kind) "
        "VALUES (1, 1, 1, 1, '2026-01-01', 'consensus')",
        "INSERT INTO submission (id, assignment_id, version, content_hash, source_path, format, segment_count, "
        "created_at) VALUES (1, 1, 1, 'h', 'ann.json', 'coco', 0, '2026-01-01')",
        "INSERT INTO rejection (id, round_id, annotator_id, submission_id, source_path, image_ref, message, "
        "created_at) VALUES (1, 1, 1, 1, 'ann.json', '7', 'unknown class', '2026-01-01')",
    ]
    with empty_engine.begin() as connection:
        for row in rows:
            connection.exec_driver_sql(row)
    db.upgrade(empty_engine)
    db.check_schema(empty_engine)
    with db.session_scope(empty_engine) as session:
        (submission,) = session.scalars(select(models.Submission)).all()
        (rejection,) = session.scalars(select(models.Rejection)).all()
    assert (submission.id, submission.content_hash, submission.rejections) == (1, "h", 0)
    assert (rejection.id, rejection.image_ref, rejection.message, rejection.image_id) == (1, "7", "unknown class", None)


def test_upgrade_from_0004_keeps_rounds_and_submissions_and_adds_the_labelstudio_tables_empty(
    empty_engine: Engine,
) -> None:
    """0006: the connector's tables start empty; a round delivered before takes its Label Studio rows after."""
    db.upgrade(empty_engine, revision="0004")
    rows = [
        "INSERT INTO project (id, name, task_type, created_at) VALUES (1, 'p', 'instance', '2026-01-01')",
        "INSERT INTO person (id, name, roles, created_at) VALUES (1, 'ann', '[]', '2026-01-01')",
        "INSERT INTO image (id, project_id, file_name, width, height) VALUES (1, 1, 'a.png', 4, 4)",
        "INSERT INTO round (id, project_id, kind, status, k, created_at) "
        "VALUES (1, 1, 'consensus', 'open', 3, '2026-01-01')",
        "INSERT INTO assignment (id, round_id, image_id, annotator_id, created_at, kind) "
        "VALUES (1, 1, 1, 1, '2026-01-01', 'consensus')",
        "INSERT INTO submission (id, assignment_id, version, content_hash, source_path, format, segment_count, "
        "created_at, rejections) VALUES (1, 1, 1, 'h', 'ann.json', 'coco', 0, '2026-01-01', 0)",
    ]
    with empty_engine.begin() as connection:
        for row in rows:
            connection.exec_driver_sql(row)
    db.upgrade(empty_engine)
    db.check_schema(empty_engine)
    with db.session_scope(empty_engine) as session:
        assert session.scalars(select(connect_tables.LabelStudioConnection)).all() == []
        (submission,) = session.scalars(select(models.Submission)).all()
        assert (submission.id, submission.content_hash) == (1, "h")
        set_connection(session, project_id=1, url="http://ls:8080", fingerprint="abc", document_root=None)
        add_remote_tasks(session, rows=[(1, 7, 70)])
        record_annotation(session, assignment_id=1, remote_id=700, lead_time=12.5, updated_at="t", submission_id=1)
    with db.session_scope(empty_engine, write=False) as session:
        (link,) = round_task_links(session, round_id=1)
        assert (link.file_name, link.remote_project_id, link.remote_id) == ("a.png", 7, 70)
        assert [tuple(r) for r in lead_time_rows(session, round_ids=[1])] == [(1, 1, 1, 12.5)]


def test_upgrade_from_0004_keeps_scored_rounds_and_stores_their_reliability(empty_engine: Engine) -> None:
    """0007: a new table; a round scored at 0004 keeps its results and gets reliability rows once estimated."""
    db.upgrade(empty_engine, revision="0004")
    summary = '{"annotators": ["ann"], "findings": {}}'
    rows = [
        "INSERT INTO project (id, name, task_type, created_at) VALUES (1, 'p', 'instance', '2026-01-01')",
        "INSERT INTO person (id, name, roles, created_at) VALUES (1, 'ann', '[]', '2026-01-01')",
        "INSERT INTO image (id, project_id, file_name, width, height) VALUES (1, 1, 'a.png', 4, 4)",
        "INSERT INTO round (id, project_id, kind, status, k, created_at) "
        "VALUES (1, 1, 'consensus', 'closed', 2, '2026-01-01')",
        "INSERT INTO image_result (id, round_id, image_id, verdict, labels_spent, input_hash, summary, scored_at) "
        f"VALUES (1, 1, 1, 'accepted', 2, 'h', '{summary}', '2026-01-01')",
    ]
    with empty_engine.begin() as connection:
        for row in rows:
            connection.exec_driver_sql(row)
    db.upgrade(empty_engine)
    db.check_schema(empty_engine)
    with db.session_scope(empty_engine) as session:
        (result,) = session.scalars(select(models.ImageResult)).all()
        assert (result.verdict, result.summary) == ("accepted", {"annotators": ["ann"], "findings": {}})
        assert round_observations(session, round_ids=[1]) == [(1, 1, [])]  # scored before 0007: no observations
        stored = replace_reliability(
            session, project_id=1, round_id=1, rows=[{"person_id": 1, "n_objects": 3, "miss_rate": 0.25}]
        )
        assert stored == 1
    with db.session_scope(empty_engine, write=False) as session:
        (row,) = reliability_rows(session, project_id=1)
        assert (row.round_id, row.person_id, row.n_objects, row.miss_rate, row.boundary_iou) == (1, 1, 3, 0.25, None)
        assert (row.gold_failures, row.intervals) == (0, {})
