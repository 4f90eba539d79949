"""Guideline YAML bombs (issue 13 item 16): one-line GuidelineError, read in a child with CPU and memory ceilings.

Before: nested aliases cost x9 per level (> 120 s at 9 levels) and 5,000-deep nesting gave a
1,100-line traceback. The child is limited to 20 CPU seconds and 1.5 GB, so the old
behaviour fails the test (killed) instead of stalling the run; nothing here is timed.
"""

from __future__ import annotations

import json

import pytest

from qc.guideline import parse_guideline
from tests.formats._isolated import run_child

HEAD = 'version: "1"\ntask: instance\nclasses:\n  - {id: 1, name: cat, kind: thing, colour: "#ff0000"}\n'


def parse_in_child(text: str) -> dict[str, object]:
    child = run_child(
        f"""
        import json
        from qc.errors import GuidelineError
        from qc.guideline import parse_guideline
        try:
            parse_guideline({text!r})
            print(json.dumps({{"error": None}}))
        except GuidelineError as exc:
            print(json.dumps({{"error": str(exc), "field": exc.field}}))
        """,
        cpu_seconds=20,
    )
    answer = child.json()
    assert isinstance(answer, dict)
    return answer


@pytest.mark.parametrize("levels", [9, 30])
def test_nested_aliases_are_refused_in_one_line(levels: int) -> None:
    """Billion laughs: each anchor lists nine aliases of the one before; the last sits under ``description``."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    text = HEAD + "\n".join(lines) + f"\ndescription: *a{levels - 1}\n"
    answer = parse_in_child(text)
    message = str(answer["error"])
    assert "once its aliases (*name) are resolved" in message and "50,000" in message
    assert len(message.splitlines()) == 1


def test_5000_deep_nesting_is_refused_in_one_line() -> None:
    answer = parse_in_child(HEAD.replace("classes:", "routing: " + "[" * 5000 + "]" * 5000 + "\nclasses:"))
    message = str(answer["error"])
    assert "nests more than 32 lists and mappings deep" in message and "line 3" in message
    assert len(message.splitlines()) == 1


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    answer = parse_in_child(HEAD + "description: &loop [*loop]\n")
    assert "a cycle" in str(answer["error"])


def test_a_few_anchors_and_merge_keys_still_work() -> None:
    """A guideline may share class defaults with an anchor and ``<<:`` (well within the budget)."""
    text = """\
version: "1"
task: instance
classes:
  - &thing {id: 1, name: cat, kind: thing, colour: "#ff0000", min_area: 9}
  - {<<: *thing, id: 2, name: dog, colour: "#00ff00"}
"""
    guideline = parse_guideline(text)
    assert [(c.name, c.min_area) for c in guideline.classes] == [("cat", 9), ("dog", 9)]
    assert json.loads(json.dumps(guideline.model_dump(mode="json")))["classes"][1]["colour"] == "#00ff00"
