"""The qc command line end to end: init, images, schedule, ingest, score, status, close, export."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlmodel import select
from typer.testing import CliRunner

from qc import masks
from qc.cli import app
from qc.core import Category, ImageInfo, Segment
from qc.formats import coco
from qc.formats.cvat import read_cvat_xml
from qc.store import db
from qc.store import models as m

runner = CliRunner()
GUIDELINE = """
version: "1"
name: shapes
task: instance
classes:
  - {id: 1, name: box, kind: thing, colour: "#ff0000"}
routing: {k: 2}
"""


def rect(x: int, y: int) -> dict:
    mask = np.zeros((48, 64), bool)
    mask[y : y + 10, x : x + 10] = True
    return masks.encode(mask)


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_a_round_from_the_command_line(prefect_harness: None, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    (tmp_path / "g.yaml").write_text(GUIDELINE)
    (tmp_path / "images").mkdir()
    for n in range(3):
        Image.fromarray(np.zeros((48, 64), np.uint8)).save(tmp_path / "images" / f"im{n}.png")
    assert "project 'shapes' created" in run("init", "--guideline", str(tmp_path / "g.yaml"), "--db", url)
    assert "3 images" in run("images", "add", str(tmp_path / "images"), "--project", "shapes", "--db", url)
    out = run("round", "schedule", "-p", "shapes", "-a", "ann,bob", "--seed", "1", "--name", "r1", "--db", url)
    assert "round 1: 6 assignments over 3 images" in out
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    empty = run("round", "ingest", "1", str(delivery), "--db", url)  # nothing copied in yet: said, not silent
    said = " ".join(empty.split())  # (the console may wrap the long temporary path)
    assert said.startswith("nothing to ingest: /") and "holds no delivery file" in said and "nothing was stored" in said
    infos = [ImageInfo(n + 1, f"im{n}.png", 48, 64) for n in range(3)]
    for name, shift in (("ann", 0), ("bob", 1)):
        segments = [(n + 1, Segment(n + 1, 1, rect(5 + shift, 5))) for n in range(3)]
        coco.write_instances(delivery / f"{name}.json", infos, segments, [Category(1, "box")])
    out = run("round", "ingest", "1", str(delivery), "--db", url)
    assert "ann:" in out and "read as coco: 3 new submissions" in out
    assert "stored nothing new" in run("round", "ingest", "1", str(delivery), "--db", url)
    assert "scored 3 images (3 changed)" in run("round", "score", "1", "--workers", "1", "--db", url)
    assert "scored 0 images" in run("round", "score", "1", "--workers", "1", "--db", url)
    status = run("round", "status", "1", "--db", url)
    assert "accepted 3" in status and "6/6 assignments delivered" in status
    predictions = tmp_path / "model.json"  # a model's pre-labels: it is scored against the humans, never votes
    segments = [(n + 1, Segment(n + 1, 1, rect(5, 6))) for n in range(3)]
    coco.write_instances(predictions, infos, segments, [Category(1, "box")])
    assert "m1:" in run("round", "ingest", "1", str(predictions), "--model", "m1", "--db", url)
    assert "scored 3 images (3 changed)" in run("round", "score", "1", "--workers", "1", "--db", url)
    engine = db.make_engine(url)
    with db.session_scope(engine, write=False) as session:
        model_rows = session.scalars(select(m.Score).where(m.Score.metric == "model_iou")).all()
        verdicts = session.scalars(select(m.ImageResult.verdict)).all()
    # ann drew (5, 5) and bob (6, 5); the model's (5, 6) overlaps them by 9x10 and 9x9 of 10x10
    assert sorted(round(row.value or 0, 6) for row in model_rows) == [round(81 / 119, 6)] * 3 + [round(90 / 110, 6)] * 3
    assert verdicts == ["accepted"] * 3  # the model's shifted boxes did not count toward consensus
    out = run("round", "close", "1", "--export", str(tmp_path / "out.json"), "--db", url)
    assert "round 1 closed: 3 accepted" in out
    # the harness's server was configured: no local server was started for these commands
    assert not (Path(os.environ["PREFECT_HOME"]) / "local-server").exists()
    assert not (tmp_path / ".prefect" / "local-server").exists()
    assert coco.read_instances(tmp_path / "out.json").segments  # the consensus, readable again
    run("export", "--round", "1", "--format", "cvat-xml", "-o", str(tmp_path / "cvat.xml"), "--db", url)
    back = read_cvat_xml(tmp_path / "cvat.xml", categories=[Category(1, "box")])
    assert back.rejections == [] and len(back.segments) == 3


def test_errors_are_one_line_with_the_documented_exit_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(app, ["round", "status", "1", "--db", url])
    assert result.exit_code == 3 and "qc db upgrade" in result.output
    run("db", "upgrade", "--db", url)
    result = runner.invoke(app, ["round", "status", "7", "--db", url])
    assert result.exit_code == 1 and "no round with id 7" in result.output
    assert len(result.output.strip().splitlines()) == 1
    (tmp_path / "bad.yaml").write_text("version: 1\ntask: instance\nclasses: []\n")
    result = runner.invoke(app, ["init", "--guideline", str(tmp_path / "bad.yaml"), "--db", url])
    assert result.exit_code == 1 and "version" in result.output


@pytest.mark.parametrize(("option", "value"), [("--batch-size", "0"), ("--workers", "0"), ("--workers", "-3")])
def test_score_refuses_batches_or_workers_below_one(tmp_path: Path, option: str, value: str) -> None:
    """A usage error naming the option, before any Prefect server starts (``--batch-size 0`` was a ValueError)."""
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    result = runner.invoke(app, ["round", "score", "1", option, value, "--db", url])
    text = " ".join(result.output.replace("│", " ").split())  # the message as one line, without the panel
    assert result.exit_code == 2 and option in text and "greater than or equal to 1" in text, text
    assert not (tmp_path / ".prefect").exists()


@pytest.mark.parametrize("field", ["batch_size", "workers"])
def test_the_score_flow_refuses_batches_or_workers_below_one(tmp_path: Path, field: str) -> None:
    from flows.round import score_round
    from qc.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match=f"{field} must be a whole number >= 1; got 0"):
        score_round(f"sqlite:///{tmp_path / 'qc.db'}", 1, **{field: 0})


@pytest.mark.parametrize("command", [["--help"], ["round", "--help"]])
def test_help_documents_exit_codes(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 0
    if command == ["--help"]:
        assert "Exit codes" in result.output


@pytest.mark.parametrize(
    ("args", "option"),
    [(["demo", "--workers", "0"], "--workers"), (["review", "next", "--as", "rev1", "--lease", "0"], "--lease")],
)
def test_counts_below_their_minimum_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], option: str
) -> None:
    """Refused before anything runs (``qc demo --workers 0`` scored half the demo and started a server first)."""
    monkeypatch.chdir(tmp_path)  # where the demo would write demo-out/
    result = runner.invoke(app, [*args, "--db", f"sqlite:///{tmp_path / 'qc.db'}"] if args[0] == "review" else args)
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and option in text and "greater than or equal to" in text, text
    assert not (tmp_path / "qc.db").exists() and not (tmp_path / "demo-out").exists()


def test_demo_out_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "taken")])
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "--out" in text and "is a file" in text, text
    assert (tmp_path / "taken").read_text() == "a file"
