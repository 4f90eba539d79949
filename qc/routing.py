"""Who labels what: assignment policies for one consensus round.

:func:`plan_round` routes every image of a round to ``k`` distinct annotators:

- **seeded**: the same images, annotators and seed give the same plan, whatever order they
  are given in (ids are sorted before anything random happens);
- **balanced**: each image takes the ``k`` eligible annotators with the lowest load so far,
  ties broken by a seeded shuffle, so without capacities or exclusions loads differ by at
  most one;
- **bounded**: an annotator never gets more than their ``capacity`` in the round;
- **never twice, never self**: one person at most once per image, and never on an image
  that ``exclude`` bars them from (their own earlier label, the image they review);
- **gold mixed in**: ``round(gold_rate * len(image_ids))`` images with a known answer are
  drawn (seeded) from ``gold_image_ids`` and routed like the others;
- **nothing dropped silently**: an image that cannot get ``k`` eligible annotators is listed
  in ``unassigned`` with the reason, and gets no assignment at all.

Adaptive overlap (DESIGN.md §2): :func:`escalation_verdict` is the rule that says whether an
image whose annotators disagree gets one more annotator or goes to review (:mod:`qc.flags`
applies it to every scored image; :func:`escalation_decision` is its checked, string-valued
form; both live in the private :mod:`qc._escalation`), and :func:`next_annotator` picks that
annotator. Blindness is enforced by the store and the web page; :func:`visible_to` is the
list they show a person: their own assignments only.

>>> people = [Annotator("ann"), Annotator("bob"), Annotator("cy")]
>>> plan = plan_round(["img1", "img2", "img3"], people, k=2, seed=7)
>>> plan.load
{'ann': 2, 'bob': 2, 'cy': 2}
>>> [len(plan.annotators_for(i)) for i in ("img1", "img2", "img3")]
[2, 2, 2]
>>> plan == plan_round(["img3", "img1", "img2"], people[::-1], k=2, seed=7)
True
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qc._escalation import Decision, escalation_decision, escalation_verdict
from qc.core import AssignmentKind
from qc.errors import InvalidOptionError, RoutingError
from qc.reliability import Reliability
from qc.routing_policy import pick_pair

__all__ = [
    "Annotator",
    "Assignment",
    "Decision",
    "ImageId",
    "RoutingPlan",
    "escalation_decision",
    "escalation_verdict",
    "next_annotator",
    "plan_round",
    "visible_to",
]

log = logging.getLogger(__name__)

ImageId = int | str


@dataclass(frozen=True)
class Annotator:
    """A person who can take assignments in a round.

    ``capacity`` is the most assignments they take in this round; ``None`` means unlimited
    and ``0`` means not available this round.
    """

    id: str
    capacity: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise RoutingError(f"an annotator id must be a non-empty string; got {self.id!r}.", field="id")
        cap = self.capacity
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            raise RoutingError(
                f"capacity of annotator {self.id!r} must be a whole number >= 0 or None (unlimited); got {cap!r}.",
                field="capacity",
            )

    def has_room(self, load: int) -> bool:
        """Whether one more assignment fits on top of ``load``."""
        return self.capacity is None or load < self.capacity


@dataclass(frozen=True)
class Assignment:
    """One annotator owes one annotation of one image.

    ``kind`` is ``"consensus"`` (a regular image), ``"gold"`` (an image with a known answer)
    or ``"followup"`` (an extra annotator after a disagreement).
    """

    image_id: ImageId
    annotator_id: str
    kind: AssignmentKind = AssignmentKind.CONSENSUS

    def __post_init__(self) -> None:
        if self.kind not in list(AssignmentKind):
            raise InvalidOptionError("assignment kind", list(AssignmentKind), self.kind, image_id=self.image_id)
        object.__setattr__(self, "kind", AssignmentKind(self.kind))

    def to_dict(self) -> dict[str, Any]:
        return {"image_id": self.image_id, "annotator_id": self.annotator_id, "kind": self.kind.value}


@dataclass(frozen=True)
class RoutingPlan:
    """The assignments of one round.

    ``assignments`` are sorted by image, then annotator; ``gold_images`` are the gold images
    drawn into the round (sorted); ``unassigned`` holds ``(image_id, reason)`` for every image
    that could not get ``k`` annotators; ``load`` counts assignments per annotator (every
    annotator listed, zeros included).
    """

    assignments: tuple[Assignment, ...]
    gold_images: tuple[ImageId, ...]
    unassigned: tuple[tuple[ImageId, str], ...]
    load: dict[str, int]

    def annotators_for(self, image_id: ImageId) -> tuple[str, ...]:
        """The annotators an image is routed to (empty when it is unassigned or not in the plan)."""
        return tuple(a.annotator_id for a in self.assignments if a.image_id == image_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignments": [a.to_dict() for a in self.assignments],
            "gold_images": list(self.gold_images),
            "unassigned": [{"image_id": i, "reason": r} for i, r in self.unassigned],
            "load": dict(self.load),
        }


def plan_round(
    image_ids: Iterable[ImageId],
    annotators: Iterable[Annotator],
    *,
    k: int,
    seed: int | str,
    gold_image_ids: Iterable[ImageId] = (),
    gold_rate: float = 0.0,
    exclude: Mapping[ImageId, Collection[str]] | None = None,
    reliabilities: Mapping[str, Reliability] | None = None,
) -> RoutingPlan:
    """Route every image (and a seeded draw of gold images) to ``k`` distinct annotators.

    With ``reliabilities`` (measured in earlier rounds, by annotator id) and ``k == 2``, each
    image's pair is :func:`qc.routing_policy.pick_pair`'s among the eligible annotators instead
    of the least loaded: a reliable anchor and a partner drawn by weight, so a less reliable
    annotator is always paired with a reliable one and gets fewer first-pass images.

    Images are visited most-constrained first (most exclusions), then in a seeded order;
    each takes the ``k`` eligible annotators with the lowest load, ties broken by a seeded
    shuffle. Eligible means: not excluded for that image and below capacity. The choice is
    greedy, so with tight capacities and many exclusions an image may be left unassigned
    that a cleverer order would have fitted; it is then listed in ``unassigned``, never
    dropped. Gold images number ``round(gold_rate * len(image_ids))`` (half up), capped at
    the number of gold candidates (a warning is logged when capped).

    Raises :class:`~qc.errors.InvalidOptionError` for ``k < 1`` or ``k`` above the number of
    annotators and ``gold_rate`` outside [0, 1]; :class:`~qc.errors.RoutingError` for duplicate
    annotator or image ids, an image that is both regular and gold, or an ``exclude`` entry
    that is a bare string.

    >>> people = [Annotator("ann", capacity=0), Annotator("bob"), Annotator("cy")]
    >>> plan = plan_round([1, 2], people, k=2, seed=0, exclude={2: {"bob"}})
    >>> plan.annotators_for(1), plan.annotators_for(2)
    (('bob', 'cy'), ())
    >>> plan.unassigned[0][1]
    'image 2 needs 2 distinct annotators; 1 of 3 eligible (1 excluded, 1 at capacity)'
    """
    people = _check_annotators(annotators, k=k)
    regular = _sorted_unique(image_ids, what="image_ids")
    gold = _draw_gold(regular, gold_image_ids, gold_rate=gold_rate, seed=seed)
    banned = _check_exclude(exclude)
    rng = random.Random(f"qc.routing.plan:{seed}")
    load = {p.id: 0 for p in people}
    gold_set = set(gold)
    assignments: list[Assignment] = []
    unassigned: list[tuple[ImageId, str]] = []
    for image_id in _visit_order([*regular, *gold], people, banned, rng):
        barred = banned.get(image_id, frozenset())
        chosen, reason = _pick(image_id, people, load, k=k, banned=barred, rng=rng, reliabilities=reliabilities)
        if not chosen:
            unassigned.append((image_id, reason))
            continue
        kind = AssignmentKind.GOLD if image_id in gold_set else AssignmentKind.CONSENSUS
        for annotator_id in chosen:
            load[annotator_id] += 1
            assignments.append(Assignment(image_id, annotator_id, kind))
    if unassigned:
        n_images = len(regular) + len(gold)
        log.warning("%d of %d images could not be routed to %d annotators", len(unassigned), n_images, k)
    assignments.sort(key=lambda a: (_key(a.image_id), a.annotator_id))
    unassigned.sort(key=lambda u: _key(u[0]))
    return RoutingPlan(tuple(assignments), gold, tuple(unassigned), load)


def next_annotator(
    image_id: ImageId,
    already: Sequence[str],
    annotators: Iterable[Annotator],
    *,
    load: Mapping[str, int],
    seed: int | str,
    exclude: Collection[str] = (),
) -> str | None:
    """The follow-up annotator for an image whose first annotators disagree.

    The least-loaded annotator (``load`` per id, missing ids count 0) who is not in
    ``already``, not in ``exclude`` and below capacity; ties are broken by a shuffle seeded
    by ``seed`` and the image. ``None`` when nobody is eligible.

    >>> people = [Annotator("ann"), Annotator("bob"), Annotator("cy", capacity=3), Annotator("dee")]
    >>> next_annotator("img1", ["ann", "bob"], people, load={"ann": 1, "cy": 3, "dee": 5}, seed=0)
    'dee'
    >>> next_annotator("img1", ["ann", "bob"], people, load={}, seed=0, exclude={"cy", "dee"}) is None
    True
    """
    people = _check_annotators(annotators, k=None)
    if isinstance(exclude, str) or isinstance(already, str):
        raise RoutingError(
            "already and exclude must be collections of annotator ids, not a single string; wrap it: [id].",
            image_id=image_id,
        )
    barred = set(already) | set(exclude)
    eligible = [p for p in people if p.id not in barred and p.has_room(load.get(p.id, 0))]
    if not eligible:
        log.info("image %r: no eligible follow-up annotator (%d barred, rest at capacity)", image_id, len(barred))
        return None
    random.Random(f"qc.routing.next:{seed}:{image_id!r}").shuffle(eligible)
    return min(eligible, key=lambda p: load.get(p.id, 0)).id


def visible_to(annotator_id: str, plan: RoutingPlan) -> tuple[ImageId, ...]:
    """The images ``annotator_id`` is assigned in ``plan``: their own work and nothing else.

    >>> plan = plan_round(["a", "b", "c"], [Annotator("x"), Annotator("y"), Annotator("z")], k=1, seed=1)
    >>> sum(len(visible_to(p, plan)) for p in "xyz"), visible_to("nobody", plan)
    (3, ())
    """
    return tuple(a.image_id for a in plan.assignments if a.annotator_id == annotator_id)


# --- helpers -------------------------------------------------------------------------------


def _key(image_id: ImageId) -> tuple[str, Any]:
    """A total order over ids of mixed types (ints and strings never compared directly)."""
    return (type(image_id).__name__, image_id)


def _sorted_unique(ids: Iterable[ImageId], *, what: str) -> tuple[ImageId, ...]:
    ids = list(ids)
    dupes = sorted((i for i, n in Counter(ids).items() if n > 1), key=_key)
    if dupes:
        raise RoutingError(
            f"{what} must be unique; {len(dupes)} repeated, e.g. {dupes[:5]!r}. Pass each image once.", field=what
        )
    return tuple(sorted(ids, key=_key))


def _check_annotators(annotators: Iterable[Annotator], *, k: int | None) -> tuple[Annotator, ...]:
    people = tuple(sorted(annotators, key=lambda p: p.id))
    dupes = sorted(i for i, n in Counter(p.id for p in people).items() if n > 1)
    if dupes:
        raise RoutingError(
            f"annotator ids must be unique; repeated: {dupes!r}. List each person once (one capacity each).",
            field="annotators",
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(people)):
        raise InvalidOptionError(
            "k",
            f"a whole number between 1 and the number of annotators ({len(people)})",
            k,
            hint="Lower k or add annotators.",
        )
    return people


def _check_exclude(exclude: Mapping[ImageId, Collection[str]] | None) -> dict[ImageId, frozenset[str]]:
    banned: dict[ImageId, frozenset[str]] = {}
    for image_id, ids in (exclude or {}).items():
        if isinstance(ids, str):
            raise RoutingError(
                f"exclude[{image_id!r}] must be a collection of annotator ids, got the string {ids!r}; "
                f"wrap it: {{{ids!r}}}.",
                image_id=image_id,
                field="exclude",
            )
        banned[image_id] = frozenset(ids)
    return banned


def _draw_gold(
    regular: tuple[ImageId, ...], candidates: Iterable[ImageId], *, gold_rate: float, seed: int | str
) -> tuple[ImageId, ...]:
    if isinstance(gold_rate, bool) or not isinstance(gold_rate, int | float) or not 0.0 <= gold_rate <= 1.0:
        raise InvalidOptionError(
            "gold_rate", "a fraction in [0, 1]", gold_rate, hint="Use e.g. 0.05 for one gold image in 20."
        )
    pool = _sorted_unique(candidates, what="gold_image_ids")
    both = sorted(set(pool) & set(regular), key=_key)
    if both:
        raise RoutingError(
            f"{len(both)} images are both regular and gold candidates, e.g. {both[:5]!r}; "
            "an image is either one or the other. Remove them from image_ids or from gold_image_ids.",
            field="gold_image_ids",
        )
    wanted = math.floor(gold_rate * len(regular) + 0.5)
    if wanted > len(pool):
        log.warning("gold_rate %.3f wants %d gold images; %d candidates, using all", gold_rate, wanted, len(pool))
    drawn = random.Random(f"qc.routing.gold:{seed}").sample(pool, min(wanted, len(pool)))
    return tuple(sorted(drawn, key=_key))


def _visit_order(
    image_ids: Sequence[ImageId],
    people: tuple[Annotator, ...],
    banned: Mapping[ImageId, frozenset[str]],
    rng: random.Random,
) -> list[ImageId]:
    """Most-excluded images first (they have the fewest choices), ties in a seeded order."""
    ids = {p.id for p in people}
    ranked = sorted(image_ids, key=_key)
    draw = {image_id: rng.random() for image_id in ranked}
    return sorted(ranked, key=lambda i: (-len(banned.get(i, frozenset()) & ids), draw[i]))


def _pick(
    image_id: ImageId,
    people: tuple[Annotator, ...],
    load: Mapping[str, int],
    *,
    k: int,
    banned: frozenset[str],
    rng: random.Random,
    reliabilities: Mapping[str, Reliability] | None = None,
) -> tuple[list[str], str]:
    """The ``k`` least-loaded eligible annotators (seeded tie-break), or ``[]`` and the reason.

    A pair (``k == 2``) with ``reliabilities`` is :func:`qc.routing_policy.pick_pair`'s instead.
    """
    allowed = [p for p in people if p.id not in banned]
    eligible = [p for p in allowed if p.has_room(load[p.id])]
    if len(eligible) < k:
        reason = (
            f"image {image_id!r} needs {k} distinct annotators; {len(eligible)} of {len(people)} eligible "
            f"({len(people) - len(allowed)} excluded, {len(allowed) - len(eligible)} at capacity)"
        )
        return [], reason
    if k == 2 and reliabilities:
        ids = sorted(p.id for p in eligible)
        measured = {n: reliabilities[i] for n, i in enumerate(ids) if i in reliabilities}
        first, second = pick_pair(range(len(ids)), measured, rng)
        return [ids[first], ids[second]], ""
    rng.shuffle(eligible)
    eligible.sort(key=lambda p: load[p.id])
    return [p.id for p in eligible[:k]], ""
