"""The demo's data side: bundled pictures, the committed truth, simulated annotators."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qc import masks
from qc.agreement import AgreementSettings, score_image
from qc.checks import check_submission
from qc.core import Segment, Verdict
from qc.demo import (
    DEFAULT_TRUTH,
    PROFILES,
    Simulation,
    demo_images,
    image_infos,
    load_truth,
    simulate,
    small_area,
    source_picture,
    write_demo_images,
    write_submission,
)
from qc.errors import FormatError, InvalidOptionError
from qc.flags import FindingKind, assess
from qc.formats import read_instances
from qc.formats._base import ParsedAnnotations
from qc.guideline import Guideline, load_guideline
from qc.match import match_instances

REPO_ROOT = Path(__file__).resolve().parent.parent
GUIDELINE = REPO_ROOT / "examples" / "guideline.yaml"
SEED = 7


@pytest.fixture(scope="module")
def truth() -> ParsedAnnotations:
    return load_truth()


@pytest.fixture(scope="module")
def guideline() -> Guideline:
    return load_guideline(GUIDELINE)


@pytest.fixture(scope="module")
def simulations(truth: ParsedAnnotations) -> dict[str, Simulation]:
    return {name: simulate(truth.segments, profile=name, seed=SEED + i) for i, name in enumerate(PROFILES)}


def on_image(segments: list[tuple[Any, Segment]], image_id: Any) -> list[Segment]:
    return [s for i, s in segments if i == image_id]


def matched_ious(truth: ParsedAnnotations, simulation: Simulation) -> list[float]:
    return [
        m.iou
        for image_id in truth.images
        for m in match_instances(
            on_image(truth.segments, image_id), on_image(simulation.segments, image_id), class_agnostic=True
        )
    ]


# --- pictures --------------------------------------------------------------------------------------------


def test_pictures_are_bundled_with_scikit_image() -> None:
    from skimage import data

    for file_name in ("coins.png", "cell.png", "hubble_deep_field.jpg"):
        assert (Path(data.data_dir) / file_name).is_file(), file_name


def test_demo_images_are_deterministic_and_cut_as_listed() -> None:
    first, second = demo_images(), demo_images()
    assert [i.file_name for i in first] == [i.file_name for i in second]
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(first, second, strict=True))
    assert len(first) == 13
    assert len({i.file_name for i in first}) == 13
    assert Counter(i.source for i in first) == {"coins": 5, "hubble_deep_field": 6, "cell": 2}
    for image in first:
        assert image.pixels.dtype == np.uint8
        x0, y0, x1, y1 = image.box
        assert (image.height, image.width) == (y1 - y0, x1 - x0)
    hubble = [i for i in first if i.source == "hubble_deep_field"]
    assert {i.pixels.shape for i in hubble} == {(400, 400, 3)}


def test_write_demo_images_round_trips_the_pixels(tmp_path: Path) -> None:
    from PIL import Image

    images = demo_images()
    paths = write_demo_images(tmp_path, images[:3])
    assert [p.name for p in paths] == ["coins.png", "coins_tile_1.png", "coins_tile_2.png"]
    for path, image in zip(paths, images[:3], strict=True):
        with Image.open(path) as handle:
            assert np.array_equal(np.asarray(handle), image.pixels)


# --- truth -----------------------------------------------------------------------------------------------


def test_truth_reads_cleanly_and_matches_the_pictures(truth: ParsedAnnotations) -> None:
    assert truth.rejections == []
    assert DEFAULT_TRUTH.stat().st_size < 1_000_000
    images = demo_images()
    assert [i.to_dict() for i in image_infos(images)] == [i.to_dict() for i in truth.images.values()]
    assert sorted(truth.categories) == [1, 2, 3, 4]


def test_truth_complies_with_every_guideline_rule(truth: ParsedAnnotations, guideline: Guideline) -> None:
    for image_id, info in truth.images.items():
        segments = on_image(truth.segments, image_id)
        violations = check_submission(segments, height=info.height, width=info.width, guideline=guideline)
        assert violations == [], (info.file_name, [v.message for v in violations])


def test_truth_has_enough_instances_of_mixed_sizes(truth: ParsedAnnotations) -> None:
    counts = Counter(image_id for image_id, _ in truth.segments)
    for image_id, info in truth.images.items():
        expected = range(1, 2) if info.file_name.startswith("cell") else range(8, 41)
        assert counts[image_id] in expected, (info.file_name, counts[image_id])
    classes = Counter(s.category_id for _, s in truth.segments)
    assert classes[3] >= 50 and classes[4] >= 50  # galaxies and stars to confuse
    areas = [s.area for _, s in truth.segments]
    assert min(areas) < 30 < 1000 < max(areas)


def test_load_truth_from_an_explicit_path(tmp_path: Path) -> None:
    copy = tmp_path / "truth.json"
    copy.write_bytes(DEFAULT_TRUTH.read_bytes())
    assert len(load_truth(copy).segments) == len(load_truth().segments)
    with pytest.raises(FormatError, match="pass the path"):
        load_truth(tmp_path / "absent.json")


# --- simulated annotators --------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", list(PROFILES))
def test_simulation_is_deterministic_per_seed(truth: ParsedAnnotations, profile: str) -> None:
    some = [(i, s) for i, s in truth.segments if i in (3, 7)]
    first = simulate(some, profile=profile, seed=1)
    assert simulate(some, profile=profile, seed=1) == first
    other = simulate(some, profile=profile, seed=2)
    assert [s.rle for _, s in other.segments] != [s.rle for _, s in first.segments]


def test_simulation_of_some_images_equals_their_part_of_the_whole(
    truth: ParsedAnnotations, simulations: dict[str, Simulation]
) -> None:
    whole = simulations["sloppy"]
    part = simulate(truth.segments, profile="sloppy", seed=SEED + 1, image_ids=[7, 12])
    assert {i for i, _ in part.segments} == {7, 12}
    assert [s.rle for _, s in part.segments] == [s.rle for i, s in whole.segments if i in (7, 12)]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_simulated_ids_are_unique_and_the_only_violations_are_the_listed_slips(
    truth: ParsedAnnotations, simulations: dict[str, Simulation], guideline: Guideline, profile: str
) -> None:
    simulation = simulations[profile]
    segments = simulation.segments
    assert len({s.id for _, s in segments}) == len(segments)
    found: set[tuple[Any, Any, str]] = set()
    for image_id, info in truth.images.items():
        violations = check_submission(
            on_image(segments, image_id), height=info.height, width=info.width, guideline=guideline
        )
        found |= {(image_id, v.segment_id, str(v.rule)) for v in violations}
    slips = set(simulation.slips)
    assert len(slips) == len(simulation.slips) >= 1
    # a sliver of a class with min_area_perimeter_ratio is also thin: the sliver rule may join min_area
    thin = {(i, sid, "sliver") for i, sid, rule in slips if rule == "min_area"}
    assert slips <= found <= slips | thin, (profile, sorted(found ^ slips))
    classes = {(i, s.id): s.category_id for i, s in segments}
    assert all(classes[i, sid] in PROFILES[profile].slip_classes for i, sid, rule in slips if rule != "min_area")


def test_slips_are_rare_and_sloppy_slips_most(simulations: dict[str, Simulation]) -> None:
    kinds = {name: Counter(rule for *_, rule in sim.slips) for name, sim in simulations.items()}
    for name, simulation in simulations.items():
        assert 1 <= len(simulation.slips) <= 0.06 * len(simulation.segments), (name, kinds[name])
    assert len(simulations["sloppy"].slips) == max(len(sim.slips) for sim in simulations.values())
    assert sum(kinds.values(), Counter()).keys() == {"holes", "max_parts", "min_area"}


def test_careful_is_close_to_the_truth_and_sloppy_is_not(
    truth: ParsedAnnotations, simulations: dict[str, Simulation]
) -> None:
    careful = matched_ious(truth, simulations["careful"])
    sloppy = matched_ious(truth, simulations["sloppy"])
    assert len(careful) == len(truth.segments)
    assert np.mean(careful) > 0.9
    assert np.mean(sloppy) < np.mean(careful) - 0.1
    assert np.mean(np.array(sloppy) < 0.8) > 0.4  # often below the guideline's accept_iou


def test_misses_small_removes_exactly_the_listed_instances(
    truth: ParsedAnnotations, simulations: dict[str, Simulation]
) -> None:
    simulation = simulations["misses_small"]
    removed = set(simulation.removed)
    unmatched = set()
    for image_id in truth.images:
        shown = on_image(truth.segments, image_id)
        matches = match_instances(shown, on_image(simulation.segments, image_id), class_agnostic=True)
        unmatched |= {(image_id, s.id) for s in shown} - {(image_id, m.a_id) for m in matches}
    assert unmatched == removed
    threshold = small_area(truth.segments, quantile=PROFILES["misses_small"].drop_small_quantile)
    small = {(i, s.id) for i, s in truth.segments if s.area < threshold}
    assert len(small) >= 40
    assert small <= removed
    assert len(removed - small) <= 0.1 * (len(truth.segments) - len(small))  # the small random share
    slivers = [slip for slip in simulation.slips if slip[2] == "min_area"]  # extra segments, matching nothing
    assert len(simulation.segments) == len(truth.segments) - len(removed) + len(slivers)


def test_confuses_class_relabels_exactly_the_listed_instances(
    truth: ParsedAnnotations, simulations: dict[str, Simulation]
) -> None:
    simulation = simulations["confuses_class"]
    assert simulation.removed == []
    changed = set()
    for image_id in truth.images:
        matches = match_instances(
            on_image(truth.segments, image_id), on_image(simulation.segments, image_id), class_agnostic=True
        )
        changed |= {(image_id, m.a_id, m.b_category) for m in matches if m.class_conflict}
    assert changed == set(simulation.relabelled)
    classes = {(i, s.id): s.category_id for i, s in truth.segments}
    assert {(classes[i, sid], new) for i, sid, new in simulation.relabelled} == {(3, 4), (4, 3)}
    eligible = sum(1 for _, s in truth.segments if s.category_id in (3, 4))
    assert 0.15 < len(changed) / eligible < 0.45


def test_write_submission_round_trips(tmp_path: Path, truth: ParsedAnnotations) -> None:
    simulation = simulate([(i, s) for i, s in truth.segments if i == 2], profile="sloppy", seed=3)
    path = tmp_path / "sloppy.json"
    images = [truth.images[2]]
    write_submission(path, images=images, segments=simulation.segments, categories=truth.categories)
    parsed = read_instances(path)
    assert parsed.rejections == []
    assert [(s.id, s.category_id, s.rle) for _, s in parsed.segments] == [
        (s.id, s.category_id, s.rle) for _, s in simulation.segments
    ]


def test_edge_cases() -> None:
    assert simulate([], profile="careful", seed=0) == Simulation([], [], [])
    assert small_area([], quantile=0.25) == 0.0
    with pytest.raises(InvalidOptionError, match="profile must be one of careful, sloppy, misses_small, confuses_cl"):
        simulate([], profile="lazy", seed=0)
    square = np.zeros((10, 10), dtype=bool)
    square[4:6, 4:6] = True
    tiny = [(1, Segment(1, 4, masks.encode(square)))]
    # a 4 px star is only ever grown, never lost or split
    for name in PROFILES:
        out = simulate(tiny, profile=name, seed=5)
        assert [s.area >= 4 for _, s in out.segments] == ([True] if not out.removed else [])


# --- the four annotators through scoring and flags ------------------------------------------------------


def test_four_profiles_give_annotator_findings_and_some_accepted_images(
    truth: ParsedAnnotations, simulations: dict[str, Simulation], guideline: Guideline
) -> None:
    thresholds = guideline.thresholds
    settings = AgreementSettings(
        match_iou=thresholds.match_iou,
        accept_iou=thresholds.accept_iou,
        accept_boundary_iou=thresholds.accept_boundary_iou,
        dilation_ratio=thresholds.dilation_ratio,
    )
    kinds: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    for image_id, info in truth.images.items():
        by_annotator = {name: on_image(sim.segments, image_id) for name, sim in simulations.items()}
        agreement = score_image(
            by_annotator, height=info.height, width=info.width, image_id=image_id, settings=settings
        )
        assessment = assess(agreement)
        kinds.update(f.kind.value for f in assessment.findings)
        verdicts[assessment.verdict.value] += 1
        for finding in assessment.findings:
            if finding.kind is FindingKind.MISSED:
                assert finding.annotators == ("misses_small",) or finding.annotators == ("sloppy",)
            if finding.kind is FindingKind.CLASS_OUTLIER:
                assert finding.annotators == ("confuses_class",)
    assert kinds[FindingKind.MISSED] > 5
    assert kinds[FindingKind.OUTLIER_SHAPE] > 20
    assert kinds[FindingKind.CLASS_OUTLIER] >= 1
    assert verdicts[Verdict.ACCEPTED] >= 2 and verdicts[Verdict.REVIEW] >= 2


def test_an_unknown_picture_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidOptionError, match="picture must be one of cell, coins, hubble_deep_field; got 'moon'"):
        source_picture("moon")
