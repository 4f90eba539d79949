"""The Label Studio connector against a real Label Studio server (``make test-labelstudio``).

The loop of issue 17: connect (a wrong token is one error line naming the URL), schedule a
round for two annotators (one blind Label Studio project each, labelled with the guideline's
classes and colours, the images served from local files), both annotate through Label
Studio's API (one badly, one with brushes, one with polygons; a task skipped, a task deleted),
sync (a second sync stores nothing; an edited annotation is a new version; lead times kept and
shown in the report), score, close, a reviewer sends one image back, the rework task appears
with the pre-annotation and the note, the annotator fixes it, sync, the rework round scores it.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlmodel import select
from typer.testing import CliRunner

from qc.cli import app
from qc.connect import LabelStudio, fingerprint
from qc.formats.labelstudio import FEEDBACK_FIELD, encode_brush
from qc.store import _models_connect as c
from qc.store import db
from qc.store import models as m
from tests.support.labelstudio import LabelStudioServer, annotation

pytestmark = pytest.mark.labelstudio

runner = CliRunner()
H, W = 40, 50
GUIDELINE = """
version: "1"
name: {name}
task: instance
classes:
  - {{id: 1, name: box, kind: thing, colour: "#ff0000"}}
  - {{id: 2, name: "disc & ring", kind: thing, colour: "#00ff7f"}}
thresholds: {{accept_iou: 0.8, accept_boundary_iou: 0.5}}
routing: {{k: 2, k_initial: 2, k_max: 2}}
"""


def run(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


@dataclass
class World:
    """A qc database with a project of 3 images under Label Studio's document root, connected to the server."""

    url: str
    project: str
    server: LabelStudioServer
    client: LabelStudio
    folder: Path

    def session(self, *, write: bool = False) -> Any:
        return db.session_for(self.url, write=write)


@pytest.fixture
def world(labelstudio: LabelStudioServer, prefect_harness: None, tmp_path: Path) -> Iterator[World]:
    name = f"shapes-{uuid.uuid4().hex[:8]}"  # the document root may outlive the session (a server that runs already)
    images = labelstudio.document_root / name
    images.mkdir()
    for n in range(3):
        Image.fromarray(np.full((H, W), 40 * n, np.uint8)).save(images / f"im{n}.png")
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    (tmp_path / "g.yaml").write_text(GUIDELINE.format(name=name))
    run("init", "--guideline", str(tmp_path / "g.yaml"), "--db", url)
    run("images", "add", str(images), "--project", name, "--db", url)
    env = {"QC_LABELSTUDIO_TOKEN": labelstudio.token}
    out = run(
        "connect", "labelstudio", "--project", name, "--url", labelstudio.url, "--db", url,
        "--document-root", str(labelstudio.document_root), env=env,
    )  # fmt: skip
    assert labelstudio.token not in out
    with LabelStudio(labelstudio.url, labelstudio.token) as client:
        yield World(url, name, labelstudio, client, tmp_path)


# --- annotators, through Label Studio's API ------------------------------------------------------------------


def box_mask(x: int, y: int, w: int = 12, h: int = 10) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[y : y + h, x : x + w] = 255
    return mask


def brush(mask: np.ndarray, label: str, region: str) -> dict[str, Any]:
    value = {"format": "rle", "rle": encode_brush(mask), "brushlabels": [label]}
    return _region("label", "brushlabels", value, region)


def polygon(x: int, y: int, label: str, region: str, w: int = 12, h: int = 10) -> dict[str, Any]:
    corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    value = {"points": [[100 * px / W, 100 * py / H] for px, py in corners], "polygonlabels": [label]}
    return _region("polygon", "polygonlabels", value, region)


def _region(from_name: str, kind: str, value: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "id": region,
        "from_name": from_name,
        "to_name": "image",
        "type": kind,
        "value": value,
        "original_width": W,
        "original_height": H,
        "image_rotation": 0,
    }


def project_tasks(world: World, project: int) -> dict[str, dict[str, Any]]:
    """The tasks of a Label Studio project by qc file name."""
    return {t["data"]["qc_file_name"]: t for t in world.client.export_tasks(project)}


def rows(world: World, model: type[Any]) -> list[Any]:
    with world.session() as session:
        return list(session.exec(select(model)).all())


# --- connect ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "0123456789abcdef0123456789abcdef01234567",  # a legacy token Label Studio does not know
        "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl",  # a forged personal access token
    ],
)
def test_a_wrong_token_is_one_error_line_naming_the_url_and_the_status(
    labelstudio: LabelStudioServer, tmp_path: Path, token: str
) -> None:
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    (tmp_path / "g.yaml").write_text(GUIDELINE.format(name="p"))
    run("init", "--guideline", str(tmp_path / "g.yaml"), "--db", url)
    args = ["connect", "labelstudio", "--project", "p", "--url", labelstudio.url, "--db", url]
    out = run(*args, code=1, env={"QC_LABELSTUDIO_TOKEN": token})
    (line,) = out.strip().splitlines()
    assert line.startswith("error: ") and f"Label Studio at {labelstudio.url}" in line and "HTTP 401" in line
    assert token not in out
    with db.session_for(url, write=False) as session:
        assert session.exec(select(c.LabelStudioConnection)).all() == []
    assert not list(tmp_path.glob("*.token"))


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qc.db'}"
    (tmp_path / "g.yaml").write_text(GUIDELINE.format(name="p"))
    run("init", "--guideline", str(tmp_path / "g.yaml"), "--db", url)
    args = ["connect", "labelstudio", "--project", "p", "--url", "http://127.0.0.1:9", "--db", url]
    out = run(*args, code=1, env={"QC_LABELSTUDIO_TOKEN": "abc"})
    assert "cannot reach Label Studio at http://127.0.0.1:9" in out and len(out.strip().splitlines()) == 1


def test_connect_keeps_the_url_and_a_fingerprint_in_the_database_and_the_token_in_a_0600_file(world: World) -> None:
    (connection,) = rows(world, c.LabelStudioConnection)
    token = world.server.token
    assert (connection.url, connection.token_fingerprint) == (world.server.url, fingerprint(token))
    assert token.encode() not in (world.folder / "qc.db").read_bytes()
    (kept,) = world.folder.glob("qc.db.labelstudio-*.token")
    assert kept.read_text() == token and stat.S_IMODE(kept.stat().st_mode) == 0o600


# --- schedule ------------------------------------------------------------------------------------------------


def schedule(world: World) -> tuple[int, dict[str, int]]:
    """Schedule round r1 for ann and bob (k = 2: both get every image); the round id and each one's project."""
    out = run("round", "schedule", "-p", world.project, "-a", "ann,bob", "--name", "r1", "--db", world.url)
    assert "6 assignments over 3 images" in out
    projects = {p.annotator_id: p.remote_id for p in rows(world, c.LabelStudioProject)}
    with world.session() as session:
        people = {p.name: p.id for p in session.exec(select(m.Person)).all()}
        round_id = session.exec(select(m.Round.id)).one()
    return round_id, {name: projects[people[name]] for name in ("ann", "bob")}


def test_schedule_gives_each_annotator_a_blind_project_with_the_guideline_and_their_images(world: World) -> None:
    _, projects = schedule(world)
    assert projects["ann"] != projects["bob"]
    for name, project in projects.items():
        details = world.client.call("GET", f"/api/projects/{project}")
        assert details["title"].endswith(f"/ {name}")
        config = details["label_config"]
        for tag in ("BrushLabels", "PolygonLabels"):
            assert f'<{tag} name="' in config
        assert 'value="box" background="#ff0000"' in config
        assert 'value="disc &amp; ring" background="#00ff7f"' in config
        tasks = project_tasks(world, project)
        assert sorted(tasks) == ["im0.png", "im1.png", "im2.png"]
        image = world.client.fetch(tasks["im1.png"]["data"]["image"])  # served from local files
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert len(rows(world, c.LabelStudioTask)) == 6
    out = run("round", "push", "1", "--db", world.url)  # pushing again creates nothing
    assert "every assignment has its Label Studio task already" in out
    assert len(rows(world, c.LabelStudioTask)) == 6
    with world.session(write=True) as session:  # as if a push had failed after the import, before recording
        for task in session.exec(select(c.LabelStudioTask)).all():
            session.delete(task)
    out = run("round", "push", "1", "--db", world.url)
    assert "Label Studio: ann: 3 tasks in project" in out  # recorded again, not imported twice
    assert len(rows(world, c.LabelStudioTask)) == 6
    assert [len(world.client.export_tasks(p)) for p in projects.values()] == [3, 3]
    world.client.call("DELETE", f"/api/projects/{projects['bob']}/")  # a whole project deleted: its tasks too
    out = run("round", "sync", "1", "--db", world.url)
    assert "0 annotated tasks read, 0 new submissions, 3 not annotated yet, 0 skipped, 3 deleted" in out


# --- sync, score, close, rework ------------------------------------------------------------------------------


def test_the_whole_loop_sync_score_rework(world: World) -> None:
    round_id, projects = schedule(world)
    ann, bob = project_tasks(world, projects["ann"]), project_tasks(world, projects["bob"])
    # ann draws with brushes, bob with polygons; bob is sloppy on im1 and skips im2; ann's im2 is deleted
    first = annotation(world.client, ann["im0.png"]["id"], [brush(box_mask(8, 5), "box", "a0")], lead_time=30)
    annotation(world.client, ann["im1.png"]["id"], [brush(box_mask(20, 20), "disc & ring", "a1")], lead_time=90)
    annotation(world.client, bob["im0.png"]["id"], [polygon(5, 5, "box", "b0")], lead_time=60)
    annotation(world.client, bob["im1.png"]["id"], [polygon(30, 2, "disc & ring", "b1")], lead_time=120)
    world.client.call(
        "POST", f"/api/tasks/{bob['im2.png']['id']}/annotations/", json={"result": [], "was_cancelled": True}
    )
    world.client.call("DELETE", f"/api/tasks/{ann['im2.png']['id']}/")

    out = run("round", "sync", str(round_id), "--db", world.url)
    assert "4 annotated tasks read, 4 new submissions, 0 not annotated yet, 1 skipped, 1 deleted" in out
    assert "skipped: bob: im2.png" in out and "deleted: ann: im2.png" in out
    assert "4 new submissions" not in run("round", "sync", str(round_id), "--db", world.url).replace(
        "0 new submissions", ""
    )  # a second sync stores nothing
    assert len(rows(world, m.Submission)) == 4
    times = {(a.assignment_id, a.lead_time) for a in rows(world, c.LabelStudioAnnotation)}
    assert sorted(t for _, t in times) == [30.0, 60.0, 90.0, 120.0]

    # ann corrects im0 in Label Studio: the next sync stores a second version of that submission only
    edited = [brush(box_mask(5, 5), "box", "a0")]
    world.client.call("PATCH", f"/api/annotations/{first['id']}/", json={"result": edited, "lead_time": 45})
    assert "1 new submissions" in run("round", "sync", str(round_id), "--db", world.url)
    versions = sorted(s.version for s in rows(world, m.Submission))
    assert versions == [1, 1, 1, 1, 2]
    assert 45.0 in {a.lead_time for a in rows(world, c.LabelStudioAnnotation)}

    run("round", "score", str(round_id), "--workers", "1", "--db", world.url)
    report = world.folder / "report.html"
    run("report", "--round", str(round_id), "--out", str(report), "--db", world.url)
    page = report.read_text()
    assert '<h2 id="time">Time and cost</h2>' in page
    # minutes: ann 45 s + 90 s, bob 60 s + 120 s; 2 images timed, im0 accepted (im1 disagrees: review)
    cells = "".join(f'<td class="n">{v}</td>' for v in ("2", "2.250", "1.125", "–"))
    assert f"<td>ann</td>{cells}" in page
    cells = "".join(f'<td class="n">{v}</td>' for v in ("2", "5.250", "2.625", "5.250"))
    assert f"<td>all</td>{cells}" in page

    close = run("round", "close", str(round_id), "--db", world.url)
    assert "in review" in close
    rework_id = send_back(world, round_id, "im1.png", note="the ring is at the bottom right")
    close = run("round", "close", str(round_id), "--db", world.url)  # what the close-round trigger runs
    assert f"rework round {rework_id} pushed to Label Studio" in close
    # the image goes back to both its annotators (qc reworks whole images), each in their own project
    bob_tasks, ann_tasks = world.client.export_tasks(projects["bob"]), world.client.export_tasks(projects["ann"])
    assert (len(bob_tasks), len(ann_tasks)) == (4, 3)  # 3 + 1 rework; ann: 3 - 1 deleted + 1 rework
    bob_rework = next(t for t in bob_tasks if t["id"] not in {x["id"] for x in bob.values()})
    ann_rework = next(t for t in ann_tasks if t["id"] not in {x["id"] for x in ann.values()})
    assert bob_rework["data"]["qc_file_name"] == ann_rework["data"]["qc_file_name"] == "im1.png"
    assert bob_rework["data"][FEEDBACK_FIELD] == "the ring is at the bottom right"  # the note is bob's only
    assert ann_rework["data"][FEEDBACK_FIELD] == "rework requested"
    (prediction,) = world.client.call("GET", f"/api/tasks/{bob_rework['id']}/")["predictions"]
    kinds = sorted(r["type"] for r in prediction["result"])
    assert kinds == ["brushlabels", "textarea"]  # bob's earlier polygon as a brush, and the note
    assert prediction["result"][0]["value"]["brushlabels"] == ["disc & ring"]

    annotation(world.client, bob_rework["id"], [polygon(20, 20, "disc & ring", "b1-fixed")], lead_time=40)
    out = run("round", "sync", str(rework_id), "--db", world.url)
    assert "1 annotated tasks read, 1 new submissions, 1 not annotated yet" in out
    annotation(world.client, ann_rework["id"], [brush(box_mask(20, 20), "disc & ring", "a1")], lead_time=20)
    out = run("round", "sync", str(rework_id), "--score", "--db", world.url)  # as the scheduled deployment does
    assert "2 annotated tasks read, 1 new submissions, 0 not annotated yet" in out and "scored 1 images" in out
    assert "accepted 1" in run("round", "status", str(rework_id), "--db", world.url)


def send_back(world: World, round_id: int, file_name: str, *, note: str) -> int:
    """A reviewer sends ``file_name`` back to bob (the note as bob's feedback); the rework round id."""
    from qc import review
    from qc.store.api import add_person

    with world.session(write=True) as session:
        rita = add_person(session, name="rita", roles=["reviewer"])
        bob = session.exec(select(m.Person).where(m.Person.name == "bob")).one()
        image = session.exec(select(m.Image).where(m.Image.file_name == file_name)).one()
        while (claim := review.claim(session, reviewer_id=int(rita.id or 0))) is not None:
            if claim.image_id == image.id:
                break
        assert claim is not None
        result = review.decide(
            session, claim.item_id, reviewer_id=int(rita.id or 0), version=claim.version, kind="rework",
            feedback={int(bob.id or 0): note}, note="",
        )  # fmt: skip
    assert result.rework_round_id is not None
    os.environ.pop("QC_LABELSTUDIO_TOKEN", None)
    return int(result.rework_round_id)
