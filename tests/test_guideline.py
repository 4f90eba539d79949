"""qc.guideline: the YAML model, its defaults, its hash, and errors that name key, line and file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from qc.errors import GuidelineError
from qc.guideline import (
    ClassKind,
    ConsensusMethod,
    Guideline,
    Task,
    Thresholds,
    load_guideline,
    parse_guideline,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "guideline.yaml"

BASE = """\
version: "2.1"
task: instance
classes:
  - id: 1
    name: coin
    kind: thing
    colour: "#D4A017"
    min_area: 20
  - id: 2
    name: cell
    kind: thing
    colour: "#2ca02c"
  - id: 3
    name: background
    kind: stuff
    colour: "#7f7f7f"
thresholds:
  match_iou: 0.5
  overlap_allowance: 10
routing:
  k_initial: 2
  k_max: 3
consensus:
  method: majority
"""


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``fragment``."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return hits[occurrence - 1]


# --- the sample guideline ----------------------------------------------------------------------------------


def test_example_guideline_loads() -> None:
    guideline = load_guideline(EXAMPLE)
    assert guideline.version == "1.0"
    assert guideline.task is Task.INSTANCE
    assert [rule.name for rule in guideline.classes] == ["coin", "cell", "galaxy", "star", "background"]
    background = guideline.class_by_id(5)
    assert background is not None and background.kind is ClassKind.STUFF
    assert guideline.routing.adaptive and (guideline.routing.k_initial, guideline.routing.k_max) == (2, 3)
    assert guideline.text_hash == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert guideline.source == str(EXAMPLE)


# --- values and defaults -----------------------------------------------------------------------------------


def test_values_and_defaults() -> None:
    guideline = parse_guideline(BASE)
    coin = guideline.class_by_id(1)
    assert coin is not None
    assert (coin.name, coin.min_area, coin.colour) == ("coin", 20, "#d4a017")  # colour normalised to lower case
    assert (coin.max_parts, coin.allow_holes, coin.min_hole_area, coin.box_tolerance) == (None, True, 1, 0)
    assert coin.min_area_perimeter_ratio == 0.0
    assert guideline.class_by_id(4) is None
    assert guideline.class_ids() == (1, 2, 3)
    t = guideline.thresholds
    assert (t.match_iou, t.dilation_ratio, t.bound_th, t.void_allowance, t.overlap_allowance) == (
        0.5,
        0.02,
        0.008,
        0,
        10,
    )
    assert guideline.consensus.method is ConsensusMethod.MAJORITY and guideline.consensus.strict is False
    assert guideline.source == "<string>"


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        ("{}", (3, 3, 3)),  # nothing set: fixed overlap of 3
        ("{k: 2}", (2, 2, 2)),  # k is the default of both ends
        ("{k: 3, k_initial: 2}", (3, 2, 3)),  # k_max defaults to max(k, k_initial)
        ("{k_initial: 4}", (3, 4, 4)),
        ("{k_initial: 2, k_max: 5}", (3, 2, 5)),
    ],
)
def test_routing_defaults_follow_k(routing: str, expected: tuple[int, int, int]) -> None:
    guideline = parse_guideline(BASE.replace("routing:\n  k_initial: 2\n  k_max: 3\n", f"routing: {routing}\n"))
    assert (guideline.routing.k, guideline.routing.k_initial, guideline.routing.k_max) == expected


@pytest.mark.parametrize(
    ("allowance", "smaller_area", "limit"),
    [
        (0, 100, 0.0),  # integer: pixels
        (7, 100, 7.0),
        (0.0, 100, 0.0),  # decimal: fraction of the smaller segment
        (0.25, 40, 10.0),
        (1.0, 40, 40.0),
    ],
)
def test_overlap_limit_pixels_or_fraction(allowance: float, smaller_area: int, limit: float) -> None:
    assert Thresholds(overlap_allowance=allowance).overlap_limit(smaller_area) == limit


# --- hash and text -----------------------------------------------------------------------------------------


def test_text_hash_is_sha256_of_the_exact_text() -> None:
    assert parse_guideline(BASE).text_hash == hashlib.sha256(BASE.encode("utf-8")).hexdigest()
    assert parse_guideline(BASE).text_hash == parse_guideline(BASE, source="other").text_hash


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text + "# a comment\n",  # even a comment is a new text
        lambda text: text.replace("min_area: 20", "min_area: 21"),
        lambda text: text.replace("match_iou: 0.5", "match_iou: 0.50"),  # same value, other text
    ],
)
def test_any_edit_changes_the_hash(edit: Callable[[str], str]) -> None:
    edited = parse_guideline(edit(BASE))
    assert edited.version == "2.1"
    assert edited.text_hash != parse_guideline(BASE).text_hash


def test_model_built_in_python_round_trips_through_its_text() -> None:
    guideline = parse_guideline(BASE)
    built = Guideline.model_validate(guideline.model_dump())
    assert built.model_dump() == guideline.model_dump()
    assert built.source == "<model>"
    assert parse_guideline(built.text).model_dump() == guideline.model_dump()
    assert built.text_hash == hashlib.sha256(built.text.encode()).hexdigest() != guideline.text_hash


# --- malformed files ---------------------------------------------------------------------------------------

# (text, key path the error names, fragment whose line the error names, phrase in the message)
MALFORMED = [
    pytest.param(
        BASE.replace("min_area: 20", "min_aera: 20"),
        "classes[0].min_aera",
        "min_aera",
        "did you mean 'min_area'",
        id="misspelled-class-key",
    ),
    pytest.param(
        BASE.replace("thresholds:", "treshold:"),
        "treshold",
        "treshold",
        "did you mean 'thresholds'",
        id="misspelled-top-key",
    ),
    pytest.param(
        BASE.replace('    colour: "#2ca02c"', '    color: "#2ca02c"'),
        "classes[1].color",
        "color:",
        "did you mean 'colour'",
        id="american-colour",
    ),
    pytest.param(
        BASE.replace("min_area: 20", "min_area: big"),
        "classes[0].min_area",
        "min_area",
        "valid integer",
        id="wrong-type",
    ),
    pytest.param(
        BASE.replace("min_area: 20", "min_area: -5"),
        "classes[0].min_area",
        "min_area",
        "greater than or equal to 0; got -5",
        id="negative-area",
    ),
    pytest.param(
        BASE.replace("match_iou: 0.5", "match_iou: 1.5"),
        "thresholds.match_iou",
        "match_iou",
        "less than or equal to 1",
        id="ratio-above-one",
    ),
    pytest.param(
        BASE.replace("k_initial: 2", "k_initial: 4"),
        "routing.k_initial",
        "k_initial",
        "k_initial (4) must be at most k_max (3)",
        id="k-initial-above-k-max",
    ),
    pytest.param(
        BASE.replace("task: instance", "task: detection"),
        "task",
        "task:",
        "'semantic', 'instance' or 'panoptic'",
        id="unknown-task",
    ),
    pytest.param(
        BASE.replace("kind: stuff", "kind: blob"),
        "classes[2].kind",
        "kind: blob",
        "'thing' or 'stuff'",
        id="unknown-kind",
    ),
    pytest.param(
        BASE.replace("method: majority", "method: mean"),
        "consensus.method",
        "method",
        "'majority', 'staple', 'weighted' or 'auto'",
        id="unknown-consensus",
    ),
    pytest.param(
        BASE.replace("method: majority", "method: wieghted"),
        "consensus.method",
        "method",
        "got 'wieghted': did you mean 'weighted'?",
        id="misspelt-consensus",
    ),
    pytest.param(
        BASE.replace('"#2ca02c"', "green"),
        "classes[1].colour",
        "green",
        "'#rrggbb'",
        id="bad-colour",
    ),
    pytest.param(
        BASE.replace("id: 3", "id: 1  # again"),
        "classes[2].id",
        "# again",
        "repeats classes[0].id",
        id="duplicate-id",
    ),
    pytest.param(
        BASE.replace("name: cell", "name: Coin"),
        "classes[1].name",
        "name: Coin",
        "repeats classes[0].name",
        id="duplicate-name-any-case",
    ),
    pytest.param(
        BASE.replace('version: "2.1"', "version: 2.1"),
        "version",
        "version",
        'quote it, e.g. version: "2.1"',
        id="unquoted-version",
    ),
    pytest.param(
        BASE.replace("task: instance\n", ""),
        "task",
        "version",  # a missing key is placed at the mapping that lacks it
        "required key 'task' is missing",
        id="missing-task",
    ),
    pytest.param(
        BASE.replace("overlap_allowance: 10", "overlap_allowance: 2.5"),
        "thresholds.overlap_allowance",
        "overlap_allowance",
        "Write pixels as an integer",
        id="overlap-decimal-above-one",
    ),
    pytest.param(
        BASE.replace("overlap_allowance: 10", "overlap_allowance: 5%"),
        "thresholds.overlap_allowance",
        "overlap_allowance",
        "got '5%'",
        id="overlap-percent-string",
    ),
    pytest.param(
        BASE.replace("  match_iou: 0.5\n", "  match_iou: 0.5\n  match_iou: 0.6\n"),
        "thresholds.match_iou",
        "match_iou: 0.6",
        "appears twice",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        BASE + "gold: {pause_after_failure: 3}\n",
        "gold.pause_after_failure",
        "pause_after_failure",
        "did you mean 'pause_after_failures'",
        id="misspelt-gold-pause",
    ),
    pytest.param(
        BASE + "gold: {pause_after_failures: 0}\n",
        "gold.pause_after_failures",
        "pause_after_failures",
        "greater than or equal to 1",
        id="gold-pause-zero",
    ),
    pytest.param(
        BASE.split("classes:")[0] + "classes: []\n",
        "classes",
        "classes",
        "at least one class",
        id="no-classes",
    ),
]


@pytest.mark.parametrize(("text", "key", "fragment", "phrase"), MALFORMED)
def test_malformed_guideline_names_key_and_line(text: str, key: str, fragment: str, phrase: str) -> None:
    with pytest.raises(GuidelineError) as caught:
        parse_guideline(text, source="project/guideline.yaml")
    error = caught.value
    assert error.field == key
    assert error.path == "project/guideline.yaml"
    assert f"line {line_of(text, fragment)}, {key}:" in error.message
    assert phrase in error.message
    assert "project/guideline.yaml" in str(error)


def test_several_problems_are_all_listed_in_line_order() -> None:
    text = BASE.replace("min_area: 20", "min_area: -1").replace("match_iou: 0.5", "match_iou: 2")
    with pytest.raises(GuidelineError) as caught:
        parse_guideline(text)
    message = caught.value.message
    assert message.startswith("2 problems:")
    assert message.index("classes[0].min_area") < message.index("thresholds.match_iou")
    assert f"line {line_of(text, 'match_iou')}, thresholds.match_iou" in message
    assert caught.value.field == "classes[0].min_area"


@pytest.mark.parametrize(
    ("text", "phrase", "line"),
    [
        ("", "empty", None),  # empty file first
        ("# only a comment\n", "empty", None),
        ("- a\n- b\n", "expected a mapping", 1),
        ("version: '1'\ntask: [instance\n", "not valid YAML", 3),
        ("version: '1'\n  task: instance\n", "not valid YAML", 2),
    ],
)
def test_not_a_guideline_at_all(text: str, phrase: str, line: int | None) -> None:
    with pytest.raises(GuidelineError) as caught:
        parse_guideline(text, source="g.yaml")
    assert phrase in caught.value.message
    assert caught.value.path == "g.yaml"
    if line is not None:
        assert caught.value.message.startswith(f"line {line}:")


def test_load_guideline_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "guideline.yaml"
    path.write_text(BASE.replace("kind: thing", "kind: thingy", 1), encoding="utf-8")
    with pytest.raises(GuidelineError) as caught:
        load_guideline(path)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"file {path}, field 'classes[0].kind': line 6, classes[0].kind:")


def test_load_guideline_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GuidelineError) as caught:
        load_guideline(tmp_path / "absent.yaml")
    assert "cannot read" in caught.value.message
    assert caught.value.path == str(tmp_path / "absent.yaml")


def test_guideline_is_frozen() -> None:
    guideline = parse_guideline(BASE)
    with pytest.raises(ValidationError, match="frozen"):
        guideline.version = "3"


@pytest.mark.parametrize("method", ["weighted", "auto"])
def test_reliability_consensus_methods_are_accepted(method: str) -> None:
    guideline = parse_guideline(BASE.replace("method: majority", f"method: {method}"))
    assert guideline.consensus.method is ConsensusMethod(method)


def test_gold_pause_defaults_to_never_and_reads_a_count() -> None:
    assert parse_guideline(BASE).gold.pause_after_failures is None
    assert parse_guideline(BASE + "gold: {pause_after_failures: 3}\n").gold.pause_after_failures == 3
