"""Routing that uses measured reliability (pure): who labels an image first, and when two agreeing labels settle it.

- :func:`pick_pair` chooses the two first-pass annotators of an image: an *anchor* drawn
  evenly from the reliable annotators (``weight >= 1``, i.e. at least the round's median;
  everyone while nothing is measured), and a partner drawn from all the others with
  probability proportional to their weight. So a less reliable annotator is always paired
  with a reliable one (never two unreliable together) and gets fewer first-pass images,
  in proportion to how much less their boundary counts.
- :func:`settles` says whether two annotators who agreed (the image would be accepted) settle
  it with two labels, or whether it pays for a third. The weights are inverse variances
  (:attr:`qc.reliability.Reliability.weight`, the round's median annotator weighs 1), so the
  weighted fusion of a pair has the error ``1 / sqrt(w₁ + w₂)`` in units of the median
  annotator's (:func:`pair_error`); two median annotators make ``1 / sqrt(2)``. A pair within
  ``tolerance`` x that settles at the guideline's agreement; a less reliable pair only when its
  lowest object IoU on this image reaches ``sure_agreement``. Unmeasured annotators settle as
  plain adaptive overlap does.

Both are seeded through the ``random.Random`` passed in: the same candidates, reliabilities and
seed give the same pairs, whatever order the candidates are listed in.

>>> import random
>>> from qc.reliability import Reliability
>>> def person(pid, weight):
...     return Reliability(pid, 100, 0.9, 0.01, 0.0, 0.0, 0.99, 0.9, None, 0, {}, weight)
>>> people = {1: person(1, 1.0), 2: person(2, 1.0), 3: person(3, 0.1)}
>>> [settles([people[1], people[b]], 0.85) for b in (2, 3)]
[True, False]
>>> settles([people[1], people[3]], 0.95)
True
>>> pick_pair([3, 2, 1], people, random.Random(4)) == pick_pair([1, 2, 3], people, random.Random(4))
True
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

from qc.errors import InvalidOptionError, RoutingError
from qc.reliability import Reliability

__all__ = ["pair_error", "pick_pair", "reference_error", "settles"]

DEFAULT_TOLERANCE = 1.25
DEFAULT_SURE_AGREEMENT = 0.9


def pair_error(pair: Sequence[Reliability | None]) -> float:
    """Expected boundary error of the weighted fusion of ``pair``, in units of the median annotator's.

    ``1 / sqrt(Σ weight)``; NaN when any member is ``None`` (not measured).

    >>> from qc.reliability import Reliability
    >>> r = Reliability(1, 10, 0.9, 0.0, 0.0, 0.0, 1.0, 1.0, None, 0, {}, 1.0)
    >>> round(pair_error([r, r]), 4)
    0.7071
    """
    if not pair or any(r is None for r in pair):
        return math.nan
    return float(1.0 / math.sqrt(sum(r.weight for r in pair if r is not None)))


def reference_error(reliabilities: Mapping[int, Reliability]) -> float:
    """The error of two median annotators' fusion in :func:`pair_error`'s units: ``1 / sqrt(2)``; NaN when
    nothing is measured (then :func:`settles` lets every agreeing pair settle)."""
    return 1.0 / math.sqrt(2.0) if reliabilities else math.nan


def settles(
    pair: Sequence[Reliability | None],
    agreement: float,
    *,
    reference_error: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    sure_agreement: float = DEFAULT_SURE_AGREEMENT,
) -> bool:
    """Whether two annotators who agreed on an image settle it (``False``: it pays for one more label).

    ``agreement`` is the image's lowest pair IoU over its objects (NaN when it has none, which
    settles). A pair whose :func:`pair_error` is at most ``tolerance`` x ``reference_error``
    (default and :func:`reference_error`: ``1 / sqrt(2)``, two median annotators) settles; a less
    reliable pair only when ``agreement >= sure_agreement``. A pair with an unmeasured member, or a
    NaN ``reference_error``, settles (plain adaptive overlap).
    """
    if not tolerance > 0:
        raise InvalidOptionError("tolerance", "a number > 0", tolerance)
    if not 0.0 <= sure_agreement <= 1.0:
        raise InvalidOptionError("sure_agreement", "a number within [0, 1]", sure_agreement)
    reference = 1.0 / math.sqrt(2.0) if reference_error is None else reference_error
    expected = pair_error(pair)
    if math.isnan(expected) or math.isnan(agreement) or math.isnan(reference):
        return True
    return expected <= tolerance * reference or agreement >= sure_agreement


def pick_pair(
    candidates: Sequence[int], reliabilities: Mapping[int, Reliability], rng: random.Random
) -> tuple[int, int]:
    """Two distinct first-pass annotators from ``candidates`` (sorted pair), see the module docstring.

    Annotators without a :class:`~qc.reliability.Reliability` weigh 1 (the median). Raises
    :class:`~qc.errors.RoutingError` with fewer than two distinct candidates.
    """
    people = sorted(set(candidates))
    if len(people) < 2:
        raise RoutingError(
            f"a first-pass pair needs two eligible annotators; got {people}. Add annotators or lift a pause.",
            field="candidates",
        )
    weight = {p: reliabilities[p].weight if p in reliabilities else 1.0 for p in people}
    reliable = [p for p in people if weight[p] >= 1.0] or people
    anchor = rng.choices(reliable, weights=[weight[p] for p in reliable])[0]
    others = [p for p in people if p != anchor]
    partner = rng.choices(others, weights=[weight[p] for p in others])[0]
    first, second = sorted((anchor, partner))
    return first, second
