"""Chicago's 77 community areas with their 2010 population (../shared/data, skipped where it is
absent): imported as any city's file is, the engagement rates match a computation made here
with geopandas and pandas straight from the file."""

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
from mapideas.models import Idea
from neighborhoods.models import BoundaryVersion
from neighborhoods.services import slug_for
from tests.geodata.engagement.engagement_city import Pin, insert_pins

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
COMMUNITY_AREAS = SHARED_DATA / "chicago" / "chicago_community_areas_pop.geojson"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not COMMUNITY_AREAS.exists(), reason="../shared/data is not on this machine"
    ),
]
PINS = 3000


@pytest.fixture
def chicago(category):
    boundaries = read_boundaries(
        COMMUNITY_AREAS, name_field="community", population_field="POP2010"
    )
    import_boundaries(boundaries, label="Chicago community areas", commit=True)
    areas = gpd.read_file(COMMUNITY_AREAS)
    areas["geometry"] = areas.geometry.make_valid()
    areas["slug"] = [slug_for(name.strip(), "") for name in areas["community"]]
    # Pins thinning out southwards, as the demo city's do: seeded, inside the city.
    rng = np.random.default_rng(2026)
    min_x, min_y, max_x, max_y = areas.total_bounds
    city = shapely.union_all(areas.geometry.values)
    lon = rng.uniform(min_x, max_x, PINS * 12)
    lat = rng.uniform(min_y, max_y, PINS * 12)
    keep = rng.uniform(0, 1, len(lon)) < ((lat - min_y) / (max_y - min_y)) ** 3
    keep &= shapely.contains_xy(city, lon, lat)
    lon, lat = np.round(lon[keep][:PINS], 6), np.round(lat[keep][:PINS], 6)
    version = BoundaryVersion.objects.get(is_active=True)
    pins = [
        Pin(
            x,
            y,
            0,
            0,
            Idea.Channel.WEB,
            Idea.Kind.IDEA,
            Idea._meta.get_field("created_at").default(),
        )
        for x, y in zip(lon.tolist(), lat.tolist(), strict=True)
    ]
    insert_pins(pins, category, version)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(points, areas[["slug", "POP2010", "geometry"]], predicate="within")
    return areas, joined


def test_rates_match_a_pandas_computation_from_the_file(chicago):
    areas, joined = chicago
    selection, options = parse_query("engagement-neighborhoods", {})
    result = engagement.engagement_layer("engagement-neighborhoods", selection, options)
    frame = result.frame.set_index("slug")

    counts = joined.groupby("slug").size().reindex(areas["slug"], fill_value=0)
    population = areas.set_index("slug")["POP2010"].astype(float)
    assert population.sum() == 2_695_598  # Chicago's 2010 census count
    per_1000 = counts / population * 1000
    city_rate = counts.sum() / population.sum() * 1000
    ratio = per_1000 / city_rate

    assert result.about["population_known"] is True
    assert result.about["city"]["population"] == 2_695_598
    assert result.about["city"]["per_1000"] == pytest.approx(city_rate, abs=1e-6)
    assert frame["count"].reindex(counts.index).tolist() == counts.tolist()
    # Below 10 pins no figure is given, neither the rate nor its interval; every other area
    # has its exact Poisson interval.
    enough = counts >= 10
    assert frame["per_1000"].reindex(counts.index)[~enough].isna().all()
    assert np.allclose(frame["per_1000"].reindex(counts.index)[enough], per_1000[enough])
    assert np.allclose(frame["ratio"].reindex(counts.index)[enough], ratio[enough])
    high = pd.Series(stats.chi2.ppf(0.975, 2 * counts + 2) / 2, index=counts.index)
    ratio_high = high / population * 1000 / city_rate
    assert np.allclose(frame["ratio_high"].reindex(counts.index)[enough], ratio_high[enough])
    assert frame["ratio_high"].reindex(counts.index)[~enough].isna().all()
    # Thin: the upper bound of the ratio under 0.5.
    assert set(frame.index[frame["thin"]]) == set(ratio_high.index[ratio_high < 0.5])
    assert frame["thin"].any()
    # Areas: the importer's geodesic area against an equal-area projection of the file.
    area_km2 = areas.set_index("slug").to_crs("ESRI:102003").area / 1e6
    assert np.allclose(frame["area_km2"].reindex(area_km2.index), area_km2, rtol=0.005)


def test_cold_spots_and_hexagons_on_a_real_city(chicago):
    selection, options = parse_query("coldspots", {})
    spots = engagement.engagement_layer("coldspots", selection, options).frame
    assert spots["z_score"].notna().all() and spots["p_value"].notna().all()
    # The pins thin out southwards: the south side holds cold spots, the north none.
    cold = spots[spots["significance"] == "cold"]
    assert len(cold) > 0
    north = spots.geometry.to_crs("EPSG:3435").centroid.y  # Illinois East, feet
    assert north[cold.index].max() < north.median()

    selection, options = parse_query("engagement-hexagons", {"resolution": "8"})
    hexagons = engagement.engagement_layer("engagement-hexagons", selection, options).frame
    assert hexagons["count"].sum() == Idea.objects.count() == PINS
    assert hexagons["population"].sum() == pytest.approx(2_695_598, rel=1e-9)
