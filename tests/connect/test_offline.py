"""The connector's parts that need no Label Studio server: the token's home, an unconnected project."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc.connect import _secret, push_round, sync_round
from qc.errors import InvalidOptionError, NotFoundError
from qc.store import db
from tests.support.rounds import engine, setup_round

__all__ = ["engine"]


def test_the_token_file_is_the_owners_only_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_secret.ENV_VAR, raising=False)
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    path = _secret.save_token(url, 4, "s3cret")
    assert path == tmp_path / "qc.db.labelstudio-4.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "s3cret"
    assert _secret.load_token(url, 4) == "s3cret"
    monkeypatch.setenv(_secret.ENV_VAR, "from-env")
    assert _secret.load_token(url, 4) == "from-env"


def test_without_token_file_nor_variable_the_error_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_secret.ENV_VAR, raising=False)
    with pytest.raises(InvalidOptionError, match=r"QC_LABELSTUDIO_TOKEN is not set, nor is there .*qc connect"):
        _secret.load_token(f"sqlite:///{tmp_path / 'qc.db'}", 1)
    assert _secret.save_token("postgresql://qc@db/qc", 1, "x") is None  # a shared database keeps no token file
    with pytest.raises(InvalidOptionError, match="PostgreSQL database keeps no token file"):
        _secret.load_token("postgresql://qc@db/qc", 1)


def test_an_unconnected_project_pushes_nothing_and_cannot_sync(engine: Engine, tmp_path: Path) -> None:
    round_id, _ = setup_round(engine)
    url = engine.url.render_as_string(hide_password=False)
    with db.session_scope(engine) as session:
        assert push_round(session, round_id=round_id, database_url=url) is None
        with pytest.raises(NotFoundError, match="not connected to Label Studio; run qc connect labelstudio"):
            sync_round(session, round_id=round_id, database_url=url, folder=tmp_path)
