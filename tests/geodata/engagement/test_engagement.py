"""Where engagement is thin: the figures of geodata.engagement, checked against values computed
here independently (pandas for rates, shapely for adjacency and Gi*, h3 for cells, pyproj for
areas) on a city with a planted gap (tests/geodata/engagement/engagement_city.py)."""

from datetime import date, timedelta

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from scipy import stats

from geodata.engagement import fields as engagement_fields
from geodata.engagement import layers as engagement_layers
from geodata.engagement import rates as engagement_rates
from geodata.engagement.query import parse_query
from mapideas.models import Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted(category):
    version = grid.grid_version()
    pins = grid.planted_pins()
    grid.insert_pins(pins, category, version)
    return pins


def expected_counts(pins: list[grid.Pin]) -> pd.Series:
    """Pins per neighborhood slug, every square listed (0 for the gap)."""
    frame = pd.DataFrame([{"slug": grid.cell_slug(p.row, p.column)} for p in pins])
    slugs = [grid.cell_slug(r, c) for r in range(grid.SIZE) for c in range(grid.SIZE)]
    return frame.groupby("slug").size().reindex(slugs, fill_value=0)


def layer(name: str, **params) -> engagement_layers.EngagementLayer:
    selection, options = parse_query(name, {k: str(v) for k, v in params.items()})
    return engagement_layers.engagement_layer(name, selection, options)


def by_slug(result: engagement_layers.EngagementLayer) -> pd.DataFrame:
    return result.frame.set_index("slug")


def test_it_gives_pins_per_1000_residents_and_per_km2_against_the_city_rate(planted):
    result = layer("engagement-neighborhoods")
    frame = by_slug(result)
    counts = expected_counts(planted)

    assert result.about["population_known"] is True
    assert result.about["basis"] == "per_1000"
    city_rate = counts.sum() / (grid.POPULATION * grid.SIZE**2) * 1000
    assert result.about["city"]["per_1000"] == pytest.approx(city_rate, abs=1e-6)
    assert result.about["city"]["count"] == len(planted)
    per_1000 = counts / grid.POPULATION * 1000
    assert frame["count"].reindex(counts.index).tolist() == counts.tolist()
    # Below 10 pins (the gap's squares hold none) the rate is not given: too few to say.
    enough = counts >= engagement_fields.MIN_COUNT
    assert (~frame["too_few"].reindex(counts.index) == enough).all()
    assert frame["per_1000"].reindex(counts.index)[~enough].isna().all()
    assert np.allclose(frame["per_1000"].reindex(counts.index)[enough], per_1000[enough])
    assert np.allclose(frame["ratio"].reindex(counts.index)[enough], (per_1000 / city_rate)[enough])
    # Every rate shown has its exact Poisson interval (chi-square quantiles); below 10 pins
    # neither is shown.
    low = np.where(counts > 0, stats.chi2.ppf(0.025, 2 * counts) / 2, 0.0)
    high = stats.chi2.ppf(0.975, 2 * counts + 2) / 2
    shown = frame.reindex(counts.index)
    assert shown.loc[~enough, ["per_1000_low", "per_1000_high", "ratio_high"]].isna().all().all()
    assert np.allclose(shown["per_1000_low"][enough], (low / grid.POPULATION * 1000)[enough])
    assert np.allclose(shown["per_1000_high"][enough], (high / grid.POPULATION * 1000)[enough])
    assert np.allclose(
        shown["ratio_high"][enough], (high / grid.POPULATION * 1000 / city_rate)[enough]
    )
    # Geodesic area of each square, measured here with pyproj.
    geod = Geod(ellps="WGS84")
    area = abs(geod.geometry_area_perimeter(shapely.box(4.0, 50.0, 4.01, 50.01))[0]) / 1e6
    assert frame.loc["r0-c0", "area_km2"] == pytest.approx(area, rel=1e-6)
    assert frame.loc["r0-c0", "per_km2"] == pytest.approx(counts["r0-c0"] / area, rel=1e-6)


def test_it_flags_the_planted_gap_as_thin_and_only_it(planted):
    frame = by_slug(layer("engagement-neighborhoods"))
    thin = set(frame.index[frame["thin"]])
    assert thin == {grid.cell_slug(r, c) for r, c in grid.GAP}


def test_the_threshold_is_a_parameter(planted):
    # Thin is the ratio's upper 95% bound below the threshold: at 1.5 the squares with the
    # fewest pins are thin too (15 pins: at most 1.26 × the city rate), the fullest are not.
    counts = expected_counts(planted)
    ratio_high = pd.Series(stats.chi2.ppf(0.975, 2 * counts + 2) / 2, index=counts.index)
    ratio_high /= counts.mean()
    frame = by_slug(layer("engagement-neighborhoods", thin_below=1.5))
    thin = set(frame.index[frame["thin"]])
    assert thin == set(ratio_high.index[ratio_high < 1.5])
    assert len(grid.GAP) < len(thin) < grid.SIZE**2


def gi_star_z(values: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """Getis and Ord (1995) Gi*, binary weights with each area its own neighbour."""
    n = len(values)
    w = adjacency + np.eye(n)
    mean = values.mean()
    s = np.sqrt((values**2).mean() - mean**2)
    weights = w.sum(axis=1)
    numerator = w @ values - mean * weights
    return numerator / (s * np.sqrt((n * weights - weights**2) / (n - 1)))


def benjamini_hochberg(p: np.ndarray, alpha: float) -> np.ndarray:
    order = np.argsort(p)
    n = len(p)
    ranked = p[order]
    k = max((i + 1 for i in range(n) if ranked[i] <= alpha * (i + 1) / n), default=0)
    significant = np.zeros(n, dtype=bool)
    significant[order[:k]] = True
    return significant


def test_it_finds_the_gap_as_significant_cold_spots_after_the_fdr_correction(planted):
    result = layer("coldspots")
    frame = by_slug(result)

    # Every square of the gap is a cold spot. Gi* weighs a square with its neighbours, so a
    # square bordering the gap may be one too; nothing farther away is, and nothing is hot.
    cold = set(frame.index[frame["significance"] == "cold"])
    gap = {grid.cell_slug(r, c) for r, c in grid.GAP}
    bordering = {
        grid.cell_slug(r + dr, c + dc)
        for r, c in grid.GAP
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
    }
    assert gap <= cold <= bordering
    assert not (frame["significance"] == "hot").any()
    assert result.about["permutations"] == engagement_fields.PERMUTATIONS

    # z-scores: the textbook Gi* with queen adjacency from shapely (shared edge or corner).
    slugs = list(frame.index)
    shapes = [shapely.box(*g.bounds) for g in frame["geometry"]]
    adjacency = np.array(
        [
            [float(i != j and a.touches(b)) for j, b in enumerate(shapes)]
            for i, a in enumerate(shapes)
        ]
    )
    # On every square's rate, the gap's too (its published per_1000 is empty: too few pins).
    z = gi_star_z(frame["raw_per_1000"].to_numpy(dtype=float), adjacency)
    assert np.allclose(frame["z_score"].to_numpy(dtype=float), z)
    assert frame["neighbors"].tolist() == adjacency.sum(axis=1).astype(int).tolist()
    # Significance is Benjamini-Hochberg on the permutation p-values, at 0.05.
    p = frame["p_value"].to_numpy(dtype=float)
    # Two-sided pseudo p-values: 2 (k + 1) / (permutations + 1).
    steps = p * (engagement_fields.PERMUTATIONS + 1) / 2
    assert np.allclose(steps[p < 1], np.round(steps[p < 1]))
    assert ((p >= 2 / (engagement_fields.PERMUTATIONS + 1)) & (p <= 1)).all()
    expected = np.where(benjamini_hochberg(p, 0.05), np.where(z < 0, "cold", "hot"), "")
    flagged = frame["significance"].where(frame["significance"] != "not significant", "")
    assert flagged.tolist() == expected.tolist()
    assert slugs == list(by_slug(layer("coldspots")).index)


def test_cold_spots_are_reproducible(planted):
    first = by_slug(layer("coldspots"))
    second = by_slug(layer("coldspots"))
    assert first["p_value"].tolist() == second["p_value"].tolist()


def test_distance_band_weights_find_the_gap_too(planted):
    frame = by_slug(layer("coldspots", weights="distance"))
    # The squares are 0.01° a side: 716 m east-west, 1,113 m north-south at 50° N. The smallest
    # band giving every square a neighbour is 716 m: the squares east and west of it.
    assert frame.loc["r0-c0", "neighbors"] == 1
    assert frame.loc["r3-c3", "neighbors"] == 2
    gap = {grid.cell_slug(r, c) for r, c in grid.GAP}
    assert frame.loc[sorted(gap), "z_score"].max() < frame.drop(index=sorted(gap))["z_score"].min()
    assert not (frame["significance"] == "hot").any()


def test_a_neighborhood_with_no_neighbour_is_given_its_nearest_one(category):
    # The grid without its second row and column: R0 C0 stands alone.
    skip = {(0, c) for c in range(1, grid.SIZE)} | {(r, 0) for r in range(1, grid.SIZE)}
    skip |= {(1, c) for c in range(grid.SIZE)} | {(r, 1) for r in range(grid.SIZE)}
    version = grid.grid_version(skip=skip)
    pins = [p for p in grid.planted_pins() if (p.row, p.column) not in skip]
    grid.insert_pins(pins, category, version)

    frame = by_slug(layer("coldspots"))

    assert frame.loc["r0-c0", "island"]
    assert frame.loc["r0-c0", "neighbors"] == 1
    assert frame.loc["r0-c0", "significance"] in ("cold", "hot", "not significant")
    assert not frame.drop(index="r0-c0")["island"].any()


def test_hexagon_counts_are_those_h3_gives(planted):
    result = layer("engagement-hexagons", resolution=8)
    expected = pd.Series([h3.latlng_to_cell(p.lat, p.lon, 8) for p in planted]).value_counts()
    counts = result.frame.set_index("cell")["count"]
    assert counts[counts > 0].sort_index().to_dict() == expected.sort_index().to_dict()
    assert all(h3.get_resolution(c) == 8 for c in result.frame["cell"])
    assert result.about["resolution"] == 8


@pytest.mark.parametrize("resolution", [7, 9])
def test_areal_weighting_shares_out_the_whole_population(planted, resolution):
    frame = layer("engagement-hexagons", resolution=resolution).frame.set_index("cell")
    assert frame["population"].sum() == pytest.approx(grid.POPULATION * grid.SIZE**2, rel=1e-9)
    assert frame["count"].sum() == len(planted)


def test_a_cells_population_is_its_share_of_each_neighborhood_by_area(planted):
    frame = layer("engagement-hexagons", resolution=8).frame.set_index("cell")
    geod = Geod(ellps="WGS84")

    def area(geometry) -> float:
        return abs(geod.geometry_area_perimeter(geometry)[0])

    cell = h3.latlng_to_cell(50.035, 4.035, 8)  # the middle of the city
    hexagon = shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
    expected = 0.0
    for r in range(grid.SIZE):
        for c in range(grid.SIZE):
            box = shapely.box(*grid.cell_square(r, c).extent)
            shared = hexagon.intersection(box)
            if not shared.is_empty:
                expected += grid.POPULATION * area(shared) / area(box)
    assert frame.loc[cell, "population"] == pytest.approx(expected, rel=1e-3)
    count = frame.loc[cell, "count"]
    high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    if count >= engagement_fields.MIN_COUNT:
        assert frame.loc[cell, "per_1000_high"] == pytest.approx(high / expected * 1000, rel=1e-3)
        assert frame.loc[cell, "per_1000"] == pytest.approx(count / expected * 1000, rel=1e-3)
    else:  # too few pins: no figure, neither the rate nor its interval
        assert np.isnan(frame.loc[cell, "per_1000_high"])
        assert np.isnan(frame.loc[cell, "per_1000"])


def test_a_city_without_population_works_per_km2_and_says_so(city, category):
    # The conftest city: Harbor has no population.
    from mapideas.submission.services import idea_create
    from tests.conftest import IN_EAST, IN_WEST

    for point in (IN_WEST, IN_WEST, IN_EAST):
        idea_create(kind="idea", title="x", category=category, location=point)

    result = layer("engagement-neighborhoods")
    assert result.about["population_known"] is False
    assert result.about["basis"] == "per_km2"
    assert result.about["city"]["per_1000"] is None
    assert result.about["city"]["population"] is None
    assert "no population" in result.about["message"]
    frame = by_slug(result)
    assert frame["per_1000"].isna().all()
    total_area = frame["area_km2"].sum()
    assert result.about["city"]["per_km2"] == pytest.approx(3 / total_area, rel=1e-6)
    # 2 pins: too few for a ratio, or for its interval.
    assert frame.loc["west-side", "too_few"]
    assert np.isnan(frame.loc["west-side", "ratio"])
    assert np.isnan(frame.loc["west-side", "ratio_high"])
    properties = dict(engagement_layers.plain_properties(result))
    assert properties["west-side"]["per_1000"] is None
    assert properties["west-side"]["ratio"] is None
    assert properties["west-side"]["too_few"] is True
    assert properties["west-side"]["population"] == 12000  # known ones are still shown

    hexagons = layer("engagement-hexagons", resolution=9)
    assert hexagons.frame["population"].isna().all()
    assert hexagons.about["population_known"] is False
    spots = layer("coldspots")
    assert spots.about["basis"] == "per_km2"
    outreach = layer("outreach")
    assert outreach.about["population_known"] is False


def test_filters_apply_to_every_figure(planted):
    def total(**params) -> int:
        return int(layer("engagement-neighborhoods", **params).frame["count"].sum())

    assert total() == len(planted)
    assert total(channel="paper") == sum(p.channel == "paper" for p in planted)
    assert total(kind="issue") == sum(p.kind == "issue" for p in planted)
    assert total(category="parks-green-space") == len(planted)
    assert total(category="street-lights") == 0 if _has("street-lights") else True
    day = (grid.NOW - timedelta(days=10)).date()
    assert total(created_after=day.isoformat()) == sum(p.created_at.date() >= day for p in planted)
    assert total(created_before=day.isoformat()) == sum(p.created_at.date() <= day for p in planted)
    hexagons = layer("engagement-hexagons", channel="paper").frame
    assert hexagons["count"].sum() == sum(p.channel == "paper" for p in planted)


def _has(slug: str) -> bool:
    from mapideas.models import Category

    return Category.objects.filter(slug=slug).exists()


def test_the_trend_compares_with_the_previous_period_of_the_same_length(planted):
    # Move R0 C0's pins from the last 10 days back by 10 days: it gets thinner.
    first = Idea.objects.filter(neighborhood__slug="r0-c0")
    days = [(grid.NOW - p.created_at).days for p in planted if (p.row, p.column) == (0, 0)]
    start = (grid.NOW - timedelta(days=9)).date()
    end = grid.NOW.date()
    in_current = sum(d <= 9 for d in days)
    in_previous = sum(10 <= d <= 19 for d in days)
    assert in_current > 0

    frame = by_slug(
        layer(
            "engagement-neighborhoods",
            created_after=start.isoformat(),
            created_before=end.isoformat(),
        )
    )
    assert frame.loc["r0-c0", "count_current"] == in_current
    assert frame.loc["r0-c0", "count_previous"] == in_previous
    assert frame.loc["r0-c0", "count"] == in_current
    if in_current + in_previous >= engagement_fields.MIN_COUNT:
        assert frame.loc["r0-c0", "change"] == in_current - in_previous
    else:  # too few pins in the two windows to call a change
        assert frame.loc["r0-c0", "change"] is pd.NA

    for idea in first:
        if (grid.NOW - idea.created_at).days <= 9:
            Idea.objects.filter(pk=idea.pk).update(created_at=idea.created_at - timedelta(days=10))
    moved = by_slug(
        layer(
            "engagement-neighborhoods",
            created_after=start.isoformat(),
            created_before=end.isoformat(),
        )
    ).loc["r0-c0"]
    assert moved["count_current"] == 0
    assert moved["count_previous"] == in_previous + in_current
    # All of them, 13 or so, in the previous window: far from chance (one-sided binomial).
    assert stats.binom.cdf(0, in_previous + in_current, 0.5) < 0.05
    assert moved["thinning"]


def test_the_trend_period_without_a_date_range_is_the_last_days(planted):
    period = engagement_rates.Period.around(
        after=None, before=None, today=date(2026, 6, 30), days=90
    )
    assert (period.start, period.end) == (date(2026, 4, 2), date(2026, 6, 30))
    assert (period.previous_start, period.previous_end) == (date(2026, 1, 2), date(2026, 4, 1))


def test_it_gives_the_share_of_input_from_offline_channels(planted):
    frame = by_slug(layer("engagement-neighborhoods"))
    for slug in ("r0-c0", "r0-c1"):
        pins = [p for p in planted if grid.cell_slug(p.row, p.column) == slug]
        offline = sum(p.channel == "paper" for p in pins)
        assert frame.loc[slug, "offline_count"] == offline
        assert frame.loc[slug, "offline_share"] == pytest.approx(offline / len(pins))
    assert np.isnan(frame.loc["r3-c3", "offline_share"])  # no pins: no share


def test_outreach_ranks_by_missing_pins_boosted_where_nobody_went_offline(planted):
    ranked = layer("outreach", limit=100).frame.set_index("slug")
    counts = expected_counts(planted)
    city_rate = counts.sum() / (grid.POPULATION * grid.SIZE**2)
    missing = city_rate * grid.POPULATION - counts
    frame = by_slug(layer("engagement-neighborhoods"))
    boost = np.where(frame["offline_count"].reindex(counts.index) == 0, 1.5, 1.0) * np.where(
        frame["thinning"].reindex(counts.index), 1.25, 1.0
    )
    expected = (missing * boost)[missing > 0].sort_values(ascending=False)

    assert set(ranked.index) == set(expected.index)
    assert np.allclose(ranked["score"].reindex(expected.index), expected)
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert ranked["score"].is_monotonic_decreasing
    # The gap first, with its reasons spelled out.
    assert set(ranked.index[:4]) == {grid.cell_slug(r, c) for r, c in grid.GAP}
    assert "nothing has come from offline channels yet" in ranked.iloc[0]["reason"]
    assert len(layer("outreach", limit=3).frame) == 3


def test_pins_outside_every_neighborhood_are_counted_apart(city, category):
    from mapideas.submission.services import idea_create
    from tests.conftest import IN_EMPTY_HOLE, IN_WEST

    idea_create(kind="idea", title="x", category=category, location=IN_WEST)
    idea_create(kind="idea", title="y", category=category, location=IN_EMPTY_HOLE)
    result = layer("engagement-neighborhoods")
    assert result.about["city"]["count"] == 1
    assert result.about["city"]["unassigned"] == 1
    hexagons = layer("engagement-hexagons", resolution=9).frame
    assert hexagons["count"].sum() == 2  # a hexagon map shows every pin


def test_no_boundaries_no_pins_gives_empty_layers(db):
    for name in engagement_fields.LAYER_FIELDS:
        result = layer(name)
        assert len(result.frame) == 0
        assert result.about["population_known"] is False


def test_every_offline_channel_counts_in_the_offline_share_and_each_splits(city, category):
    for channel in Idea.Channel.values:
        idea_create(
            kind="idea", title=channel, category=category, location=IN_EAST, channel=channel
        )

    frame = by_slug(layer("engagement-neighborhoods"))
    phone_only = by_slug(layer("engagement-neighborhoods", channel="phone"))

    assert tuple(Idea.OFFLINE_CHANNELS) == engagement_fields.OFFLINE_CHANNELS
    assert frame.loc["east-side", "count"] == len(Idea.Channel.values)
    # Every channel but the web map and the API: the model's list, new channels included.
    assert frame.loc["east-side", "offline_count"] == len(Idea.OFFLINE_CHANNELS)
    assert phone_only.loc["east-side", "count"] == 1
    assert phone_only.loc["east-side", "offline_count"] == 1
