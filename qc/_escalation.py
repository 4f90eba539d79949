"""The escalation rule of adaptive overlap (DESIGN §2, §5), written once; :mod:`qc.routing` lists it.

An image whose annotators agree is accepted; a disagreement buys one more annotator
while fewer than ``k_max`` have labelled it and one more label can repair it; otherwise
a reviewer decides. :mod:`qc.flags` decides every scored image with :func:`escalation_verdict`.
"""

from __future__ import annotations

from typing import Literal

from qc.core import Verdict
from qc.errors import InvalidOptionError, RoutingError

__all__ = ["Decision", "escalation_decision", "escalation_verdict"]

Decision = Literal["accept", "escalate", "review"]


def escalation_decision(n_labels: int, agreed: bool, *, k_initial: int, k_max: int) -> Decision:
    """What happens to an image after scoring its ``n_labels`` labels (adaptive overlap).

    ``"accept"`` when the annotators agreed; ``"escalate"`` (route to one more annotator)
    when they disagreed and ``n_labels < k_max``; ``"review"`` when they disagreed with
    ``k_max`` labels or more (the rule is :func:`escalation_verdict`). Fixed overlap is
    ``k_initial == k_max``: any disagreement goes to review. Raises
    :class:`~qc.errors.InvalidOptionError` unless ``1 <= k_initial <= k_max`` (whole numbers),
    and :class:`~qc.errors.RoutingError` unless ``n_labels >= k_initial``.

    >>> [escalation_decision(n, ok, k_initial=2, k_max=3) for n, ok in [(2, True), (2, False), (3, False)]]
    ['accept', 'escalate', 'review']
    """
    for name, value in (("k_initial", k_initial), ("k_max", k_max), ("n_labels", n_labels)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidOptionError(name, "an integer", value)
    if not 1 <= k_initial <= k_max:
        raise InvalidOptionError(
            "k_initial",
            f"an integer with 1 <= k_initial <= k_max (k_max={k_max})",
            k_initial,
            hint="Set k_max to at least k_initial (equal for fixed overlap).",
        )
    if n_labels < k_initial:
        raise RoutingError(
            f"an image is decided with at least k_initial={k_initial} labels; got n_labels={n_labels}. "
            "Wait for the missing submissions, or route the image again.",
            field="n_labels",
        )
    return _DECISIONS[escalation_verdict(n_labels, agreed=agreed, k_max=k_max)]


def escalation_verdict(
    n_labels: int, *, agreed: bool, k_max: int | None, repairable: bool = True, settled: bool = True
) -> Verdict:
    """The escalation rule of adaptive overlap, written once (:mod:`qc.flags` decides every image with it).

    Agreed: ``accepted``, unless the agreeing annotators do not settle the image by
    themselves (``settled=False``: their measured reliability is too low for two labels,
    :func:`qc.routing_policy.settles`), which buys one more annotator while ``n_labels < k_max``.
    Not agreed: ``escalate`` (one more annotator) while ``n_labels < k_max`` and one more label
    can repair the disagreement (``repairable``; a guideline violation cannot be), else
    ``review``. ``k_max=None`` never escalates.

    >>> [escalation_verdict(2, agreed=False, k_max=k).value for k in (3, 2, None)]
    ['escalate', 'review', 'review']
    >>> escalation_verdict(2, agreed=False, k_max=3, repairable=False).value
    'review'
    >>> [escalation_verdict(n, agreed=True, k_max=3, settled=False).value for n in (2, 3)]
    ['escalate', 'accepted']
    """
    if agreed:
        if not settled and k_max is not None and n_labels < k_max:
            return Verdict.ESCALATE
        return Verdict.ACCEPTED
    if repairable and k_max is not None and n_labels < k_max:
        return Verdict.ESCALATE
    return Verdict.REVIEW


_DECISIONS: dict[Verdict, Decision] = {
    Verdict.ACCEPTED: "accept",
    Verdict.ESCALATE: "escalate",
    Verdict.REVIEW: "review",
}
