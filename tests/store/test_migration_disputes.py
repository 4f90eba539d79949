"""Migration 0005 on a database at 0004 holding a review item: the item gets its disputes (backfill), consensus rows
get the ``consensus`` source, and ``resolve`` decisions are accepted by the new check constraint."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from qc import review, rounds
from qc.cli import app
from qc.review import Resolution
from qc.store import db
from qc.store import models as m
from tests.support.databases import FILE_AND_POSTGRES, postgres_engine
from tests.support.disputes import disputed_round


def _copy(source: Engine, target: Engine) -> None:
    """Every row of ``source`` into ``target`` (the columns ``target`` has), parents first; PostgreSQL's id
    sequences then continue after the copied ids."""
    have, want = MetaData(), MetaData()
    have.reflect(source)
    want.reflect(target)
    with source.connect() as reading, target.begin() as writing:
        for table in want.sorted_tables:
            if table.name == "alembic_version" or table.name not in have.tables:
                continue
            columns = [c.name for c in table.columns if c.name in have.tables[table.name].columns]
            rows = [dict(r._mapping) for r in reading.execute(select(*have.tables[table.name].c[tuple(columns)]))]
            if rows:
                writing.execute(table.insert(), rows)
            if rows and target.dialect.name == "postgresql" and "id" in table.columns:
                sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
                writing.exec_driver_sql(f'SELECT setval({sequence}, (SELECT max(id) FROM "{table.name}"))')


@pytest.mark.parametrize("backend", FILE_AND_POSTGRES)
def test_upgrading_a_database_at_0004_gives_queued_items_their_disputes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    current = db.make_engine(f"sqlite:///{tmp_path / 'head.db'}")
    db.upgrade(current)
    built = disputed_round(current, tmp_path / "d")
    if backend == "postgresql":
        old = postgres_engine(request.getfixturevalue("postgres_database"))
    else:
        old = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade(old, revision="0004")
    _copy(current, old)
    with old.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM review_item").scalar_one() == 1
    url = old.url.render_as_string(hide_password=False)
    upgraded = CliRunner().invoke(app, ["db", "upgrade", "--db", url])  # the migrations, then the backfill
    assert upgraded.exit_code == 0, upgraded.output
    assert (
        "upgraded from 0004 to" in upgraded.output and "1 review item got its disputes (3 disputes)" in upgraded.output
    )
    db.check_schema(old)
    with db.session_scope(old) as session:
        assert rounds.backfill_disputes(session) == {}  # once
    rita = built.people["rita"]
    with db.session_scope(current, write=False) as session:
        expected = review.dispute_views(session, built.item_id, rita)
    with db.session_scope(old, write=False) as session:
        backfilled = review.dispute_views(session, built.item_id, rita)
        sources = session.scalars(select(m.ConsensusSegment.source)).all()
    assert [d.kind for d in backfilled] == ["unsupported", "unsupported", "class_conflict"]
    assert [(d.index, d.kind, d.bbox, d.category, d.fused_rle, d.pairwise_iou) for d in backfilled] == [
        (d.index, d.kind, d.bbox, d.category, d.fused_rle, d.pairwise_iou) for d in expected
    ]
    assert [[v.rle for v in d.versions] for d in backfilled] == [[v.rle for v in d.versions] for d in expected]
    assert sources == ["consensus"]
    with db.session_scope(old) as session:
        held = review.claim(session, reviewer_id=rita)
        assert held is not None
        done = review.resolve(
            session, held.item_id, rita, held.version, {d.id: Resolution("fused") for d in backfilled}
        )
    assert done.kind == "resolve" and done.status == "decided"
    for engine in (current, old):
        engine.dispose()
