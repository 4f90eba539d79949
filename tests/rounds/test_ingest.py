"""Ingesting a delivery folder (issue 13 items 3, 5, 6, 7): each file stands alone, the path decides whose it is,
CVAT mask folders are read, and an image whose annotations were rejected waits instead of being scored."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.engine import Engine

from qc import rounds
from qc.core import Category, ImageInfo, Segment
from qc.errors import NotFoundError
from qc.formats import coco
from qc.rounds import FileIngest
from qc.store import api, db
from qc.store.rounds import list_people
from qc.store.submissions import latest_submissions, list_rejections
from tests.support.rounds import CATEGORIES, H, W, assigned, deliver, rect, setup_round


def ingest(engine: Engine, round_id: int, folder: Path) -> list[FileIngest]:
    with db.session_scope(engine) as session:
        return rounds.ingest_folder(session, round_id=round_id, folder=folder)


def owed(engine: Engine, round_id: int, images: list[int]) -> dict[str, list[int]]:
    """Each annotator's images of the round."""
    with db.session_scope(engine, write=False) as session:
        people = {image: assigned(session, round_id, image) for image in images}
    return {name: [i for i in images if name in people[i]] for name in sorted({n for v in people.values() for n in v})}


def labelstudio(tasks: list[tuple[int, str, Any]]) -> list[dict[str, Any]]:
    """A Label Studio export: per ``(image id, file name, completed_by)`` one task with a 12 x 12 box at (5, 5)."""
    box = {"x": 5 / W * 100, "y": 5 / H * 100, "width": 12 / W * 100, "height": 12 / H * 100, "rotation": 0}
    result = {"id": "b", "type": "rectanglelabels", "from_name": "label", "to_name": "image"}
    result |= {"original_width": W, "original_height": H, "value": {**box, "rectanglelabels": ["box"]}}
    return [
        {
            "id": image,
            "data": {"image": f"/data/upload/1/{name}"},
            "annotations": [{"completed_by": who, "result": [result]}],
        }
        for image, name, who in tasks
    ]


def by_path(results: list[FileIngest]) -> dict[str, FileIngest]:
    return {Path(r.path).name: r for r in results}


# --- item 5: one bad file never blocks the others --------------------------------------------------------


def test_each_file_stands_alone_and_every_refused_one_is_listed_with_its_reason(
    any_engine: Engine, tmp_path: Path
) -> None:
    engine = any_engine
    round_id, images = setup_round(engine, images=4)
    people = owed(engine, round_id, images)
    folder = tmp_path / "d"
    good, truncated, utf16 = sorted(people)
    deliver(folder, good, people[good], {i: [(5, 5)] for i in people[good]})
    deliver(folder, truncated, people[truncated], {i: [(5, 5)] for i in people[truncated]})
    whole = (folder / f"{truncated}.json").read_bytes()
    (folder / f"{truncated}.json").write_bytes(whole[: len(whole) // 2])
    deliver(tmp_path / "x", utf16, people[utf16], {i: [(5, 5)] for i in people[utf16]})
    (folder / f"{utf16}.json").write_bytes((tmp_path / "x" / f"{utf16}.json").read_text().encode("utf-16"))
    (folder / "empty.json").write_bytes(b"")
    (folder / "null.json").write_text("null")
    (folder / "notes.txt").write_text("see you")
    (folder / ".hidden.json").write_text("{}")
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (folder / "link.json").symlink_to(outside)
    (folder / os.fsdecode(b"caf\xe9.json")).write_text("{}")
    results = by_path(ingest(engine, round_id, folder))
    assert len(results[f"{good}.json"].result.created) == len(people[good]) and results[f"{good}.json"].refused is None
    reasons = {name: r.refused or "" for name, r in results.items() if r.refused}
    assert set(reasons) == {
        f"{truncated}.json",
        f"{utf16}.json",
        "empty.json",
        "null.json",
        "notes.txt",
        "link.json",
        "caf\\xe9.json",
    }
    assert "looks truncated" in reasons[f"{truncated}.json"]
    assert "not UTF-8" in reasons[f"{utf16}.json"] and "not UTF-8" in reasons["caf\\xe9.json"]
    assert "cannot tell the format" in reasons["null.json"] and "not an annotation file" in reasons["notes.txt"]
    assert "outside the delivery folder" in reasons["link.json"]
    assert results[f"{truncated}.json"].annotator == truncated  # the path named them: the refusal is theirs
    with db.session_scope(engine, write=False) as session:
        stored = list_rejections(session, round_id=round_id)
        assert {Path(r.source_path).name for r in stored} == set(reasons)
        mine = [r for r in stored if r.source_path.endswith(f"{truncated}.json")]
        assert [r.annotator_id for r in mine] == [api.find_person(session, name=truncated).id]
    again = ingest(engine, round_id, folder)  # the watch-folder runs again: refusals are not stored twice
    assert len([r for r in again if r.refused]) == len(reasons)
    with db.session_scope(engine, write=False) as session:
        assert len(list_rejections(session, round_id=round_id)) == len(reasons)


def test_an_unknown_round_is_one_error_not_one_per_file(engine: Engine, tmp_path: Path) -> None:
    deliver(tmp_path, "ann", [1], {1: [(5, 5)]})
    with db.session_scope(engine) as session, pytest.raises(NotFoundError, match="no round with id 7"):
        rounds.ingest_folder(session, round_id=7, folder=tmp_path)


# --- item 3: who delivered -------------------------------------------------------------------------------


def test_a_file_delivered_as_one_annotator_that_names_another_is_refused_naming_both(
    any_engine: Engine, tmp_path: Path
) -> None:
    round_id, images = setup_round(any_engine, images=2)
    engine, people = any_engine, owed(any_engine, round_id, images)
    victim, sender = sorted(people)[:2]
    shared = [i for i in people[victim] if i in people[sender]] or people[victim]
    deliver(tmp_path / "d", victim, people[victim], {i: [(30, 30)] for i in people[victim]})
    tasks = [(i, f"img{i - 1}.png", victim) for i in shared]
    (tmp_path / "d" / f"{sender}.json").write_text(json.dumps(labelstudio(tasks)))
    (tmp_path / "d" / sender).mkdir()
    (tmp_path / "d" / sender / "export.json").write_text(json.dumps(labelstudio(tasks)))
    results = ingest(engine, round_id, tmp_path / "d")
    refused = [r for r in results if r.refused]
    assert len(refused) == 2 and {r.annotator for r in refused} == {sender}
    for r in refused:
        assert f"delivered as the work of {sender!r}, but its completed_by names {victim!r}" in r.refused
        assert r.field == "completed_by"
    with db.session_scope(engine, write=False) as session:
        victim_id = api.find_person(session, name=victim).id
        assert rounds.round_status(session, round_id=round_id).rejections == ()
        mine = [s for s in latest_submissions(session, round_id=round_id) if s.annotator_id == victim_id]
        assert len(mine) == len(people[victim]) and all(s.version == 1 for s in mine)  # not superseded


def test_a_label_studio_user_id_is_not_a_name_the_path_decides(engine: Engine, tmp_path: Path) -> None:
    round_id, images = setup_round(engine, images=2)
    people = owed(engine, round_id, images)
    name = sorted(people)[0]
    tasks = [(i, f"img{i - 1}.png", 7) for i in people[name]]
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / f"{name}.json").write_text(json.dumps(labelstudio(tasks)))
    (result,) = ingest(engine, round_id, tmp_path / "d")
    assert result.refused is None and result.annotator == name and len(result.result.created) == len(people[name])


def test_a_project_export_stores_each_assigned_annotators_part_and_refuses_the_others(
    engine: Engine, tmp_path: Path
) -> None:
    round_id, images = setup_round(engine, images=2)
    people = owed(engine, round_id, images)
    name = sorted(people)[0]
    tasks = [(i, f"img{i - 1}.png", name) for i in people[name]]
    tasks += [(images[0], "img0.png", "zed"), (images[1], "img1.png", 1.5), (images[1], "img1.png", "x" * 100_000)]
    tasks += [(images[0], "img0.png", "[/]")]
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "project-3-export.json").write_text(json.dumps(labelstudio(tasks)))
    results = ingest(engine, round_id, tmp_path / "d")
    stored = [r for r in results if not r.refused]
    assert [(r.annotator, len(r.result.created)) for r in stored] == [(name, len(people[name]))]
    assert stored[0].reader_rejections == 1  # the entry whose completed_by is 1.5 was refused by the reader
    refused = {r.annotator: r for r in results if r.refused}
    assert set(refused) == {"zed", "x" * 40 + "...", "[/]"}
    assert "'zed' (completed_by), who is no annotator of round" in (refused["zed"].refused or "")
    assert len(refused["x" * 40 + "..."].refused or "") < 400
    assert "got '[/]'" in (refused["[/]"].refused or "") and refused["[/]"].field == "completed_by"
    with db.session_scope(engine, write=False) as session:
        known = {p.name for p in list_people(session)}
    assert known == {"ann", "bob", "cy"}  # nobody was created from the file


def test_a_file_that_names_nobody_of_the_round_is_refused(engine: Engine, tmp_path: Path) -> None:
    round_id, _ = setup_round(engine, images=2)
    deliver(tmp_path / "d", "export", [1], {1: [(5, 5)]})
    (result,) = ingest(engine, round_id, tmp_path / "d")
    assert result.refused is not None and "its name 'export' is no annotator of round" in result.refused
    assert result.field == "file_name"


# --- item 6: CVAT segmentation-mask folders --------------------------------------------------------------


def segmask_export(folder: Path, boxes: dict[str, tuple[int, int]]) -> None:
    """A CVAT "Segmentation mask 1.1" export: a 12 x 12 box of class 'box' at each (x, y), per image stem."""
    (folder / "SegmentationClass").mkdir(parents=True)
    (folder / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\nbox:255,0,0::\n")
    for stem, (x, y) in boxes.items():
        pixels = np.zeros((H, W, 3), np.uint8)
        pixels[y : y + 12, x : x + 12] = (255, 0, 0)
        Image.fromarray(pixels).save(folder / "SegmentationClass" / f"{stem}.png")


def test_a_cvat_mask_export_folder_in_a_delivery_is_ingested(engine: Engine, tmp_path: Path) -> None:
    round_id, images = setup_round(engine, images=2)
    people = owed(engine, round_id, images)
    first, second = sorted(people)[:2]
    segmask_export(tmp_path / "d" / first, {f"img{i - 1}": (5, 5) for i in people[first]})
    segmask_export(tmp_path / "d" / second / "cvat-export", {f"img{i - 1}": (9, 9) for i in people[second]})
    results = ingest(engine, round_id, tmp_path / "d")
    assert [(r.annotator, r.format, len(r.result.created), r.refused) for r in results] == [
        (first, "cvat-segmask", len(people[first]), None),
        (second, "cvat-segmask", len(people[second]), None),
    ]
    assert all(r.result.segments == len(people[r.annotator or ""]) for r in results)


# --- item 7: rejected work waits -------------------------------------------------------------------------


def test_an_image_whose_annotations_were_rejected_waits_and_says_why(any_engine: Engine, tmp_path: Path) -> None:
    engine = any_engine
    round_id, images = setup_round(engine, images=1)
    (image,) = images
    first, second = owed(engine, round_id, images)
    deliver(tmp_path / "d1", first, [image], {image: [(5, 5)]})
    info = [ImageInfo(image, f"img{image - 1}.png", H, W)]
    unknown = [(image, Segment(k, 9, rect(5 + k, 5))) for k in range(20)]  # class 9 is not in the guideline
    coco.write_instances(tmp_path / "d1" / f"{second}.json", info, unknown, [*CATEGORIES, Category(9, "nine")])
    results = ingest(engine, round_id, tmp_path / "d1")
    assert [len(r.result.incomplete) for r in results] == [0, 1]
    with db.session_scope(engine, write=False) as session:
        assert rounds.pending_images(session, round_id=round_id) == []  # not scored as an (empty) answer
        status = rounds.round_status(session, round_id=round_id)
    assert (status.delivered, status.incomplete) == (1, 1)
    (waiting,) = status.rejections
    assert (waiting.image_id, waiting.file_name, waiting.annotator, waiting.count) == (image, "img0.png", second, 20)
    assert waiting.fields == ("category_id",) and len(waiting.messages) == 3
    assert waiting.messages[0].startswith("annotation 0, field 'category_id': annotations[0]: category id 9")
    assert status.to_dict()["rejections"][0]["count"] == 20
    deliver(tmp_path / "d2", second, [image], {image: [(5, 5)]})
    ingest(engine, round_id, tmp_path / "d2")
    with db.session_scope(engine, write=False) as session:
        assert rounds.pending_images(session, round_id=round_id) == [image]
        assert rounds.round_status(session, round_id=round_id).rejections == ()
