"""qc.reliability: estimates recover the parameters of simulated annotators; intervals are seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qc.errors import InvalidOptionError
from qc.reliability import INTERVAL_KEYS, ObjectObservation, estimate, observations

# person: (boundary IoU mean, miss rate, extra share of what they draw, class error rate)
TRUE = {1: (0.95, 0.01, 0.02, 0.00), 2: (0.90, 0.05, 0.05, 0.05), 3: (0.80, 0.15, 0.15, 0.20)}


def simulate(n_images: int, objects: int = 8, seed: int = 3) -> list[ObjectObservation]:
    """Three annotators label every image; each object is real (in the consensus) or some annotator's extra."""
    rng = np.random.default_rng(seed)
    out = []
    for image in range(n_images):
        for group in range(objects):
            for person, (iou, miss, _, class_error) in TRUE.items():
                drew = bool(rng.random() >= miss)
                out.append(
                    ObjectObservation(
                        image,
                        person,
                        drew,
                        float(np.clip(rng.normal(iou, 0.02), 0, 1)) if drew else None,
                        False,
                        bool(rng.random() >= class_error) if drew else None,
                        group=group,
                    )
                )
        group = objects
        for person, (_, _, extra, _) in TRUE.items():  # extras: drawn by one, left out by the others
            for _ in range(rng.binomial(objects, extra)):
                for other in TRUE:
                    out.append(ObjectObservation(image, other, other == person, None, True, None, group=group))
                group += 1
    return out


def test_estimates_recover_the_simulated_parameters() -> None:
    result = estimate(simulate(300), seed=1, n_boot=100)
    for person, (iou, miss, extra, class_error) in TRUE.items():
        r = result[person]
        # tolerance: 300 images x 8 objects; binomial standard errors are below 0.008 for these rates
        assert r.boundary_iou == pytest.approx(iou, abs=0.005)
        assert r.miss_rate == pytest.approx(miss, abs=0.02)
        assert r.extra_rate == pytest.approx(extra, abs=0.03)
        assert r.class_error_rate == pytest.approx(class_error, abs=0.03)
        assert r.sensitivity == pytest.approx(1 - miss, abs=0.03)
        for key in ("boundary_iou", "miss_rate"):
            low, high = r.intervals[key]
            assert low <= getattr(r, key) <= high
        assert r.gold_iou is None and r.gold_failures == 0
    assert result[1].specificity > result[3].specificity  # the one who draws extras is less specific
    assert result[1].weight > result[2].weight > result[3].weight
    assert result[2].weight == 1.0  # the median annotator


def test_intervals_narrow_with_more_images_and_repeat_for_a_seed() -> None:
    small, large = estimate(simulate(20), n_boot=200), estimate(simulate(300), n_boot=200)
    width = {n: r[3].intervals["miss_rate"][1] - r[3].intervals["miss_rate"][0] for n, r in ((20, small), (300, large))}
    assert width[300] < width[20] / 2
    assert estimate(simulate(20), seed=5, n_boot=50) == estimate(simulate(20), seed=5, n_boot=50)
    assert set(small[1].intervals) == set(INTERVAL_KEYS)


def test_gold_failures_count_images_below_the_pass_iou() -> None:
    obs = [
        ObjectObservation(1, 7, True, None, False, True, gold_iou=0.9),
        ObjectObservation(1, 7, False, None, False, None, gold_iou=0.0),  # a missed gold object
        ObjectObservation(2, 7, True, None, False, True, gold_iou=0.8),
        ObjectObservation(3, 7, True, 0.9, False, True),
    ]
    (r,) = estimate(obs, n_boot=0, gold_pass_iou=0.75).values()
    assert r.gold_iou == pytest.approx((0.9 + 0.0 + 0.8) / 3)
    assert r.gold_failures == 1  # image 1: mean 0.45
    assert all(math.isnan(v) for v in r.intervals["gold_iou"])  # no bootstrap asked for


def test_empty_and_undefined() -> None:
    assert estimate([]) == {}
    (r,) = estimate([ObjectObservation(1, 4, True, None, True, None)], n_boot=10).values()
    assert r.extra_rate == 1.0 and math.isnan(r.miss_rate) and math.isnan(r.boundary_iou) and r.weight == 1.0
    with pytest.raises(InvalidOptionError):
        estimate([], n_boot=-1)


def test_observations_of_a_scored_image() -> None:
    from qc import masks
    from qc.agreement import score_image
    from qc.core import Segment

    def seg(sid: str, x: int, cat: int = 1) -> Segment:
        mask = np.zeros((60, 60), dtype=bool)
        mask[10:30, x : x + 20] = True
        return Segment(sid, cat, masks.encode(mask))

    by = {
        "ann": [seg("a1", 5), seg("a2", 38)],  # a2: drawn by ann alone (an extra)
        "bob": [seg("b1", 5)],
        "cy": [seg("c1", 6, cat=2)],  # the same object, another class
    }
    agreement = score_image(by, height=60, width=60, image_id=9)
    obs = observations(agreement, {"ann": 1, "bob": 2, "cy": 3})
    real = {o.person_id: o for o in obs if not o.extra}
    assert [(o.person_id, o.drew) for o in obs if o.extra] == [(1, True), (2, False), (3, False)]
    assert real[1].iou_loo == pytest.approx(real[2].iou_loo) and 0.9 < real[1].iou_loo < 1.0
    assert (real[1].class_ok, real[2].class_ok, real[3].class_ok) == (True, True, False)
    assert {o.image_id for o in obs} == {9}
