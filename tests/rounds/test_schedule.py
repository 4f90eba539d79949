"""Scheduling: each image routed blind to the guideline's k_initial annotators; round names are unique."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from qc import rounds
from qc.errors import ConflictError, InvalidOptionError
from qc.store import db
from qc.store.rounds import round_named
from tests.support.rounds import assigned, setup_round


def test_schedule_routes_each_image_to_k_initial_annotators(engine: Engine) -> None:
    round_id, images = setup_round(engine, images=3)
    with db.session_scope(engine, write=False) as session:
        assert [len(assigned(session, round_id, i)) for i in images] == [2, 2, 2]
        with pytest.raises(ConflictError, match="round named 'r1'"):
            rounds.schedule_round(session, project_id=1, annotators=["ann", "bob"], seed=1, name="r1")


def test_a_bad_round_kind_is_refused_with_the_choices(engine: Engine) -> None:
    setup_round(engine)
    with db.session_scope(engine) as session, pytest.raises(InvalidOptionError, match="got 'weekly'") as info:
        rounds.schedule_round(session, project_id=1, annotators=["ann", "bob"], seed=1, kind="weekly")
    assert info.value.expected == ("consensus", "gold", "rework")


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_refused_not_taken_as_the_default(engine: Engine, k: int) -> None:
    """``qc round schedule --k 0`` scheduled a round with the guideline's k_initial in silence; now, as --k -1, it
    is refused naming k, and no round is created."""
    setup_round(engine)
    with db.session_scope(engine) as session, pytest.raises(InvalidOptionError, match=f"k must be .*; got {k}"):
        rounds.schedule_round(session, project_id=1, annotators=["ann", "bob"], seed=1, k=k, name="k-below-one")
    with db.session_scope(engine, write=False) as session:
        assert round_named(session, project_id=1, name="k-below-one") is None
