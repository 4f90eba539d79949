"""``qc review next`` lists the disputes; ``qc review decide --dispute N=...`` resolves them (forms and end to end)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from qc.cli import app
from qc.cli.review import parse_disputes
from qc.errors import InvalidOptionError
from qc.review import DisputeVersion, DisputeView, Resolution
from qc.store import db
from qc.store.segments import consensus_provenance
from tests.support.disputes import disputed_round
from tests.support.rounds import rect

CLASSES = {1: "box", 2: "disc"}


def _dispute(id: int, index: int, drawn: tuple[str, ...]) -> DisputeView:
    versions = tuple(
        DisputeVersion(n, name, None, None, "box", rect(2, 2) if name in drawn else None, None)
        for n, name in enumerate(("ana", "bo", "cy"), start=1)
    )
    return DisputeView(id, index, "unsupported", "why", "box", (2, 2, 12, 12), versions, rect(2, 2), (), None)


DISPUTES = [_dispute(30 + i, i, ("ana", "bo")) for i in range(1, 7)]


def test_every_dispute_form_parses_to_its_resolution_keyed_by_dispute_id() -> None:
    values = ["1=take:ana", "2=fused", "3=remove", "4=class:disc", "5=rework:trace the wheel", "6=escalate:a half car?"]
    assert parse_disputes(values, DISPUTES, CLASSES) == {
        31: Resolution("take", person_id=1),
        32: Resolution("fused"),
        33: Resolution("remove"),
        34: Resolution("set_class", category_id=2),
        35: Resolution("rework", note="trace the wheel"),
        36: Resolution("escalate", note="a half car?"),
    }
    assert parse_disputes(["4=class:1"], DISPUTES, CLASSES) == {34: Resolution("set_class", category_id=1)}


def test_rework_names_one_annotator_only_when_the_text_before_the_colon_is_one() -> None:
    def parsed(value: str) -> Resolution:
        return parse_disputes([value], DISPUTES, CLASSES)[31]

    assert parsed("1=rework:bo:trace the wheel") == Resolution("rework", person_id=2, note="trace the wheel")
    assert parsed("1=rework:cy:you missed it") == Resolution("rework", person_id=3, note="you missed it")
    assert parsed("1=rework:wheel: the left one") == Resolution("rework", note="wheel: the left one")  # not a name
    assert parsed("1=rework::ana: see her edge") == Resolution("rework", note="ana: see her edge")  # everyone


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "N=take:ANNOTATOR"),  # empty
        ("fused", "N one of \\[1, 2, 3, 4, 5, 6\\]"),  # no number
        ("9=fused", "N one of"),  # no such dispute
        ("1=keep", "N=fused, N=class:CLASS"),  # no such kind
        ("1=take", "N=take:ANNOTATOR"),  # take without whom
        ("1=take:cy", "ANNOTATOR one of \\['ana', 'bo'\\]"),  # cy did not draw it
        ("1=class:car", "CLASS one of \\['box', 'disc'\\]"),
        ("1=rework", "N=rework:NOTE"),  # a note is needed
        ("1=rework:ana:", "rework:ANNOTATOR:NOTE"),  # a note is needed after the name too
        ("1=fused:x", "N=fused"),
    ],
)
def test_a_bad_dispute_form_names_the_option_and_the_valid_forms(value: str, expected: str) -> None:
    with pytest.raises(InvalidOptionError, match="--dispute") as raised:
        parse_disputes([value], DISPUTES, CLASSES)
    assert re.search(expected, str(raised.value))


def test_one_dispute_given_twice_is_refused_not_the_last_one_taken() -> None:
    with pytest.raises(InvalidOptionError, match="dispute 1 is given more than once; got '1=remove'"):
        parse_disputes(["1=fused", "2=fused", "1=remove"], DISPUTES, CLASSES)


def test_next_lists_the_disputes_and_decide_resolves_them(sqlite_engine: Engine, tmp_path: Path) -> None:
    built = disputed_round(sqlite_engine, tmp_path / "d")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    shown = runner.invoke(app, ["review", "next", "--as", "rita", "--db", url], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "disputes" in shown.output and "class_conflict" in shown.output and "not: cy" in shown.output
    assert "ann-cy 0.50" in shown.output and "--dispute 1=fused" in shown.output
    base = ["review", "decide", str(built.item_id), "--as", "rita", "--db", url]
    bad = runner.invoke(app, [*base, "--dispute", "1=take:cy", "--dispute", "2=fused", "--dispute", "3=remove"])
    assert bad.exit_code == 1 and "--dispute" in bad.output and "'ann', 'bob'" in bad.output
    mixed = runner.invoke(app, [*base, "--dispute", "1=fused", "--accept-consensus"])
    assert mixed.exit_code == 2
    done = runner.invoke(app, [*base, "--dispute", "1=take:ann", "--dispute", "2=fused", "--dispute", "3=class:disc"])
    assert done.exit_code == 0, done.output
    assert "resolve stored" in done.output
    with db.session_scope(sqlite_engine, write=False) as session:
        label = consensus_provenance(session, round_id=built.round_id, image_id=built.image_id)
    assert [(s.source, s.segment.category_id) for s in label] == [
        ("consensus", 1),
        ("annotator", 1),
        ("fused", 1),
        ("class_set", 2),
    ]
