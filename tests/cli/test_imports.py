"""Read-only commands load only what they need: neither Prefect, scikit-image nor the web stack (issue 15).

Each command runs in a fresh interpreter (``python -c``) that then prints the top-level packages
it loaded, so a module imported at the top of any ``qc.cli`` module, or by a package ``__init__``
on the way to the command, shows up here. The commands are read-only: each runs once per file, on
one round (:func:`run` remembers its answer), and several tests look at what it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from qc.store import db
from tests.support.databases import upgraded
from tests.support.rounds import deliver, setup_round

HEAVY = {"prefect", "flows", "skimage", "fastapi", "starlette", "uvicorn"}
RUN = """
import json, sys
from qc.cli import app
try:
    app(sys.argv[1:], prog_name="qc")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted({name.split(".")[0] for name in sys.modules})}))
"""


_ran: dict[tuple[str, ...], tuple[int, str, set[str]]] = {}


def run(*args: str, cwd: Path) -> tuple[int, str, set[str]]:
    """Run ``qc ARGS`` in a fresh interpreter: exit code, what it printed, the top-level packages it loaded.

    Once per ``(cwd, ARGS)``: the commands here change nothing another test looks at.
    """
    key = (str(cwd), *args)
    if key not in _ran:
        command = [sys.executable, "-c", RUN, *args]
        done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)
        *printed, last = done.stdout.strip().splitlines()
        result = json.loads(last)
        _ran[key] = result["code"], "\n".join(printed), set(result["loaded"])
    return _ran[key]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("imports")


@pytest.fixture(scope="module")
def url(folder: Path) -> str:
    """A round ``r1`` over 2 images, bob's delivery ingested."""
    from qc import rounds

    engine: Engine = upgraded(db.make_engine(f"sqlite:///{folder / 'qc.db'}"))
    round_id, images = setup_round(engine, images=2)
    deliver(folder / "delivery", "bob", images, {i: [(5, 5)] for i in images})
    with db.session_scope(engine) as session:
        rounds.ingest_folder(session, round_id=round_id, folder=folder / "delivery")
    engine.dispose()
    return f"sqlite:///{folder / 'qc.db'}"


def test_help_loads_neither_prefect_nor_the_store(folder: Path) -> None:
    code, printed, loaded = run("--help", cwd=folder)
    assert code == 0 and "round" in printed
    assert loaded & (HEAVY | {"sqlalchemy", "sqlmodel", "numpy"}) == set()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["round", "--help"], "status"),
        (["round", "status", "1"], "round r1 (open): 2 images"),
        (["db", "current"], "up to date"),
        (["export", "--round", "1", "-o", "out.json"], "0 accepted images written"),
        (["export", "--round", "1", "--annotator", "bob", "-o", "bob.json"], "written to bob.json"),
    ],
)
def test_read_only_commands_load_neither_prefect_skimage_nor_the_web(
    url: str, folder: Path, args: list[str], expected: str
) -> None:
    code, printed, loaded = run(*args, cwd=folder) if args[-1] == "--help" else run(*args, "--db", url, cwd=folder)
    assert code in (0, None), printed
    assert expected in printed
    assert loaded & HEAVY == set()


def test_the_probe_sees_what_a_command_imports_inside_its_body(url: str, folder: Path) -> None:
    """Modules a command imports when it runs are counted (so an empty result above means something)."""
    _, _, at_help = run("--help", cwd=folder)
    code, _, loaded = run("round", "status", "1", "--db", url, cwd=folder)
    assert code in (0, None)
    assert {"sqlmodel", "sqlalchemy"} <= loaded - at_help


def test_status_checks_the_schema_without_alembic_or_the_readers(url: str, folder: Path) -> None:
    """A current schema is recognised from one query and the migration files' text (not Alembic, ~0.15 s)."""
    code, printed, loaded = run("round", "status", "1", "--db", url, cwd=folder)
    assert code in (0, None) and "round r1 (open): 2 images" in printed
    assert loaded & {"alembic", "PIL"} == set()


def test_status_reads_the_store_without_numpy(url: str, folder: Path) -> None:
    """The store's readers and the core's enums need no masks: numpy and pycocotools load with the first Segment."""
    code, printed, loaded = run("round", "status", "1", "--db", url, cwd=folder)
    assert code in (0, None) and "round r1 (open): 2 images" in printed
    assert loaded & {"numpy", "pycocotools", "scipy"} == set()


WAITING = """
import json, sys
from qc import rounds
from qc.store import db
with db.session_for(sys.argv[1]) as session:
    pending = rounds.pending_images(session, round_id=1)
    chosen = rounds.assign_followups(session, round_id=1)
print(json.dumps({"pending": pending, "chosen": chosen, "loaded": sorted(sys.modules)}))
"""


def test_what_waits_in_a_round_is_listed_without_the_scoring_stack(url: str, folder: Path) -> None:
    """What a no-op ``qc round score`` runs (pending images, follow-ups) loads neither agreement, matching nor SciPy."""
    command = [sys.executable, "-c", WAITING, url]
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["pending"] == [] and result["chosen"] == {}  # bob delivered, the round's other annotator did not
    loaded = set(result["loaded"])
    assert {"qc.rounds._followups", "qc.store.results"} <= loaded
    assert loaded & {"scipy", "skimage", "qc.agreement", "qc.match", "qc.rounds._scoring"} == set()


def test_ingest_and_score_flows_do_not_load_the_label_studio_client(folder: Path) -> None:
    """``flows.round`` imports the push tasks inside the flows that push (schedule, close), not at the top."""
    probe = "import json, sys; import flows.round; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=folder, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "prefect" in loaded and "flows.round" in loaded
    assert loaded & {"flows.connect", "qc.connect", "qc.formats"} == set()
