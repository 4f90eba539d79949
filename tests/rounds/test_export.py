"""Exports: COCO panoptic without overlaps; a bad tool format is refused with the choices."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc import masks, rounds
from qc.core import ImageInfo
from qc.errors import InvalidOptionError
from qc.formats.panoptic import read_panoptic
from qc.guideline import parse_guideline
from qc.store import db
from qc.store.api import add_images
from qc.store.results import save_image_result
from tests.support.rounds import GUIDELINE, H, W, rect, setup_round


def test_panoptic_projects_export_coco_panoptic_without_overlaps(engine: Engine, tmp_path: Path) -> None:
    text = GUIDELINE.replace("task: instance", "task: panoptic").replace('version: "1"', 'version: "p1"')
    with db.session_scope(engine) as session:
        ref = rounds.init_project(session, guideline=parse_guideline(text), name="pan")
        (image,) = add_images(session, project_id=ref.project_id, images=[ImageInfo(1, "p.png", H, W)])
        image_id = image.id or 0
        round_id = rounds.schedule_round(session, project_id=ref.project_id, annotators=["ann", "bob"], seed=1).round_id
        save_image_result(
            session,
            round_id=round_id,
            image_id=image_id,
            input_hash="x",
            verdict="accepted",
            labels_spent=2,
            summary={},
            scores=[],
            flags=[],
            consensus=[(1, rect(5, 5)), (1, rect(10, 10))],
        )
        count = rounds.export_consensus(session, round_id=round_id, image_ids=[image_id], path=tmp_path / "p.json")
    assert count == 1
    parsed = read_panoptic(tmp_path / "p.json")
    assert parsed.rejections == []
    areas = sorted(masks.area(s.rle) for _, s in parsed.segments)
    assert areas == [144 - 49, 144]  # the second 12x12 square loses the 7x7 overlap to the first
    union = masks.merge([s.rle for _, s in parsed.segments])
    assert masks.area(union) == 144 + 144 - 49


def test_export_for_tool_refuses_an_unknown_format(engine: Engine, tmp_path: Path) -> None:
    round_id, _ = setup_round(engine)
    with db.session_scope(engine) as session, pytest.raises(InvalidOptionError) as info:
        rounds.export_for_tool(session, round_id=round_id, path=tmp_path / "x.xml", format="xml")
    assert "format must be one of coco, cvat-xml, labelstudio; got 'xml'" in str(info.value)
    assert not (tmp_path / "x.xml").exists()
