"""geodata.engagement.hexagons.selection_cells: a hexagon layer's pins per cell, read from
the counts kept on write when its filters allow, equal to counting the pins themselves; and
the neighborhood figures the layer stands on (rates.neighborhood_engagement without trends),
read from the same counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geodata.engagement.fields import RESOLUTIONS
from geodata.engagement.hexagons import pin_cells, pin_groups, selection_cells
from geodata.engagement.layers import engagement_layer
from geodata.engagement.query import parse_query
from geodata.engagement.rates import midnight, neighborhood_engagement
from mapideas.models import Category, Idea
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted(category):
    """The grid city's pins (every other one stored without its cells), some moved to another
    category, closed or hidden, so each filter selects a part of them."""
    version = grid.grid_version()
    created = grid.insert_pins(grid.planted_pins(), category, version)
    other = Category.objects.exclude(pk=category.pk).order_by("pk").first()
    Idea.objects.filter(pk__in=[i.pk for i in created[::3]]).update(category=other)
    Idea.objects.filter(pk__in=[i.pk for i in created[1::4]]).update(status=Idea.Status.DONE)
    Idea.objects.filter(pk__in=[i.pk for i in created[2::7]]).update(awaiting_confirmation=True)
    return created


FILTERS = [
    {},
    {"category": "parks-green-space"},
    {"kind": "issue"},
    {"status": "done"},
    {"channel": "paper"},
    {"category": "parks-green-space", "kind": "idea", "status": "new"},
]


@pytest.mark.parametrize("params", FILTERS)
def test_the_kept_counts_equal_the_pins_counted(planted, params):
    selection, _options = parse_query("engagement-hexagons", params)
    assert selection.kept is not None
    for resolution in RESOLUTIONS:
        kept = selection_cells(selection, resolution)
        counted = pin_cells(selection.ideas, resolution)
        assert kept.to_dict() == counted.to_dict()
        assert kept.sum() == selection.ideas.count() > 0


def test_without_unbinned_pins_no_pin_is_read(planted):
    for idea in Idea.objects.filter(h3_res8__isnull=True):
        idea.save()  # the model stores its cells
    selection, _options = parse_query("engagement-hexagons", {})
    with CaptureQueriesContext(connection) as queries:
        kept = selection_cells(selection, 8)
    assert kept.sum() == selection.ideas.count()
    assert not any("mapideas_idea" in q["sql"] for q in queries.captured_queries)


def test_a_date_range_counts_the_pins_themselves(planted):
    selection, _options = parse_query(
        "engagement-hexagons", {"created_after": str(grid.NOW.date() - timedelta(days=10))}
    )
    assert selection.kept is None
    assert selection_cells(selection, 8).to_dict() == pin_cells(selection.ideas, 8).to_dict()


@pytest.mark.parametrize("params", FILTERS)
def test_neighborhood_figures_without_trends_equal_the_pins_counted(planted, params):
    selection, _options = parse_query("engagement-hexagons", params)
    kept = neighborhood_engagement(selection, trends=False)
    counted = neighborhood_engagement(selection)
    assert kept.frame["count"].sum() > 0
    for column in ("count", "offline_count", "per_km2", "ratio", "ratio_high", "thin"):
        assert kept.frame[column].equals(counted.frame[column]), column
    assert kept.city == counted.city
    # Not counted, so not given: never a change of 0.
    assert kept.frame["change"].isna().all()
    assert not kept.frame["thinning"].any()


def test_the_hexagon_layer_reads_no_pin_without_a_date_range(planted):
    for idea in Idea.objects.filter(h3_res8__isnull=True):
        idea.save()  # the model stores its cells
    selection, options = parse_query("engagement-hexagons", {"resolution": "8"})
    with CaptureQueriesContext(connection) as queries:
        layer = engagement_layer("engagement-hexagons", selection, options)
    assert layer.frame["count"].sum() == selection.ideas.count()
    assert not any("mapideas_idea" in q["sql"] for q in queries.captured_queries)


def _day(days_ago: int) -> str:
    return str(grid.NOW.date() - timedelta(days=days_ago))


@pytest.mark.parametrize("trends", [True, False])
@pytest.mark.parametrize(
    "params",
    [
        {"created_after": _day(20), "created_before": _day(10)},
        {"created_after": _day(5)},
        {"created_before": _day(15)},
        {"created_after": _day(20), "created_before": _day(10), "channel": "paper"},
    ],
)
def test_a_date_range_counts_each_window_as_every_pin_would(planted, params, trends):
    """The GROUP BY reads only the pins of the range and the trend windows (a range of the
    creation index): each neighborhood's counts are those of every pin of the selection,
    tested one by one here."""
    selection, _options = parse_query("engagement-neighborhoods", params)
    figures = neighborhood_engagement(selection, trends=trends).frame
    period = selection.period
    windows = {
        "count": (selection.since, selection.until),
        "count_current": (midnight(period.start), midnight(period.end + timedelta(days=1))),
        "count_previous": (midnight(period.previous_start), midnight(period.start)),
    }
    expected: dict[str, dict[int, int]] = {name: {} for name in windows}
    for neighborhood, created_at in selection.undated.values_list("neighborhood_id", "created_at"):
        for name, (start, end) in windows.items():
            if (start is None or created_at >= start) and (end is None or created_at < end):
                expected[name][neighborhood] = expected[name].get(neighborhood, 0) + 1
    assert sum(expected["count"].values()) > 0
    names = list(windows) if trends else ["count"]
    for name in names:
        got = {int(k): int(v) for k, v in figures[name].items() if v}
        assert got == expected[name], name
    if not trends:
        assert figures["count_current"].isna().all()


DATED = [
    {"created_after": _day(20), "created_before": _day(10)},
    {"created_after": _day(5), "channel": "paper"},
    {"created_before": _day(15), "category": "parks-green-space", "status": "new"},
]


@pytest.mark.parametrize("params", DATED)
def test_a_dated_hexagon_layer_counts_its_neighborhoods_and_cells_in_one_scan(planted, params):
    """Pins stored without cells included (every other one of the grid city's): they are
    binned from their coordinates, as pin_cells bins them."""
    selection, options = parse_query("engagement-hexagons", {**params, "resolution": "8"})
    assert selection.kept is None
    groups = pin_groups(selection, 8)
    assert groups.unbinned > 0

    one_scan = neighborhood_engagement(selection, trends=False, counted=groups.neighborhoods)
    two_scans = neighborhood_engagement(selection, trends=False)
    for column in ("count", "offline_count", "per_km2", "ratio", "ratio_high", "thin"):
        assert one_scan.frame[column].equals(two_scans.frame[column]), column
    assert one_scan.city == two_scans.city
    cells = selection_cells(selection, 8, groups)
    assert cells.to_dict() == pin_cells(selection.ideas, 8).to_dict()
    assert cells.sum() == selection.ideas.count() > 0

    with CaptureQueriesContext(connection) as queries:
        layer = engagement_layer("engagement-hexagons", selection, options)
    grouped = [
        q["sql"]
        for q in queries.captured_queries
        if "mapideas_idea" in q["sql"] and "GROUP BY" in q["sql"]
    ]
    # One GROUP BY of the pins (beside it, the pins without a cell are read for their
    # coordinates, on PostgreSQL through a cursor of the driver's own).
    assert len(grouped) == 1 and "h3_res8" in grouped[0] and "neighborhood_id" in grouped[0]
    assert layer.frame["count"].sum() == selection.ideas.count()
    assert (
        layer.frame["count"].to_dict() == cells.reindex(layer.frame.index, fill_value=0).to_dict()
    )


def test_counts_read_without_trends_cannot_give_a_trend(planted):
    selection, _options = parse_query("engagement-hexagons", {"created_after": _day(20)})
    groups = pin_groups(selection, 8)
    with pytest.raises(ValueError, match="trend"):
        neighborhood_engagement(selection, counted=groups.neighborhoods)
