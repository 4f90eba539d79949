"""Quick versions of the crash drills of ``bench/drills.py`` and the load drill of ``bench/load.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.drills import ingest_drill, pg_restart_drill, score_drill
from bench.load import load_drill

pytestmark = pytest.mark.slow


def test_killed_scoring_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    result = score_drill(tmp_path, images=40, kills=4, batch=5)
    assert result.problems == []
    assert result.kills + result.finished_before_kill == 4


def test_killed_ingest_leaves_no_half_submission(tmp_path: Path) -> None:
    result = ingest_drill(tmp_path, images=40, kills=4)
    assert result.problems == []
    assert result.figures["submissions"] == 120  # 40 images x 3 annotators
    assert result.figures["segments"] == 720  # x 6 instances


@pytest.mark.skipif(
    os.environ.get("QC_DRILL_PG_RESTART") != "1",
    reason="restarts the shared PostgreSQL server (would break parallel tests): set QC_DRILL_PG_RESTART=1 to run",
)
# the connections the restart killed are dropped by the pool and closed by the garbage collector
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_postgres_restart_mid_round_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    result = pg_restart_drill(tmp_path, images=60, delay=3.0)
    assert result.problems == []


def test_review_page_under_load(tmp_path: Path) -> None:
    result = load_drill(tmp_path, reviewers=5, seconds=4, items=400)
    assert result["errors"] == 0
    assert result["decisions"] > 0
    assert result["stored_decisions"] == result["decisions"]  # every decision stored once
    assert result["items_decided_twice"] == 0
