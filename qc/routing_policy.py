"""Routing that uses measured reliability (pure): who labels an image first, and when two agreeing labels settle it.

- :func:`pick_pair` chooses the two first-pass annotators of an image: an *anchor* drawn
  evenly from the reliable annotators (``weight >= 1``, i.e. at least the round's median;
  everyone while nothing is measured), and a partner drawn from all the others with
  probability proportional to their weight. So a less reliable annotator is always paired
  with a reliable one (never two unreliable together) and gets fewer first-pass images,
  in proportion to how much less their boundary counts.
- :func:`settles` says whether two annotators who agreed (the image would be accepted) settle
  it with two labels, or whether it pays for a third. The pair's expected error is that of the
  weighted shape fusion of their boundaries, ``1 / sqrt(1/e₁² + 1/e₂²)`` with ``e = 1 - boundary_iou``
  (:func:`pair_error`). A pair at most ``tolerance`` times the round's typical pair error
  (:func:`reference_error`) settles at the guideline's agreement; a less reliable pair
  settles only when its lowest object IoU on this image reaches ``sure_agreement``.
  Unmeasured annotators settle as plain adaptive overlap does.

Both are seeded through the ``random.Random`` passed in: the same candidates, reliabilities and
seed give the same pairs, whatever order the candidates are listed in.

>>> import random
>>> from qc.reliability import Reliability
>>> def person(pid, iou):
...     return Reliability(pid, 100, iou, 0.01, 0.0, 0.0, 0.99, 0.9, None, 0, {}, 1.0)
>>> people = {1: person(1, 0.95), 2: person(2, 0.95), 3: person(3, 0.80)}
>>> ref = reference_error(people)
>>> [settles([people[1], people[b]], 0.85, reference_error=ref) for b in (2, 3)]
[True, False]
>>> settles([people[1], people[3]], 0.95, reference_error=ref)
True
>>> pick_pair([3, 2, 1], {}, random.Random(4)) == pick_pair([1, 2, 3], {}, random.Random(4))
True
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

import numpy as np

from qc.errors import InvalidOptionError, RoutingError
from qc.reliability import Reliability

__all__ = ["pair_error", "pick_pair", "reference_error", "settles"]

DEFAULT_TOLERANCE = 1.25
DEFAULT_SURE_AGREEMENT = 0.9


def pair_error(pair: Sequence[Reliability | None]) -> float:
    """Expected boundary error of the reliability-weighted fusion of ``pair``: ``(Σ 1/eᵢ²)^-1/2``.

    NaN when any member is ``None`` or has no measured boundary.

    >>> from qc.reliability import Reliability
    >>> r = Reliability(1, 10, 0.9, 0.0, 0.0, 0.0, 1.0, 1.0, None, 0, {}, 1.0)
    >>> round(pair_error([r, r]), 4)
    0.0707
    """
    errors = [r.boundary_error if r is not None else math.nan for r in pair]
    if not errors or any(math.isnan(e) for e in errors):
        return math.nan
    return float(1.0 / math.sqrt(sum(1.0 / e**2 for e in errors)))


def reference_error(reliabilities: Mapping[int, Reliability]) -> float:
    """The round's typical pair error: the median annotator's boundary error over ``sqrt(2)`` (NaN if none)."""
    errors = [r.boundary_error for r in reliabilities.values() if not math.isnan(r.boundary_error)]
    return float(np.median(errors) / math.sqrt(2.0)) if errors else math.nan


def settles(
    pair: Sequence[Reliability | None],
    agreement: float,
    *,
    reference_error: float,
    tolerance: float = DEFAULT_TOLERANCE,
    sure_agreement: float = DEFAULT_SURE_AGREEMENT,
) -> bool:
    """Whether two annotators who agreed on an image settle it (``False``: it pays for one more label).

    ``agreement`` is the image's lowest pair IoU over its objects (NaN when it has none, which
    settles). A pair whose :func:`pair_error` is at most ``tolerance`` x ``reference_error``
    settles; a less reliable pair only when ``agreement >= sure_agreement``. A pair with an
    unmeasured member, or a NaN ``reference_error``, settles (plain adaptive overlap).
    """
    if not tolerance > 0:
        raise InvalidOptionError("tolerance", "a number > 0", tolerance)
    if not 0.0 <= sure_agreement <= 1.0:
        raise InvalidOptionError("sure_agreement", "a number within [0, 1]", sure_agreement)
    expected = pair_error(pair)
    if math.isnan(expected) or math.isnan(reference_error) or math.isnan(agreement):
        return True
    return expected <= tolerance * reference_error or agreement >= sure_agreement


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
    anchor = reliable[rng.randrange(len(reliable))]
    others = [p for p in people if p != anchor]
    partner = rng.choices(others, weights=[weight[p] for p in others])[0]
    first, second = sorted((anchor, partner))
    return first, second
