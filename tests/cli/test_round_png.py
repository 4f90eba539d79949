"""``qc round ingest`` of a PNG delivery from the command line: the format is named, every refused file is
listed with its field and reason, and the reader's rejections are spelled out under their file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from qc.cli import app
from tests.support.rounds import STREETS

runner = CliRunner()
GUIDELINE = STREETS


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def save(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def test_round_ingest_names_the_png_format_and_lists_every_refused_file(prefect_harness: None, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    (tmp_path / "g.yaml").write_text(GUIDELINE)
    for n in range(2):
        save(tmp_path / "images" / f"street{n}.jpg", np.zeros((6, 8, 3), np.uint8))
    run("init", "--guideline", str(tmp_path / "g.yaml"), "--db", url)
    assert "2 images" in run("images", "add", str(tmp_path / "images"), "--project", "streets", "--db", url)
    assert "4 assignments" in run("round", "schedule", "-p", "streets", "-a", "ana,ben", "--seed", "1", "--db", url)
    folder = tmp_path / "d"
    road = np.zeros((6, 8), np.uint8)
    road[:3] = 1
    save(folder / "ana" / "street0.png", road)
    save(folder / "ana" / "street1.png", np.ones((8, 6), np.uint8))  # another size: refused from its header
    save(folder / "ben" / "street0.png", road)
    save(folder / "ben" / "street9.png", road)  # no such image
    save(folder / "street1.png", road)  # whose?
    out = run("round", "ingest", "1", str(folder), "--db", url)
    lines = out.splitlines()
    assert f"ana: {folder}/ana/street0.png read as png_semantic: 1 new submissions, 0 unchanged, 1 segments, " in out
    assert f"ben: {folder}/ben/street0.png read as png_semantic: 1 new submissions" in out
    assert f"ana: {folder}/ana/street1.png read as png_semantic: 0 new submissions" in out
    sized = [line for line in lines if line.startswith("  rejected: ")]
    assert sized == [
        f"  rejected: file {folder}/ana/street1.png, image 2, field 'size': the PNG is 8x6 (height x width) but the "
        "image is 6x8; export the mask at the image's size"
    ]
    refused = [line for line in lines if line.startswith("refused: ")]
    assert [line.rsplit(" (file_name): ", 1)[0] + " (file_name)" for line in refused] == [
        f"refused: ben: {folder}/ben/street9.png (file_name)",
        f"refused: {folder}/street1.png (file_name)",
    ]
    assert "the name 'street9' is no image of the round (2 images: 'street0.jpg', 'street1.jpg')" in refused[0]
    assert "must lie in its annotator's folder" in refused[1]
    again = run("round", "ingest", "1", str(folder), "--db", url)
    assert again.count("(stored nothing new)") == 3 and again.count("refused: ") == 2
