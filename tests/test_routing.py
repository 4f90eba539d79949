"""qc.routing: balanced k-of-n plans, gold mix-in, exclusions, adaptive escalation."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qc.errors import InvalidOptionError, QCError, RoutingError
from qc.reliability import Reliability
from qc.routing import (
    Annotator,
    Assignment,
    RoutingPlan,
    next_annotator,
    plan_round,
    visible_to,
)

ABC = [Annotator("a"), Annotator("b"), Annotator("c")]


def pairs(plan: RoutingPlan) -> dict:
    return {img: frozenset(plan.annotators_for(img)) for img in {a.image_id for a in plan.assignments}}


# --- hand-checked plans ------------------------------------------------------------------


def test_empty_round_has_no_assignments_and_zero_loads() -> None:
    plan = plan_round([], ABC, k=2, seed=0)
    assert plan == RoutingPlan((), (), (), {"a": 0, "b": 0, "c": 0})


def test_three_images_three_annotators_k2_loads_two_each_and_every_pair_once() -> None:
    # image 1 takes two of the three (all at 0); image 2 takes the idle one plus one at load 1;
    # image 3 takes the two at load 1: so the three images get the three distinct pairs.
    plan = plan_round(["i1", "i2", "i3"], ABC, k=2, seed=3)
    assert plan.load == {"a": 2, "b": 2, "c": 2}
    assert len(plan.assignments) == 6
    assert set(pairs(plan).values()) == {frozenset("ab"), frozenset("ac"), frozenset("bc")}
    assert {a.kind for a in plan.assignments} == {"consensus"}
    assert plan.unassigned == () and plan.gold_images == ()


def test_k_equal_to_team_size_routes_every_image_to_everyone() -> None:
    plan = plan_round([5, 6], ABC, k=3, seed=1)
    assert plan.annotators_for(5) == plan.annotators_for(6) == ("a", "b", "c")
    assert plan.load == {"a": 2, "b": 2, "c": 2}


def test_assignments_are_sorted_by_image_then_annotator() -> None:
    plan = plan_round(["z", "y", "x"], ABC, k=2, seed=9)
    keys = [(a.image_id, a.annotator_id) for a in plan.assignments]
    assert keys == sorted(keys)


def test_exclusion_keeps_the_excluded_annotator_off_the_image() -> None:
    # "a" labeled img in an earlier round: only b and c are left for k=2
    plan = plan_round(["img", "other"], ABC, k=2, seed=0, exclude={"img": {"a"}})
    assert plan.annotators_for("img") == ("b", "c")


def test_capacity_caps_an_annotator_and_the_rest_goes_to_the_others() -> None:
    people = [Annotator("a", capacity=1), Annotator("b")]
    plan = plan_round(range(4), people, k=1, seed=2)
    assert plan.load == {"a": 1, "b": 3}
    assert plan.unassigned == ()


def test_image_without_enough_eligible_annotators_is_listed_with_reason_not_dropped() -> None:
    people = [Annotator("a", capacity=0), Annotator("b"), Annotator("c")]
    plan = plan_round([1, 2], people, k=2, seed=0, exclude={2: ["b"]})
    assert plan.annotators_for(1) == ("b", "c")
    assert plan.unassigned == ((2, "image 2 needs 2 distinct annotators; 1 of 3 eligible (1 excluded, 1 at capacity)"),)
    assert plan.load == {"a": 0, "b": 1, "c": 1}


def test_unassigned_image_consumes_no_capacity() -> None:
    # img 1 would fit only one of the two it needs: it takes nobody, so img 2 still gets "b"
    people = [Annotator("a"), Annotator("b", capacity=1)]
    plan = plan_round([1, 2], people, k=2, seed=0, exclude={1: {"a"}, 2: set()})
    assert [u[0] for u in plan.unassigned] == [1]
    assert plan.annotators_for(2) == ("a", "b")


def test_most_excluded_image_is_routed_first_so_both_fit() -> None:
    # with a and b at capacity 1 and k=1: image 2 (b excluded) must get a, so image 1 gets b;
    # visiting image 1 first could have given it "a" and starved image 2.
    people = [Annotator("a", capacity=1), Annotator("b", capacity=1)]
    for seed in range(20):
        plan = plan_round([1, 2], people, k=1, seed=seed, exclude={2: {"b"}})
        assert (plan.annotators_for(1), plan.annotators_for(2)) == (("b",), ("a",))


def test_mixed_int_and_str_image_ids_are_ordered_without_error() -> None:
    plan = plan_round([3, "x", 1], ABC, k=1, seed=0)
    assert [a.image_id for a in plan.assignments] == [1, 3, "x"]


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    images = [f"img{i}" for i in range(30)]
    first = plan_round(images, ABC, k=1, seed=11)
    assert first == plan_round(list(reversed(images)), ABC[::-1], k=1, seed=11)
    assert pairs(first) != pairs(plan_round(images, ABC, k=1, seed=12))


def test_to_dict_is_json_ready_and_complete() -> None:
    people = [Annotator("a", capacity=0), Annotator("b")]
    plan = plan_round([1, 2], people, k=1, seed=0, gold_image_ids=[9], gold_rate=0.5)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data == {
        "assignments": [
            {"image_id": 1, "annotator_id": "b", "kind": "consensus"},
            {"image_id": 2, "annotator_id": "b", "kind": "consensus"},
            {"image_id": 9, "annotator_id": "b", "kind": "gold"},
        ],
        "gold_images": [9],
        "unassigned": [],
        "load": {"a": 0, "b": 3},
    }


def test_visible_to_lists_only_own_assignments() -> None:
    plan = plan_round(["i1", "i2", "i3"], ABC, k=2, seed=3)
    for person in "abc":
        own = visible_to(person, plan)
        assert len(own) == 2
        assert all(person in plan.annotators_for(i) for i in own)
    assert visible_to("stranger", plan) == ()


# --- gold mix-in --------------------------------------------------------------------------


def test_gold_rate_ten_percent_of_100_images_gives_exactly_10_gold() -> None:
    images = list(range(100))
    candidates = [f"gold{i}" for i in range(20)]
    plan = plan_round(images, ABC, k=2, seed=4, gold_image_ids=candidates, gold_rate=0.1)
    assert len(plan.gold_images) == 10
    assert set(plan.gold_images) <= set(candidates)
    gold_assignments = [a for a in plan.assignments if a.kind == "gold"]
    assert Counter(a.image_id for a in gold_assignments) == dict.fromkeys(plan.gold_images, 2)
    assert sum(a.kind == "consensus" for a in plan.assignments) == 200
    assert sorted(plan.load.values()) == [73, 73, 74]  # 110 images x 2 over three people


def test_gold_draw_is_seeded_and_varies_with_the_seed() -> None:
    candidates = [f"g{i}" for i in range(20)]
    draws = {
        plan_round(range(50), ABC, k=1, seed=s, gold_image_ids=candidates, gold_rate=0.1).gold_images for s in range(5)
    }
    again = plan_round(range(50), ABC, k=1, seed=0, gold_image_ids=candidates[::-1], gold_rate=0.1)
    assert again.gold_images in draws
    assert len(draws) > 1


@pytest.mark.parametrize(
    ("n_images", "rate", "expected"),
    [
        (0, 1.0, 0),  # no regular images: no gold either
        (10, 0.0, 0),  # rate 0
        (10, 0.05, 1),  # 0.5 rounds half up
        (10, 0.04, 0),  # 0.4 rounds down
        (10, 0.15, 2),  # 1.5 rounds half up
        (7, 1.0, 7),  # one gold image per regular image
    ],
)
def test_gold_count_is_rate_times_regular_images_rounded_half_up(n_images: int, rate: float, expected: int) -> None:
    plan = plan_round(range(n_images), ABC, k=1, seed=0, gold_image_ids=[f"g{i}" for i in range(20)], gold_rate=rate)
    assert len(plan.gold_images) == expected


def test_too_few_gold_candidates_uses_all_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="qc.routing"):
        plan = plan_round(range(10), ABC, k=1, seed=0, gold_image_ids=["g1", "g2", "g3"], gold_rate=0.5)
    assert plan.gold_images == ("g1", "g2", "g3")
    assert "wants 5 gold images; 3 candidates" in caplog.text


# --- invalid arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be a whole number between 1 and the number of annotators (3); got 0"),
        ({"k": 4}, "between 1 and the number of annotators (3); got 4"),
        ({"k": True}, "got True"),
        ({"k": 1, "gold_rate": -0.1}, "gold_rate must be a fraction in [0, 1]; got -0.1"),
        ({"k": 1, "gold_rate": 1.5}, "got 1.5"),
        ({"k": 1, "gold_rate": float("nan")}, "got nan"),
    ],
)
def test_invalid_plan_options_raise_invalid_option_error(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        plan_round(["i1", "i2"], ABC, seed=0, **kwargs)
    assert message in str(info.value)
    assert isinstance(info.value, QCError)
    assert info.value.option == info.value.field == next(iter(kwargs.keys() - {"k"}), "k")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 1, "exclude": {"i1": "a"}}, "exclude['i1'] must be a collection of annotator ids"),
        ({"k": 1, "gold_image_ids": ["i1"], "gold_rate": 0.5}, "both regular and gold candidates, e.g. ['i1']"),
        ({"k": 1, "gold_image_ids": ["g", "g"]}, "gold_image_ids must be unique"),
    ],
)
def test_invalid_plan_arguments_raise_routing_error(kwargs: dict, message: str) -> None:
    with pytest.raises(RoutingError) as info:
        plan_round(["i1", "i2"], ABC, seed=0, **kwargs)
    assert message in str(info.value)
    assert isinstance(info.value, QCError)


def test_duplicate_annotators_and_images_are_refused() -> None:
    with pytest.raises(RoutingError, match=r"annotator ids must be unique; repeated: \['a'\]"):
        plan_round([1], [Annotator("a"), Annotator("a", capacity=2)], k=1, seed=0)
    with pytest.raises(RoutingError, match=r"image_ids must be unique; 1 repeated, e.g. \[1\]"):
        plan_round([1, 2, 1], ABC, k=1, seed=0)


def test_bad_annotator_and_assignment_fields_are_refused() -> None:
    with pytest.raises(RoutingError, match="capacity of annotator 'a' must be a whole number >= 0"):
        Annotator("a", capacity=-1)
    with pytest.raises(RoutingError, match="non-empty string"):
        Annotator("")
    with pytest.raises(InvalidOptionError, match="kind must be one of consensus, gold, followup, rework; got 'extra'"):
        Assignment(1, "a", "extra")  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------


@st.composite
def rounds(draw: st.DrawFn, *, capacities: bool = True, exclusions: bool = True) -> dict:
    n_people = draw(st.integers(2, 8))
    ids = [f"p{i}" for i in range(n_people)]
    caps = [draw(st.none() | st.integers(0, 15)) if capacities else None for _ in ids]
    images = draw(st.lists(st.integers(0, 10_000), max_size=40, unique=True))
    exclude = {}
    if exclusions:
        for image in images:
            barred = draw(st.sets(st.sampled_from(ids), max_size=n_people))
            if barred:
                exclude[image] = barred
    return {
        "images": images,
        "people": [Annotator(i, capacity=c) for i, c in zip(ids, caps, strict=True)],
        "k": draw(st.integers(1, n_people)),
        "seed": draw(st.integers(0, 2**32)),
        "exclude": exclude,
    }


def plan_of(r: dict) -> RoutingPlan:
    return plan_round(r["images"], r["people"], k=r["k"], seed=r["seed"], exclude=r["exclude"])


@settings(deadline=None)
@given(rounds())
def test_plan_invariants(r: dict) -> None:
    plan = plan_of(r)
    per_image = Counter(a.image_id for a in plan.assignments)
    # every assigned image has exactly k distinct annotators
    assert set(per_image.values()) <= {r["k"]}
    assert len({(a.image_id, a.annotator_id) for a in plan.assignments}) == len(plan.assignments)
    # assigned and unassigned together cover every input image exactly once
    unassigned = [image for image, _ in plan.unassigned]
    assert sorted([*per_image, *unassigned]) == sorted(r["images"])
    assert all(f"image {image!r} needs {r['k']} distinct annotators" in reason for image, reason in plan.unassigned)
    # no capacity exceeded; load matches the assignments
    assert plan.load == {p.id: sum(a.annotator_id == p.id for a in plan.assignments) for p in r["people"]}
    assert all(p.capacity is None or plan.load[p.id] <= p.capacity for p in r["people"])
    # exclusions respected
    assert not any(a.annotator_id in r["exclude"].get(a.image_id, ()) for a in plan.assignments)


@settings(deadline=None)
@given(rounds(), st.randoms(use_true_random=False))
def test_plan_is_independent_of_input_order(r: dict, rnd: random.Random) -> None:
    shuffled = dict(
        r, images=rnd.sample(r["images"], len(r["images"])), people=rnd.sample(r["people"], len(r["people"]))
    )
    assert plan_of(shuffled) == plan_of(r)


@settings(deadline=None)
@given(rounds(capacities=False, exclusions=False))
def test_without_capacities_or_exclusions_loads_differ_by_at_most_one(r: dict) -> None:
    plan = plan_of(r)
    assert plan.unassigned == ()
    assert max(plan.load.values()) - min(plan.load.values()) <= 1
    assert sum(plan.load.values()) == r["k"] * len(r["images"])


@settings(deadline=None)
@given(rounds(capacities=False))
def test_without_capacities_only_over_excluded_images_are_unassigned(r: dict) -> None:
    plan = plan_of(r)
    n_people = len(r["people"])
    too_few = {i for i in r["images"] if n_people - len(r["exclude"].get(i, ())) < r["k"]}
    assert {image for image, _ in plan.unassigned} == too_few


# --- adaptive overlap: next annotator -----------------------------------------------------


def test_next_annotator_takes_the_least_loaded_eligible() -> None:
    people = [*ABC, Annotator("d", capacity=2), Annotator("e")]
    load = {"a": 0, "b": 0, "c": 4, "d": 2, "e": 3}
    # a, b already labeled it; d is at capacity; c (4) is busier than e (3)
    assert next_annotator("img", ["a", "b"], people, load=load, seed=0) == "e"
    assert next_annotator("img", ["a", "b"], people, load=load, seed=0, exclude={"e"}) == "c"
    assert next_annotator("img", ["a", "b"], people, load=load, seed=0, exclude=["c", "e"]) is None


def test_next_annotator_counts_missing_load_as_zero_and_ignores_order() -> None:
    people = [Annotator("x"), Annotator("y"), Annotator("z")]
    assert next_annotator(1, ["x"], people, load={"y": 1}, seed=5) == "z"
    for seed in range(10):
        assert next_annotator(1, [], people, load={}, seed=seed) == next_annotator(
            1, [], people[::-1], load={}, seed=seed
        )


def test_next_annotator_tie_break_is_seeded_and_spreads_over_the_tied() -> None:
    people = [Annotator(p) for p in "abcd"]
    picks = {next_annotator("img", ["a"], people, load={}, seed=s) for s in range(40)}
    assert picks == {"b", "c", "d"}
    assert next_annotator("img", ["a"], people, load={}, seed=7) == next_annotator(
        "img", ["a"], people, load={}, seed=7
    )


def test_next_annotator_refuses_a_bare_string() -> None:
    with pytest.raises(RoutingError, match="not a single string"):
        next_annotator(1, "ab", ABC, load={}, seed=0)


def test_pairs_from_measured_reliability_are_seeded_and_never_join_two_less_reliable_annotators() -> None:
    def measured(pid: int, weight: float) -> Reliability:
        return Reliability(pid, 50, 0.9, 0.0, 0.0, 0.0, 1.0, 1.0, None, 0, {}, weight)

    weights = {"ann": 1.0, "bob": 1.5, "cy": 0.2, "dee": 0.3}
    reliabilities = {name: measured(n, w) for n, (name, w) in enumerate(weights.items())}
    people = [Annotator(name) for name in weights]
    plan = plan_round(range(60), people, k=2, seed=4, reliabilities=reliabilities)
    again = plan_round(
        reversed(range(60)), people[::-1], k=2, seed=4, reliabilities=dict(reversed(reliabilities.items()))
    )
    assert plan == again  # the same seed and inputs in any order: the same pairs
    assert plan != plan_round(range(60), people, k=2, seed=5, reliabilities=reliabilities)
    pairs = {plan.annotators_for(i) for i in range(60)}
    assert ("cy", "dee") not in pairs and all(len(p) == 2 for p in pairs)
    assert plan.load["cy"] + plan.load["dee"] < plan.load["ann"] + plan.load["bob"]
    capped = plan_round(
        range(60),
        [Annotator("ann"), Annotator("bob"), Annotator("cy", 0), Annotator("dee")],
        k=2,
        seed=4,
        reliabilities=reliabilities,
    )
    assert capped.load["cy"] == 0  # capacity (a paused annotator has 0) still holds
