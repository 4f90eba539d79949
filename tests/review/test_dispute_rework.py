"""Per-object rework (a rework round for the annotators who drew the object, carrying the region and the note, and
the CVAT XML / Label Studio exports that show it), the accepted COCO export's provenance, the close's counts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from qc import masks, review, rounds
from qc.errors import InvalidOptionError
from qc.review import Resolution
from qc.store import db
from qc.store import models as m
from tests.support.disputes import DisputedRound, deliver_boxes, disputed_round
from tests.support.rounds import rect

NOTE = "trace the whole box, corners included"


def _resolve(engine: Engine, built: DisputedRound, choose: dict[int, Resolution]) -> review.DecisionResult:
    rita = built.people["rita"]
    with db.session_scope(engine) as session:
        held = review.claim(session, reviewer_id=rita)
        assert held is not None
        return review.resolve(session, built.item_id, rita, held.version, choose)


def _three(engine: Engine, built: DisputedRound) -> list[review.DisputeView]:
    with db.session_scope(engine, write=False) as session:
        return review.dispute_views(session, built.item_id, built.people["rita"])


def test_sending_one_object_back_opens_a_rework_round_for_who_drew_it_with_the_region(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    built = disputed_round(sqlite_engine, tmp_path / "d")
    first, second, third = _three(sqlite_engine, built)
    choose = {first.id: Resolution("rework", note=NOTE), second.id: Resolution("fused")}
    done = _resolve(sqlite_engine, built, {**choose, third.id: Resolution("set_class", category_id=1)})
    assert done.status == "decided" and done.rework_round_id is not None
    with db.session_scope(sqlite_engine, write=False) as session:
        rework = session.get(m.Round, done.rework_round_id)
        assigned = session.scalars(select(m.Assignment).where(m.Assignment.round_id == done.rework_round_id)).all()
        result = session.scalars(select(m.ImageResult)).one()
        decision = session.get(m.Decision, done.decision_id)
    assert rework is not None and rework.kind == "rework"
    people = {built.people["ann"]: "ann", built.people["bob"]: "bob"}
    assert sorted(people[a.annotator_id] for a in assigned) == ["ann", "bob"]  # cy did not draw it
    for assignment in assigned:
        (region,) = assignment.regions or []
        assert (region["bbox"], region["category_id"], region["note"], region["index"]) == ([2, 40, 15, 12], 1, NOTE, 1)
        drawn = rect(2, 40) if people[assignment.annotator_id] == "ann" else rect(5, 40)
        assert masks.as_rle(region["rle"])["counts"] == drawn["counts"]
    assert result.verdict == "review"  # the object comes back through the rework round
    assert decision is not None and decision.kind == "resolve"
    assert decision.feedback == {str(a): f"object 1: {NOTE}" for a in people}
    with db.session_scope(sqlite_engine, write=False) as session:
        (told,) = review.feedback_for(session, annotator_id=built.people["ann"])
        assert review.feedback_for(session, annotator_id=built.people["cy"]) == []
    assert (told.file_name, told.text) == ("img0.png", f"object 1: {NOTE}")

    with db.session_scope(sqlite_engine, write=False) as session:
        rounds.export_for_tool(session, round_id=built.round_id, path=tmp_path / "team.xml", format="cvat-xml")
        rounds.export_for_tool(
            session, round_id=built.round_id, path=tmp_path / "ann.json", format="labelstudio", annotator="ann"
        )
        shown = rounds.export_for_tool(
            session, round_id=built.round_id, path=tmp_path / "cy.json", format="labelstudio", annotator="cy"
        )
        rounds.export_for_tool(session, round_id=done.rework_round_id, path=tmp_path / "rw.xml", format="cvat-xml")
    for name in ("team.xml", "rw.xml"):
        root = ET.parse(tmp_path / name).getroot()
        (box,) = root.findall("image/box")
        corners = [box.get(k) for k in ("label", "xtl", "ytl", "xbr", "ybr")]
        assert corners == ["qc_rework_region", "2.00", "40.00", "17.00", "52.00"]
        assert {a.get("name"): a.text for a in box.findall("attribute")} == {"qc_feedback": NOTE, "qc_class": "box"}
        assert "qc_rework_region" in [n.text for n in root.findall("meta/task/labels/label/name")]
    (task,) = json.loads((tmp_path / "ann.json").read_text())
    assert task["data"]["qc_regions"] == [{"bbox": [2, 40, 15, 12], "class": "box", "note": NOTE}]
    (boxed,) = [r for r in task["predictions"][0]["result"] if r["type"] == "rectanglelabels"]
    assert boxed["meta"] == {"text": [NOTE]} and boxed["value"]["x"] == 100 * 2 / 64
    assert shown == 0  # cy drew nothing that was sent back


def _regions(engine: Engine, round_id: int | None) -> dict[int, list[dict[str, object]]]:
    with db.session_scope(engine, write=False) as session:
        rows = session.scalars(select(m.Assignment).where(m.Assignment.round_id == round_id)).all()
        return {a.annotator_id: list(a.regions or []) for a in rows}


def test_an_object_goes_back_to_the_one_annotator_named(sqlite_engine: Engine, tmp_path: Path) -> None:
    built = disputed_round(sqlite_engine, tmp_path / "d")
    first, second, third = _three(sqlite_engine, built)
    bob, cy = built.people["bob"], built.people["cy"]
    choose = {
        first.id: Resolution("rework", person_id=bob, note=NOTE),  # bob drew it: only bob gets it back
        second.id: Resolution("fused"),
        third.id: Resolution("rework", person_id=cy, note="you missed this box"),  # cy did not draw it
    }
    done = _resolve(sqlite_engine, built, choose)
    regions = _regions(sqlite_engine, done.rework_round_id)
    assert sorted(regions) == [bob, cy]  # ann drew both objects and gets neither
    ((bobs,), (cys,)) = regions[bob], regions[cy]
    assert (bobs["index"], bobs["note"], masks.as_rle(bobs["rle"])["counts"]) == (1, NOTE, rect(5, 40)["counts"])
    assert (cys["index"], cys["note"], cys["segment_id"]) == (3, "you missed this box", None)
    fused = np.asarray(masks.decode(masks.as_rle(cys["rle"])))  # cy is shown the fused candidate of ann and bob
    np.testing.assert_array_equal(fused, masks.decode(rect(30, 40)))
    with db.session_scope(sqlite_engine, write=False) as session:
        decision = session.get(m.Decision, done.decision_id)
    assert decision is not None
    assert decision.feedback == {str(bob): f"object 1: {NOTE}", str(cy): "object 3: you missed this box"}
    (stored, _, last) = _three(sqlite_engine, built)
    assert stored.resolution is not None and (stored.resolution.kind, stored.resolution.person) == ("rework", "bob")
    assert last.resolution is not None and last.resolution.person == "cy"
    with db.session_scope(sqlite_engine, write=False) as session:  # cy's Label Studio task shows the missed box
        count = rounds.export_for_tool(
            session, round_id=built.round_id, path=tmp_path / "cy.json", format="labelstudio", annotator="cy"
        )
    (task,) = json.loads((tmp_path / "cy.json").read_text())
    assert count == 1
    assert task["data"]["qc_regions"] == [{"bbox": [30, 40, 12, 12], "class": "box", "note": "you missed this box"}]


def test_rework_to_someone_who_may_not_get_the_object_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    built = disputed_round(sqlite_engine, tmp_path / "d")
    first, second, third = _three(sqlite_engine, built)
    with db.session_scope(sqlite_engine) as session:
        held = review.claim(session, reviewer_id=built.people["rita"])
        assert held is not None
        rest = {first.id: Resolution("fused"), third.id: Resolution("remove")}
        wrong = {second.id: Resolution("rework", person_id=built.people["rita"], note=NOTE)}  # not an annotator
        with pytest.raises(InvalidOptionError, match="person of dispute 2") as raised:
            review.resolve(session, built.item_id, built.people["rita"], held.version, {**rest, **wrong})
    assert "any annotator of the image" in str(raised.value)
    with db.session_scope(sqlite_engine, write=False) as session:
        assert session.scalars(select(m.Decision)).all() == []


def test_the_accepted_coco_export_gives_each_annotation_its_provenance_and_close_counts_resolutions(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    built = disputed_round(sqlite_engine, tmp_path / "d")
    first, second, third = _three(sqlite_engine, built)
    ann = built.people["ann"]
    _resolve(
        sqlite_engine,
        built,
        {first.id: Resolution("take", person_id=ann), second.id: Resolution("fused"), third.id: Resolution("remove")},
    )
    with db.session_scope(sqlite_engine) as session:
        closed = rounds.close_round(session, round_id=built.round_id, export_path=tmp_path / "accepted.json")
    assert closed.resolutions == {"fused": 1, "remove": 1, "take": 1}
    exported = json.loads((tmp_path / "accepted.json").read_text())
    assert [a["attributes"] for a in exported["annotations"]] == [
        {"source": "consensus", "supporters": ["ann", "bob", "cy"], "chosen_by": None, "dispute": None},
        {"source": "annotator", "supporters": ["ann"], "chosen_by": "rita", "dispute": first.id},
        {"source": "fused", "supporters": ["ann", "bob", "cy"], "chosen_by": "rita", "dispute": second.id},
    ]


def test_a_redelivery_rebuilds_the_disputes_of_a_decided_item(sqlite_engine: Engine, tmp_path: Path) -> None:
    built = disputed_round(sqlite_engine, tmp_path / "d", keep_open=True)
    views = _three(sqlite_engine, built)
    _resolve(sqlite_engine, built, {d.id: Resolution("remove") for d in views})
    # cy now draws the object at (2, 40) as ann did and the class-conflict box as a box: only (40, 2) stays disputed
    deliver_boxes(tmp_path / "d2", built.image_id, {"cy": [(1, (2, 2)), (1, (44, 2)), (1, (2, 40)), (1, (30, 40))]})
    with db.session_scope(sqlite_engine) as session:
        rounds.ingest_folder(session, round_id=built.round_id, folder=tmp_path / "d2")
        (scored,) = rounds.score_images(session, round_id=built.round_id, image_ids=[built.image_id])
        item = session.get(m.ReviewItem, built.item_id)
        assert item is not None
        status = item.status
    assert scored.reopened == built.item_id and status == "pending"
    (left,) = _three(sqlite_engine, built)
    assert (left.index, left.kind, left.bbox, left.resolution) == (1, "unsupported", (40, 2, 16, 12), None)
