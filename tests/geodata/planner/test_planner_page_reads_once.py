"""The planner page reads each layer once and hands it on (geodata.planner.page.planner_page):
the figures built from what it read are those each layer computes on its own; the heatmap's
points are the newest pins' coordinates, rounded; the weeks are counted from the pins' days."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from geodata.engagement import heatmaps
from geodata.engagement import rates as engagement_rates
from geodata.engagement import service as engagement_service
from geodata.engagement.query import parse_query
from geodata.planner import charts as planner_charts
from geodata.planner import page as planner_page
from mapideas.map.coordinates import Latitude, Longitude
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted(category):
    version = grid.grid_version()
    return grid.insert_pins(grid.planted_pins(), category, version)


def figures(layer: engagement_service.ServiceLayer) -> pd.DataFrame:
    return pd.DataFrame(layer.frame.drop(columns=["geometry", "geojson"]))


def test_the_service_layers_from_the_pages_reads_are_the_layers_alone(planted):
    selection, _ = parse_query("engagement-hexagons", {})
    now = timezone.now()
    areas = engagement_rates.neighborhood_engagement(selection, thin_below=0.8)
    pins = engagement_service.pin_times(selection, now=now)

    for layer in (engagement_service.service_neighborhoods, engagement_service.service_teams):
        alone = layer(selection, now=now)
        handed = layer(selection, now=now, areas=areas, pins=pins)
        pd.testing.assert_frame_equal(figures(handed), figures(alone))
        assert handed.frame["geojson"].tolist() == alone.frame["geojson"].tolist()
    bare = engagement_service.service_teams(
        selection, now=now, areas=areas, pins=pins, shapes=False
    )
    pd.testing.assert_frame_equal(
        figures(bare), figures(engagement_service.service_teams(selection, now=now))
    )
    assert bare.frame["geojson"].isna().all()


def test_pins_without_their_moment_are_refused(planted):
    selection, _ = parse_query("engagement-hexagons", {})
    pins = engagement_service.pin_times(selection, now=timezone.now())

    with pytest.raises(ValueError, match="now"):
        engagement_service.service_neighborhoods(selection, pins=pins)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"kind": "idea"},
        {"created_after": str(timezone.localdate() - timedelta(days=30))},
    ],
)
def test_the_pins_matching_are_the_pins_counted(planted, params):
    selection, _ = parse_query("engagement-hexagons", params)
    engagement = engagement_rates.neighborhood_engagement(selection)

    assert planner_page.matching_pins(selection, engagement) == selection.ideas.count()


def test_the_heatmap_draws_the_newest_pins_rounded(planted, settings):
    settings.MAPIDEAS_HEATMAP_MAX_POINTS = 50
    selection, _ = parse_query("engagement-hexagons", {})

    fmap, drawn, truncated = heatmaps.heatmap(selection.ideas)

    newest = (
        selection.ideas.order_by("-created_at", "-id")
        .annotate(lat=Latitude("location"), lon=Longitude("location"))
        .values_list("lat", "lon")[:50]
    )
    (layer,) = [c for c in fmap._children.values() if type(c).__name__ == "HeatMap"]
    assert layer.data == [[round(lat, 6), round(lon, 6)] for lat, lon in newest]
    assert (drawn, truncated) == (50, True)


@pytest.mark.parametrize("params", [{}, {"kind": "issue"}])
def test_the_weeks_from_the_pins_days_are_the_weeks_counted(planted, params):
    selection, _ = parse_query("engagement-hexagons", params)
    pins = engagement_service.pin_times(selection, now=timezone.now())

    from_days = planner_charts.weekly_counts_of_days(
        pins["created_on"].to_numpy(), pins["pins"].to_numpy(), selection.period
    )

    assert from_days == planner_charts.weekly_counts(selection.ideas, selection.period)
    assert sum(week.count for week in from_days[0]) > 0


def test_the_weeks_span_a_year_end_and_count_pins_of_several_groups():
    period = engagement_rates.Period(start=date(2026, 12, 1), end=date(2027, 1, 10))
    # 2026-12-31 is a Thursday, 2027-01-04 a Monday.
    days = np.array([date(2026, 12, 31), date(2027, 1, 3), date(2027, 1, 4), date(2027, 1, 4)])
    epoch = (days - date(1970, 1, 1)).astype("timedelta64[D]").astype(np.int64)

    weeks, cut = planner_charts.weekly_counts_of_days(epoch, np.array([2, 1, 3, 4]), period)

    assert [(w.start, w.count) for w in weeks] == [(date(2026, 12, 28), 3), (date(2027, 1, 4), 7)]
    assert not cut
    assert planner_charts.weekly_counts_of_days(np.array([]), np.array([]), period) == ([], False)


@pytest.mark.parametrize("params", [{}, {"kind": "issue"}, {"channel": "paper"}])
def test_the_neighborhoods_counted_from_the_pins_read_are_those_counted_alone(planted, params):
    selection, _ = parse_query("engagement-hexagons", params)
    pins = engagement_service.pin_times(selection, now=timezone.now())

    alone = engagement_rates.neighborhood_engagement(selection, thin_below=0.8)
    handed = engagement_rates.neighborhood_engagement(selection, thin_below=0.8, pins=pins)

    pd.testing.assert_frame_equal(
        pd.DataFrame(handed.frame.drop(columns="geometry")),
        pd.DataFrame(alone.frame.drop(columns="geometry")),
    )
    assert handed.city == alone.city


def test_the_trend_of_a_date_range_is_not_taken_from_the_pins_read(planted):
    selection, _ = parse_query(
        "engagement-hexagons", {"created_after": str(timezone.localdate() - timedelta(days=9))}
    )
    pins = engagement_service.pin_times(selection, now=timezone.now())

    with pytest.raises(ValueError, match="date range"):
        engagement_rates.neighborhood_engagement(selection, pins=pins)
