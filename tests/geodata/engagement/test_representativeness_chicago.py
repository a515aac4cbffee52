"""Representativeness on a real city: Chicago's 77 community areas with their 2014 population,
per-capita income (PerCInc14) and share of residents over 65 (Over65P), from the ACS 2014 file
in ../shared/data. The boundaries come in as any city's do, the attributes through
import_population from a CSV of the file's own columns; the fifths, rates, intervals and
Spearman are recomputed here with geopandas, pandas and scipy straight from the file.

Skipped where the file is absent, except in CI (CI=true), where a missing file fails."""

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from geodata.engagement import layers as engagement
from geodata.engagement.query import parse_query
from geodata.imports.boundaries import import_boundaries, read_boundaries
from geodata.imports.population import population_import_csv
from mapideas.models import Idea
from neighborhoods.models import BoundaryVersion
from neighborhoods.services import slug_for
from tests.geodata.engagement.engagement_city import Pin, insert_pins

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
ACS = SHARED_DATA / "chicago" / "chicago_community_areas_acs2014.geojson"
ATTRIBUTES = {"per_capita_income": "PerCInc14", "over_65_share": "Over65P"}
PINS = 3000

pytestmark = pytest.mark.django_db


@pytest.fixture
def acs_file() -> Path:
    if not ACS.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{ACS} is missing: CI must have the shared data")
        pytest.skip("../shared/data is not on this machine")
    return ACS


@pytest.fixture
def chicago(acs_file, category, tmp_path):
    boundaries = read_boundaries(acs_file, name_field="community", population_field="Pop2014")
    import_boundaries(boundaries, label="Chicago community areas (ACS 2014)", commit=True)
    areas = gpd.read_file(acs_file)
    areas["geometry"] = areas.geometry.make_valid()
    areas["slug"] = [slug_for(name.strip(), "") for name in areas["community"]]
    table = tmp_path / "acs.csv"
    areas[["community", "Pop2014", *ATTRIBUTES.values()]].to_csv(table, index=False)
    imported = population_import_csv(
        path=table,
        key_field="community",
        population_field="Pop2014",
        attributes=ATTRIBUTES,
        commit=True,
    )
    assert imported.committed and not imported.bad and imported.matched == 77

    # Pins thinning out southwards, seeded, inside the city.
    rng = np.random.default_rng(2026)
    min_x, min_y, max_x, max_y = areas.total_bounds
    city = shapely.union_all(areas.geometry.values)
    lon = rng.uniform(min_x, max_x, PINS * 12)
    lat = rng.uniform(min_y, max_y, PINS * 12)
    keep = rng.uniform(0, 1, len(lon)) < ((lat - min_y) / (max_y - min_y)) ** 2
    keep &= shapely.contains_xy(city, lon, lat)
    lon, lat = np.round(lon[keep][:PINS], 6), np.round(lat[keep][:PINS], 6)
    created_at = Idea._meta.get_field("created_at").default()
    pins = [
        Pin(x, y, 0, 0, Idea.Channel.WEB, Idea.Kind.IDEA, created_at)
        for x, y in zip(lon.tolist(), lat.tolist(), strict=True)
    ]
    insert_pins(pins, category, BoundaryVersion.objects.get(is_active=True))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(points, areas[["slug", "geometry"]], predicate="within")
    counts = joined.groupby("slug").size().reindex(areas["slug"], fill_value=0)
    return areas.set_index("slug"), counts


def independent_fifths(areas: pd.DataFrame, counts: pd.Series, column: str) -> pd.DataFrame:
    """The documented rule, in pandas alone: sort by (value, slug); a community area belongs to
    the fifth holding the midpoint of its residents."""
    frame = pd.DataFrame(
        {
            "value": areas[column].astype(float).to_numpy(),
            "people": areas["Pop2014"].astype(float).to_numpy(),
            "slug": areas.index.to_numpy(),
        },
        index=areas.index.rename("area"),
    )
    frame["pins"] = counts
    frame = frame[frame["people"] > 0].sort_values(["value", "slug"])
    midpoint = frame["people"].cumsum() - frame["people"] / 2
    frame["fifth"] = (np.floor(5 * midpoint / frame["people"].sum()).astype(int) + 1).clip(1, 5)
    fifths = frame.groupby("fifth").agg(
        people=("people", "sum"),
        pins=("pins", "sum"),
        value_min=("value", "min"),
        value_max=("value", "max"),
        areas=("value", "size"),
    )
    city_rate = frame["pins"].sum() / frame["people"].sum() * 1000
    fifths["per_1000"] = fifths["pins"] / fifths["people"] * 1000
    fifths["ratio"] = fifths["per_1000"] / city_rate
    fifths["high"] = stats.chi2.ppf(0.975, 2 * fifths["pins"] + 2) / 2 / fifths["people"] * 1000
    fifths["low"] = stats.chi2.ppf(0.025, 2 * fifths["pins"]) / 2 / fifths["people"] * 1000
    rho, p = stats.spearmanr(frame["value"], frame["pins"] / frame["people"] * 1000)
    fifths["spearman"], fifths["spearman_p"] = rho, p
    fifths["ratio_low"] = fifths["low"] / city_rate
    fifths["ratio_high"] = fifths["high"] / city_rate
    return fifths


@pytest.mark.parametrize("attribute", sorted(ATTRIBUTES))
def test_quintile_rates_match_a_pandas_computation_from_the_file(chicago, attribute):
    areas, counts = chicago
    assert areas["Pop2014"].sum() == 2_733_835  # the file's 2014 estimate, summed
    selection, options = parse_query("representativeness", {"attribute": attribute})
    result = engagement.engagement_layer("representativeness", selection, options)
    frame = result.frame.set_index("quintile")
    expected = independent_fifths(areas, counts, ATTRIBUTES[attribute])

    assert frame.index.tolist() == [1, 2, 3, 4, 5] == expected.index.tolist()
    assert frame["population"].tolist() == expected["people"].astype(int).tolist()
    assert frame["count"].tolist() == expected["pins"].tolist()
    assert frame["neighborhoods"].tolist() == expected["areas"].tolist()
    assert np.allclose(frame["value_min"], expected["value_min"])
    assert np.allclose(frame["value_max"], expected["value_max"])
    assert not frame["too_few"].any()
    for column in ("per_1000", "ratio", "ratio_low", "ratio_high"):
        assert np.allclose(frame[column].astype(float), expected[column]), column
    assert np.allclose(frame["per_1000_low"], expected["low"])
    assert np.allclose(frame["per_1000_high"], expected["high"])
    assert frame["spearman"].iloc[0] == pytest.approx(expected["spearman"].iloc[0])
    assert frame["spearman_p"].iloc[0] == pytest.approx(expected["spearman_p"].iloc[0])
    # Each fifth holds about a fifth of Chicago's residents.
    share = expected["people"] / expected["people"].sum()
    assert share.between(0.15, 0.25).all()
    summary = result.about["attributes"][attribute]["summary"]
    lowest = expected.iloc[0]
    assert summary.startswith(
        f"The fifth of residents with the lowest {attribute} pins at "
        f"{lowest['ratio'] * 100:.0f}% of the city rate (95% interval "
        f"{lowest['ratio_low'] * 100:.0f}–{lowest['ratio_high'] * 100:.0f}%)."
    )
