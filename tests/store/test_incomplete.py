"""Issue 13 item 7: a submission whose image lost annotations to rejections is stored incomplete, never scored
as an answer; the rejections that still stand are listed per image and annotator (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from qc.core import ImageInfo, Segment
from qc.formats._base import ParsedAnnotations, Rejection
from qc.store import db, ingest
from qc.store.results import image_inputs
from qc.store.submissions import current_rejections
from tests.store.test_ingest import H, W, World, box_mask, ingest_alice, parsed_file, world

__all__ = ["world"]

UNKNOWN_CLASS = Rejection("alice.json", 1, 21, "category_id", "category id 9 is not one of the allowed categories")


def one_good_one_refused() -> ParsedAnnotations:
    """Image a (file id 1): annotation 20 kept, 21 refused by the reader; image b (id 2): complete."""
    segments = [(1, Segment(20, 1, box_mask(0, 0, 3, 2))), (2, Segment(30, 1, box_mask(1, 1, 4, 4)))]
    return parsed_file(segments, rejections=(UNKNOWN_CLASS,))


def test_a_submission_that_lost_an_annotation_is_stored_incomplete(engine: Engine, world: World) -> None:
    result = ingest_alice(engine, world, one_good_one_refused(), "f1")
    assert len(result.created) == 2 and result.rejections == 1 and len(result.incomplete) == 1
    image_a, image_b = world.images["a.png"], world.images["b.png"]
    with db.session_scope(engine, write=False) as session:
        refs = {r.image_id: r for r in ingest.latest_submissions(session, round_id=world.round_id)}
        assert (refs[image_a].rejections, refs[image_a].complete) == (1, False)
        assert (refs[image_b].rejections, refs[image_b].complete) == (0, True)
        assert result.incomplete == (refs[image_a].submission_id,)
        (stored,) = ingest.list_rejections(session, round_id=world.round_id)
        assert (stored.image_id, stored.submission_id) == (image_a, refs[image_a].submission_id)
        (standing,) = current_rejections(session, round_id=world.round_id)
        assert (standing.image_id, standing.annotator_id, standing.field) == (image_a, world.alice, "category_id")
        assert standing.submission_id == refs[image_a].submission_id


def test_the_same_file_again_stores_nothing_and_a_fixed_one_makes_a_complete_version(
    engine: Engine, world: World
) -> None:
    ingest_alice(engine, world, one_good_one_refused(), "f1")
    assert ingest_alice(engine, world, one_good_one_refused(), "f1").stored_nothing
    assert ingest_alice(engine, world, one_good_one_refused(), "f1-renamed").stored_nothing  # same content
    fixed = parsed_file(
        [
            (1, Segment(20, 1, box_mask(0, 0, 3, 2))),
            (1, Segment(21, 1, box_mask(5, 3, 8, 6))),
            (2, Segment(30, 1, box_mask(1, 1, 4, 4))),
        ]
    )
    result = ingest_alice(engine, world, fixed, "f2")
    assert len(result.created) == 1 and result.incomplete == ()
    with db.session_scope(engine, write=False) as session:
        (ref,) = ingest.latest_submissions(session, round_id=world.round_id, image_id=world.images["a.png"])
        assert (ref.version, ref.complete) == (2, True)
        assert current_rejections(session, round_id=world.round_id) == []


def test_dropping_the_refused_annotation_on_purpose_also_completes_it(engine: Engine, world: World) -> None:
    """The same kept segments without the rejection are new content: the annotator removed what was refused."""
    ingest_alice(engine, world, one_good_one_refused(), "f1")
    without = parsed_file([(1, Segment(20, 1, box_mask(0, 0, 3, 2))), (2, Segment(30, 1, box_mask(1, 1, 4, 4)))])
    result = ingest_alice(engine, world, without, "f2")
    assert len(result.created) == 1
    with db.session_scope(engine, write=False) as session:
        (ref,) = ingest.latest_submissions(session, round_id=world.round_id, image_id=world.images["a.png"])
        assert (ref.version, ref.rejections) == (2, 0)


def test_an_image_whose_every_annotation_was_refused_is_not_complete(engine: Engine, world: World) -> None:
    refused = [Rejection("alice.json", 1, n, "category_id", "category id 9 is unknown") for n in range(20)]
    parsed = parsed_file([(2, Segment(30, 1, box_mask(1, 1, 4, 4)))], rejections=tuple(refused))
    ingest_alice(engine, world, parsed, "f1")
    with db.session_scope(engine, write=False) as session:
        inputs = image_inputs(session, round_id=world.round_id)
        a, b = inputs[world.images["a.png"]], inputs[world.images["b.png"]]
        assert [s.rejections for s in a.submissions] == [20] and not a.complete  # bob has not delivered either
        assert len(current_rejections(session, round_id=world.round_id, image_ids=[world.images["a.png"]])) == 20
        assert b.complete and {s.annotator_id for s in b.submissions} == {world.alice}  # b is alice's alone


def test_an_image_refused_whole_is_tied_to_the_assignment_and_waits(engine: Engine, world: World) -> None:
    """A reader that refused an image (declared at another size) names it; the rejection stands for that image."""
    refused_image = Rejection("alice.json", 1, None, "height", "image 'a.png' is declared 12x16", "a.png")
    annotation = Rejection("alice.json", 1, 40, "image_id", "image 1 was refused (see its rejection)")
    parsed = ParsedAnnotations(
        "alice.json", "coco", {2: ImageInfo(2, "b.png", H, W)}, rejections=[refused_image, annotation]
    )
    result = ingest_alice(engine, world, parsed, "f1")
    assert len(result.created) == 1 and result.incomplete == () and result.missing != ()
    with db.session_scope(engine, write=False) as session:
        standing = current_rejections(session, round_id=world.round_id)
        assert [(r.image_id, r.annotator_id, r.field) for r in standing] == [
            (world.images["a.png"], world.alice, "height"),
            (world.images["a.png"], world.alice, "image_id"),
        ]
        assert all(r.submission_id is None for r in standing)
