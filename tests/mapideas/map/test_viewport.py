"""mapideas.map.viewport.viewport(): pins when few or zoomed in, else clusters whose counts are
exact for the filters applied, never more than MAX_FEATURES features."""

import math
from collections import Counter
from datetime import timedelta

import h3
import pytest
from django.contrib.gis.geos import Point, Polygon
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mapideas.map import viewport as viewport_module
from mapideas.map.viewport import viewport
from mapideas.models import Category, Idea
from mapideas.pins.selectors import public_ideas
from mapideas.submission.services import idea_create
from tests.spatial_index import assert_read_through_rtree, edge_pins

pytestmark = pytest.mark.django_db

# The whole test city and its island, with a margin.
CITY_BBOX = Polygon.from_bbox((3.99, 49.99, 4.07, 50.02))
# Pins spread over the city's land (West, East, Harbor and its island): several H3 cells at
# resolution 9 (~0.2 km across), fewer at 7 (~1.4 km).
SPOTS = [
    (3.9990, 50.0010),
    (4.0010, 50.0090),
    (4.0050, 50.0050),
    (4.0120, 50.0020),
    (4.0150, 50.0080),
    (4.0190, 50.0040),
    (4.0220, 50.0010),
    (4.0280, 50.0090),
    (4.0520, 50.0030),
    (4.0580, 50.0080),
]


@pytest.fixture
def pins(city, category) -> list[Idea]:
    """Twenty pins, two per spot: an idea in `category`, an issue in another; older first."""
    other = Category.objects.get(slug="lighting-safety")
    start = timezone.now() - timedelta(days=30)
    made = []
    for i, (lon, lat) in enumerate(SPOTS):
        for j, (kind, cat) in enumerate((("idea", category), ("issue", other))):
            made.append(
                idea_create(
                    kind=kind,
                    title=f"{kind} {i}",
                    category=cat,
                    location=Point(lon + j * 0.0001, lat, srid=4326),
                    created_at=start + timedelta(hours=2 * i + j),
                )
            )
    return made


@pytest.fixture
def few(monkeypatch):
    """A threshold of 5 pins, so twenty make clusters."""
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", 5)


def cell_counts(ideas, resolution: int) -> Counter:
    """The expected clusters, counted apart from the selector: from each pin's coordinates."""
    return Counter(
        h3.latlng_to_cell(idea.location.y, idea.location.x, resolution) for idea in ideas
    )


def test_it_gives_the_pins_when_they_are_few(pins):
    answer = viewport(public_ideas(), CITY_BBOX, 10)

    assert answer.mode == "pins"
    assert answer.total == 20 and not answer.truncated
    # Newest first, as the API lists them.
    assert [row["id"] for row in answer.pins] == [p.pk for p in reversed(pins)]
    assert answer.pins[0]["lon"] == pytest.approx(pins[-1].location.x)


def test_it_gives_clusters_with_exact_counts_beyond_the_threshold(pins, few):
    answer = viewport(public_ideas(), CITY_BBOX, 14)

    assert answer.mode == "clusters"
    assert answer.level == "h3-9"
    assert answer.total == 20
    assert {c.cell: c.count for c in answer.clusters} == cell_counts(pins, 9)


@pytest.mark.parametrize(("zoom", "resolution"), [(10, 7), (11, 8), (12, 8), (13, 9), (15, 9)])
def test_the_zoom_chooses_the_cell_size(pins, few, zoom, resolution):
    answer = viewport(public_ideas(), CITY_BBOX, zoom)

    assert answer.level == f"h3-{resolution}"
    assert {c.cell: c.count for c in answer.clusters} == cell_counts(pins, resolution)


@pytest.mark.parametrize("zoom", [3, 9])
def test_below_zoom_10_squares_are_counted(pins, few, zoom):
    answer = viewport(public_ideas(), CITY_BBOX, zoom)

    assert answer.level.startswith("grid-")
    size = float(answer.level.removeprefix("grid-"))
    expected = Counter(
        f"grid-{size:g}-{math.floor(p.location.x / size)}-{math.floor(p.location.y / size)}"
        for p in pins
    )
    assert {c.cell: c.count for c in answer.clusters} == expected


def test_a_cell_cluster_sits_at_the_cell_centre(pins, few):
    answer = viewport(public_ideas(), CITY_BBOX, 15)

    for cluster in answer.clusters:
        lat, lon = h3.cell_to_latlng(cluster.cell)
        assert (cluster.lon, cluster.lat) == pytest.approx((lon, lat))


def test_a_square_cluster_sits_at_the_mean_position_of_its_pins(pins, few):
    answer = viewport(public_ideas(), CITY_BBOX, 9)
    size = float(answer.level.removeprefix("grid-"))

    for cluster in answer.clusters:
        members = [
            p
            for p in pins
            if cluster.cell
            == f"grid-{size:g}-{math.floor(p.location.x / size)}-{math.floor(p.location.y / size)}"
        ]
        assert cluster.lon == pytest.approx(sum(p.location.x for p in members) / len(members))
        assert cluster.lat == pytest.approx(sum(p.location.y for p in members) / len(members))


def test_pins_on_the_edge_of_the_bbox_are_in_view_and_those_just_outside_are_not(
    city, category, few
):
    for i in range(6):
        idea_create(kind="idea", title=f"in {i}", category=category, location=Point(4.012, 50.004))
    idea_create(kind="idea", title="out", category=category, location=Point(4.0120001, 50.004))
    edge = Polygon.from_bbox((4.0, 50.0, 4.012, 50.004))

    assert viewport(public_ideas(), edge, 14).total == 6
    assert viewport(public_ideas(), edge, 16).total == 6


def test_counts_are_exact_for_the_filters_and_the_bbox(pins, few, category):
    east_half = Polygon.from_bbox((4.011, 49.99, 4.07, 50.02))
    ideas = public_ideas().filter(category=category)

    answer = viewport(ideas, east_half, 14)

    expected = [
        p for p in pins if p.category_id == category.pk and east_half.intersects(p.location)
    ]
    assert answer.mode == "clusters"
    assert answer.total == len(expected) == 7
    assert {c.cell: c.count for c in answer.clusters} == cell_counts(expected, 9)


def test_pins_awaiting_confirmation_are_not_counted(pins, few):
    Idea.objects.filter(pk__in=[p.pk for p in pins[:4]]).update(awaiting_confirmation=True)

    answer = viewport(public_ideas(), CITY_BBOX, 12)

    assert answer.total == 16
    assert sum(c.count for c in answer.clusters) == 16


def test_pins_without_cells_are_counted_by_a_grid(pins, few):
    # As a raw SQL write leaves them.
    no_cells = [p.pk for p in pins[:6]]
    Idea.objects.filter(pk__in=no_cells).update(h3_res7=None, h3_res8=None, h3_res9=None)

    answer = viewport(public_ideas(), CITY_BBOX, 14)

    assert answer.total == 20
    by_cell = {c.cell: c.count for c in answer.clusters}
    assert None not in by_cell
    grid = {cell: n for cell, n in by_cell.items() if cell.startswith("grid-")}
    assert sum(grid.values()) == 6
    assert {c: n for c, n in by_cell.items() if c not in grid} == cell_counts(pins[6:], 9)


def test_zoom_16_gives_pins_however_many(pins, few):
    answer = viewport(public_ideas(), CITY_BBOX, 16)

    assert answer.mode == "pins"
    assert answer.total == 20 and len(answer.pins) == 20


def test_pins_beyond_the_cap_are_cut_newest_first_and_said(pins, monkeypatch):
    monkeypatch.setattr(viewport_module, "MAX_FEATURES", 7)

    answer = viewport(public_ideas(), CITY_BBOX, 17)

    assert answer.mode == "pins"
    assert answer.truncated
    assert answer.total == 20
    assert [row["id"] for row in answer.pins] == [p.pk for p in reversed(pins)][:7]


@pytest.mark.parametrize("zoom", [5, 10, 12, 14, 15])
def test_no_level_gives_more_clusters_than_the_cap(pins, few, monkeypatch, zoom):
    # A cap below the pins' cells at every resolution: each level is refused in turn, down
    # to a grid coarse enough for the bbox to hold at most `cap` squares.
    cap = len(cell_counts(pins, 7)) - 1
    monkeypatch.setattr(viewport_module, "MAX_FEATURES", cap)

    answer = viewport(public_ideas(), CITY_BBOX, zoom)

    assert answer.mode == "clusters"
    assert answer.level.startswith("grid-")
    assert 1 <= len(answer.clusters) <= cap
    assert sum(c.count for c in answer.clusters) == answer.total == 20


def test_a_coarser_cell_is_used_when_a_finer_one_gives_too_many(pins, few, monkeypatch):
    cells_9, cells_7 = len(cell_counts(pins, 9)), len(cell_counts(pins, 7))
    assert cells_7 < cells_9
    monkeypatch.setattr(viewport_module, "MAX_FEATURES", cells_7)

    answer = viewport(public_ideas(), CITY_BBOX, 14)

    assert answer.level in {"h3-7", "h3-8"}
    assert len(answer.clusters) <= cells_7
    assert sum(c.count for c in answer.clusters) == 20


def test_an_empty_viewport_is_no_pins(pins):
    answer = viewport(public_ideas(), Polygon.from_bbox((10, 10, 11, 11)), 10)

    assert answer.mode == "pins"
    assert answer.total == 0 and answer.pins == [] and not answer.truncated


@pytest.mark.parametrize(("zoom", "threshold"), [(10, 1000), (10, 3), (13, 3), (16, 3)])
def test_the_spatial_index_finds_the_pins_on_the_edges_and_no_pin_outside(
    city, category, monkeypatch, zoom, threshold
):
    # Pins, or clusters counted from the pins (threshold 3), against the exact answer; the
    # R*Tree's float32 boxes hold the pins just outside as well as those on the edges.
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", threshold)
    pins = edge_pins(category)

    with CaptureQueriesContext(connection) as queries:
        answer = viewport(public_ideas(), pins.bbox, zoom)

    assert answer.total == len(pins.inside)
    if answer.mode == "pins":
        assert {row["id"] for row in answer.pins} == {p.pk for p in pins.inside}
    else:
        assert {c.cell: c.count for c in answer.clusters} == cell_counts(
            pins.inside, int(answer.level.removeprefix("h3-"))
        )
    assert_read_through_rtree(queries.captured_queries, "mapideas_idea", "location")
