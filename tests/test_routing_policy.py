"""qc.routing_policy: first-pass pairs mix reliable and less reliable annotators; the settle rule."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from qc.errors import RoutingError
from qc.reliability import Reliability
from qc.routing_policy import pair_error, pick_pair, reference_error, settles


def person(pid: int, boundary_iou: float, weight: float = 1.0) -> Reliability:
    return Reliability(pid, 100, boundary_iou, 0.01, 0.0, 0.0, 0.99, 0.9, None, 0, {}, weight)


def test_unreliable_annotators_are_never_paired_together_and_get_fewer_images() -> None:
    people = {1: person(1, 0.95, 4.0), 2: person(2, 0.9, 1.0), 3: person(3, 0.8, 0.25), 4: person(4, 0.8, 0.25)}
    rng = random.Random(11)
    pairs = Counter(pick_pair([1, 2, 3, 4], people, rng) for _ in range(2000))
    assert pairs[(3, 4)] == 0
    load = Counter(p for pair, n in pairs.items() for p in pair for _ in range(n))
    assert load[1] > load[2] > load[3] > 0 and load[4] > 0


def test_pairs_are_reproducible_for_a_seed_whatever_the_order() -> None:
    people = {1: person(1, 0.95, 2.0), 2: person(2, 0.9), 3: person(3, 0.8, 0.3)}
    first = [pick_pair([1, 2, 3], people, random.Random(5)) for _ in range(3)]
    again = [pick_pair([3, 1, 2], people, random.Random(5)) for _ in range(3)]
    assert first == again
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert [pick_pair([1, 2, 3], people, rng_a) for _ in range(50)] == [
        pick_pair([2, 3, 1], people, rng_b) for _ in range(50)
    ]


def test_without_measurements_pairs_are_uniform() -> None:
    rng = random.Random(2)
    pairs = Counter(pick_pair([1, 2, 3], {}, rng) for _ in range(3000))
    assert set(pairs) == {(1, 2), (1, 3), (2, 3)} and min(pairs.values()) > 900


def test_pick_pair_needs_two_people() -> None:
    with pytest.raises(RoutingError, match="two eligible"):
        pick_pair([1, 1], {}, random.Random(0))


def test_settle_rule() -> None:
    good, fair, poor = person(1, 0.96, 1.0), person(2, 0.96, 1.0), person(3, 0.84, 0.1)
    assert pair_error([good, poor]) == pytest.approx(1 / math.sqrt(1.1))
    assert settles([good, fair], 0.81)
    assert not settles([good, poor], 0.81)  # error 0.95 of the median annotator's: more than 1.25 / sqrt(2)
    assert settles([good, poor], 0.91)  # they agree so well that it is settled anyway
    assert settles([good, poor], 0.81, tolerance=1.5)
    assert settles([good, None], 0.81)  # not measured yet: plain adaptive overlap
    assert settles([good, poor], math.nan)  # no object: nothing to disagree on
    people = {1: good, 2: fair, 3: poor}
    assert reference_error(people) == pytest.approx(1 / math.sqrt(2)) and math.isnan(reference_error({}))
    assert not settles([good, poor], 0.81, reference_error=reference_error(people))
    assert settles([good, poor], 0.81, reference_error=reference_error({}))  # nothing measured yet
