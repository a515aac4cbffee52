"""Honest small numbers: every rate has its Poisson interval, a flag is raised only where the
interval (or the test) says so, and below MIN_COUNT pins no point figure is given."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geodata.engagement import layers as engagement_layers
from geodata.engagement.fields import MIN_COUNT
from geodata.engagement.intervals import drop_p_value, poisson_interval
from geodata.engagement.query import parse_query
from mapideas.models import Idea
from neighborhoods.models import Neighborhood
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db


def layer(name: str, **params) -> engagement_layers.EngagementLayer:
    selection, options = parse_query(name, {k: str(v) for k, v in params.items()})
    return engagement_layers.engagement_layer(name, selection, options)


def pin(row: int, column: int, *, days_ago: int = 0) -> grid.Pin:
    return grid.Pin(
        lon=round(grid.WEST + (column + 0.5) * grid.STEP, 6),
        lat=round(grid.SOUTH + (row + 0.5) * grid.STEP, 6),
        row=row,
        column=column,
        channel=Idea.Channel.WEB,
        kind=Idea.Kind.IDEA,
        created_at=grid.NOW - timedelta(days=days_ago),
    )


@pytest.mark.parametrize("count", [0, 1, 2, 9, 10, 57, 1000])
def test_the_poisson_interval_is_garwoods_exact_one(count):
    low, high = (float(b[0]) for b in poisson_interval(np.array([count])))

    # Its definition, checked with the Poisson distribution itself: at the upper bound, seeing
    # `count` or fewer has probability 2.5%; at the lower bound, `count` or more has 2.5%.
    assert stats.poisson.cdf(count, high) == pytest.approx(0.025, abs=1e-9)
    if count == 0:
        assert low == 0
    else:
        assert stats.poisson.sf(count - 1, low) == pytest.approx(0.025, abs=1e-9)


def test_one_pin_then_none_is_no_drop_and_twelve_then_none_is():
    p = drop_p_value(np.array([0, 0, 3, 5]), np.array([1, 12, 15, 5]))

    assert p[0] == pytest.approx(0.5)
    assert p[1] == pytest.approx(0.5**12)
    assert p[2] == pytest.approx(stats.binomtest(3, 18, 0.5, alternative="less").pvalue)
    assert p[3] > 0.5


@pytest.fixture
def uneven(category):
    """64 squares, 20 pins in each but three: r0-c0 (50,000 residents, no pin), r0-c1 (40
    residents, no pin), r0-c2 (1 pin 40 days ago, none since) and r0-c3 (12 pins 40 days ago,
    none since)."""
    version = grid.grid_version()
    Neighborhood.objects.filter(version=version, slug="r0-c0").update(population=50_000)
    Neighborhood.objects.filter(version=version, slug="r0-c1").update(population=40)
    pins = []
    for r in range(grid.SIZE):
        for c in range(grid.SIZE):
            if (r, c) == (0, 2):
                pins.append(pin(r, c, days_ago=40))
            elif (r, c) == (0, 3):
                pins += [pin(r, c, days_ago=40)] * 12
            elif (r, c) not in ((0, 0), (0, 1)):
                pins += [pin(r, c, days_ago=i % 20) for i in range(20)]
    grid.insert_pins(pins, category, version)
    return pins


def test_no_pin_among_many_residents_is_thin_among_forty_it_says_nothing(uneven):
    frame = layer("engagement-neighborhoods").frame.set_index("slug")

    big, tiny = frame.loc["r0-c0"], frame.loc["r0-c1"]
    # Below 10 pins no figure is published, neither the rate nor its interval; the flag is
    # raised all the same, since even the interval's upper bound (0 pins among 50,000) is
    # below half the city rate; among 40 residents it says nothing.
    assert big["thin"] and big["too_few"]
    assert np.isnan(big["ratio"]) and np.isnan(big["ratio_high"]) and np.isnan(big["per_1000_low"])
    assert not tiny["thin"] and tiny["too_few"]
    assert np.isnan(tiny["ratio_high"])
    assert not frame.loc["r1-c1", "thin"]


def test_one_pin_then_none_is_not_thinning_twelve_then_none_is(uneven):
    # Current: the last 30 days; previous: the 30 days before.
    today = grid.NOW.date()
    frame = layer(
        "engagement-neighborhoods",
        created_after=(today - timedelta(days=29)).isoformat(),
        created_before=today.isoformat(),
    ).frame.set_index("slug")

    one = frame.loc["r0-c2"]
    assert (one["count_current"], one["count_previous"]) == (0, 1)
    assert not one["thinning"]
    assert pd.isna(one["change"])  # 1 pin in both windows: too few to call a change
    twelve = frame.loc["r0-c3"]
    assert (twelve["count_current"], twelve["count_previous"]) == (0, 12)
    assert twelve["thinning"]
    assert twelve["change"] == -12
    # Flat squares are never thinning.
    assert not frame.drop(index=["r0-c3"])["thinning"].any()


def test_outreach_still_lists_neighborhoods_with_too_few_pins(uneven):
    ranked = layer("outreach", limit=100).frame.set_index("slug")

    assert ranked.index[0] == "r0-c0"  # 50,000 residents, no pin
    assert "too few for a rate" in ranked.loc["r0-c0", "reason"]
    assert "r0-c2" in ranked.index  # 1 pin among 1,000


def test_cold_spots_read_every_rate_even_too_few(uneven):
    spots = layer("coldspots").frame.set_index("slug")

    assert spots["z_score"].notna().all()


def test_hexagon_cells_get_intervals_and_the_same_rules(uneven):
    frame = layer("engagement-hexagons", resolution=9).frame

    few = frame["count"] < MIN_COUNT
    assert few.any() and (~few).any()
    assert frame.loc[few, "per_km2"].isna().all()
    assert frame.loc[few, "ratio"].isna().all()
    assert frame.loc[~few, "per_km2"].notna().all()
    low, high = poisson_interval(frame["count"].to_numpy())
    assert np.allclose(frame["per_km2_low"][~few], (low / frame["area_km2"])[~few])
    assert np.allclose(frame["per_km2_high"][~few], (high / frame["area_km2"])[~few])
    # Below the minimum count no figure is shown: no interval either.
    assert frame.loc[few, ["per_km2_low", "per_km2_high", "ratio_high"]].isna().all().all()
    # A cell is thin only where its ratio's upper bound is under the threshold (read before
    # it is withheld): the upper bound of its residents' rate over the city rate.
    about = layer("engagement-hexagons", resolution=9).about
    assert about["basis"] == "per_1000"
    thousands = frame["population"].where(frame["population"] > 0) / 1000
    upper = high / thousands / about["city"]["per_1000"]
    assert (frame["thin"] == (upper < 0.5)).all()
    # Empty cells with almost no residents (the city's edge) are not thin.
    edge = (frame["count"] == 0) & (frame["population"] < 50)
    assert edge.any() and not frame.loc[edge, "thin"].any()
