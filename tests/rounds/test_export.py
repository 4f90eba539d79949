"""Exports: COCO panoptic without overlaps; a bad tool format is refused; an annotator gets only their feedback."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc import masks, review, rounds
from qc.core import ImageInfo
from qc.errors import InvalidOptionError
from qc.formats.panoptic import read_panoptic
from qc.guideline import parse_guideline
from qc.store import db
from qc.store.api import add_images, add_person
from qc.store.results import save_image_result
from qc.store.rounds import list_people
from tests.support.rounds import GUIDELINE, H, W, assigned, deliver, rect, setup_round


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


def _reworked(engine: Engine, tmp_path: Path) -> tuple[int, list[str]]:
    """A round whose image went to review and was sent back with a note for the lead and feedback for both."""
    round_id, (image, _) = setup_round(engine)
    with db.session_scope(engine) as session:
        people = assigned(session, round_id, image)
        reviewer = int(add_person(session, name="rita", roles=["reviewer"]).id or 0)
        ids = {p.name: p.id for p in list_people(session)}
    for name in people:
        deliver(tmp_path / "d", name, [image], {image: [(5, 5), (10, 10)]})  # overlapping: a guideline flag
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=tmp_path / "d")
        rounds.score_images(session, round_id=round_id, image_ids=[image])
        rounds.close_round(session, round_id=round_id)
        held = review.claim(session, reviewer_id=reviewer)
        assert held is not None
        feedback = {ids[people[0]]: f"{people[0]}: split the two boxes", ids[people[1]]: f"{people[1]}: trace closer"}
        review.decide(
            session,
            held.item_id,
            reviewer_id=reviewer,
            version=held.version,
            kind="rework",
            note="lead only: the guideline says nothing on touching boxes",
            feedback=feedback,
        )
    return round_id, people


def test_an_annotators_export_carries_only_the_feedback_addressed_to_them(engine: Engine, tmp_path: Path) -> None:
    round_id, (first, second) = _reworked(engine, tmp_path)
    export = partial(rounds.export_for_tool, round_id=round_id)
    with db.session_scope(engine, write=False) as session:
        export(session, path=tmp_path / "a.json", format="labelstudio", annotator=first)
        export(session, path=tmp_path / "a.xml", format="cvat-xml", annotator=first)
        export(session, path=tmp_path / "lead.json", format="labelstudio")
    (task,) = [t for t in json.loads((tmp_path / "a.json").read_text()) if t["data"].get("qc_feedback")]
    assert task["data"]["qc_feedback"] == f"{first}: split the two boxes"
    xml = (tmp_path / "a.xml").read_text()
    assert f"{first}: split the two boxes" in xml
    for text in (json.dumps(json.loads((tmp_path / "a.json").read_text())), xml):
        assert "lead only" not in text and "trace closer" not in text
    (lead_task,) = [t for t in json.loads((tmp_path / "lead.json").read_text()) if t["data"].get("qc_feedback")]
    lead_text = lead_task["data"]["qc_feedback"]
    assert "lead only" in lead_text and f"{second}: {second}: trace closer" in lead_text  # names, not ids
