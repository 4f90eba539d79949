"""``qc demo``'s console: Prefect's run lines go to ``prefect.log``, not between the demo's own lines."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc.cli.demo import prefect_log
from tests.support.rounds import deliver, engine, setup_round

__all__ = ["engine"]


def test_prefect_run_lines_go_to_the_log_file_not_the_console(
    prefect_harness: None, engine: Engine, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    round_id, images = setup_round(engine, images=2)
    engine.dispose()
    deliver(tmp_path / "delivery", "ann", images, {i: [(5, 5)] for i in images})
    from flows.round import ingest_round

    url = f"sqlite:///{tmp_path / 'qc.db'}"
    consoles = [h for h in logging.getLogger().handlers if type(h).__name__ == "PrefectConsoleHandler"]
    before = [h.level for h in consoles]
    assert consoles and min(before) < logging.INFO  # Prefect's console shows run lines outside the block
    with prefect_log(tmp_path / "prefect.log"):
        assert all(h.level >= logging.WARNING for h in consoles)
        reports = ingest_round(url, round_id, str(tmp_path / "delivery"))
    on_console = capfd.readouterr()
    assert [r["annotator"] for r in reports] == ["ann"]
    logged = (tmp_path / "prefect.log").read_text(encoding="utf-8")
    assert "for flow 'ingest-round'" in logged and "Finished in state Completed()" in logged
    assert "Finished in state" not in on_console.out + on_console.err
    assert [h.level for h in consoles] == before  # after the block, Prefect's console is as it was
