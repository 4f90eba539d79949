"""The escalation rule of adaptive overlap: escalation_decision (table, checks) and escalation_verdict."""

from __future__ import annotations

import pytest

from qc.core import Verdict
from qc.errors import InvalidOptionError, QCError, RoutingError
from qc.routing import escalation_decision, escalation_verdict


@pytest.mark.parametrize(
    ("n_labels", "agreed", "k_initial", "k_max", "expected"),
    [
        (1, False, 1, 1, "review"),  # smallest setting: one label, fixed overlap
        (1, True, 1, 1, "accept"),
        (2, False, 2, 2, "review"),  # fixed overlap: any disagreement goes to review
        (4, False, 2, 3, "review"),  # more labels than k_max (e.g. added by hand): still review
        (4, True, 2, 3, "accept"),
        (2, True, 2, 3, "accept"),  # the two agree: accepted at the cost of two labels
        (2, False, 2, 3, "escalate"),  # disagreement pays for a third
        (3, False, 2, 3, "review"),  # survives the third: reviewer
        (3, True, 2, 3, "accept"),
        (3, False, 2, 5, "escalate"),
        (4, False, 2, 5, "escalate"),
        (5, False, 2, 5, "review"),
    ],
)
def test_escalation_table(n_labels: int, agreed: bool, k_initial: int, k_max: int, expected: str) -> None:
    assert escalation_decision(n_labels, agreed, k_initial=k_initial, k_max=k_max) == expected


@pytest.mark.parametrize(
    ("n_labels", "k_initial", "k_max", "error", "message"),
    [
        (1, 0, 1, InvalidOptionError, "k_initial must be an integer with 1 <= k_initial <= k_max (k_max=1); got 0"),
        (3, 3, 2, InvalidOptionError, "(k_max=2); got 3"),
        (1, 2, 3, RoutingError, "at least k_initial=2 labels; got n_labels=1"),
        (0, 1, 1, RoutingError, "got n_labels=0"),
    ],
)
def test_escalation_refuses_impossible_settings(
    n_labels: int, k_initial: int, k_max: int, error: type[QCError], message: str
) -> None:
    with pytest.raises(error) as info:
        escalation_decision(n_labels, False, k_initial=k_initial, k_max=k_max)
    assert message in str(info.value)


# (n_labels, agreed, k_max, repairable, verdict): the one escalation rule, as qc.flags applies it
@pytest.mark.parametrize(
    ("n_labels", "agreed", "k_max", "repairable", "expected"),
    [
        (1, True, None, True, Verdict.ACCEPTED),  # agreed: accepted whatever the settings
        (2, True, 3, False, Verdict.ACCEPTED),
        (2, False, None, True, Verdict.REVIEW),  # no k_max: never escalate
        (2, False, 3, True, Verdict.ESCALATE),
        (3, False, 3, True, Verdict.REVIEW),  # at k_max: review
        (2, False, 3, False, Verdict.REVIEW),  # a guideline violation: one more label cannot repair it
    ],
)
def test_escalation_verdict(
    n_labels: int, agreed: bool, k_max: int | None, repairable: bool, expected: Verdict
) -> None:
    assert escalation_verdict(n_labels, agreed=agreed, k_max=k_max, repairable=repairable) is expected
