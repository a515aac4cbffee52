"""Representativeness by neighborhood profile: population-weighted fifths of an area attribute,
their rates against the city rate with Poisson intervals, too few pins, ties, Spearman; over
HTTP, as an export and as an OGC collection. Expected figures are computed here with pandas
and scipy, not with project code."""

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import shapely
from django.test import Client
from scipy import stats

from geodata.engagement import layers as engagement_layers
from geodata.engagement.fields import MIN_COUNT
from geodata.engagement.query import parse_query
from mapideas.models import Idea
from neighborhoods.models import Neighborhood
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db


def layer(**params) -> engagement_layers.EngagementLayer:
    selection, options = parse_query("representativeness", {k: str(v) for k, v in params.items()})
    return engagement_layers.engagement_layer("representativeness", selection, options)


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


def set_attribute(name: str, values: dict[str, float]) -> None:
    for slug, value in values.items():
        neighborhood = Neighborhood.objects.get(version__is_active=True, slug=slug)
        neighborhood.attributes = {**neighborhood.attributes, name: value}
        neighborhood.save(update_fields=["attributes"])


SLUGS = [grid.cell_slug(r, c) for r in range(grid.SIZE) for c in range(grid.SIZE)]


def expected_fifths(values: pd.Series, population: pd.Series) -> pd.Series:
    """The documented rule, in pandas: sort by (value, slug), the fifth holding the midpoint
    of each neighborhood's residents."""
    frame = pd.DataFrame({"value": values, "population": population.astype(float)})
    frame["slug"] = frame.index
    frame = frame.sort_values(["value", "slug"])
    midpoint = frame["population"].cumsum() - frame["population"] / 2
    fifth = np.floor(5 * midpoint / frame["population"].sum()).astype(int) + 1
    return fifth.clip(1, 5)


@pytest.fixture
def few_in_the_lowest_fifth(category):
    """64 squares of 1,000 residents, `income` rising square by square; the 13 squares of the
    lowest fifth hold one pin between them, every other square 3."""
    version = grid.grid_version()
    set_attribute("income", {slug: 1000 * i for i, slug in enumerate(SLUGS)})
    pins = [pin(0, 0)]
    for i in range(13, 64):
        pins += [pin(i // grid.SIZE, i % grid.SIZE)] * 3
    grid.insert_pins(pins, category, version)
    return pins


def test_a_fifth_below_the_minimum_count_gives_no_rate_but_its_interval(few_in_the_lowest_fifth):
    result = layer()
    frame = result.frame.set_index("quintile")
    city_rate = len(few_in_the_lowest_fifth) / 64_000 * 1000

    assert frame["neighborhoods"].tolist() == [13, 13, 12, 13, 13]
    lowest = frame.loc[1]
    assert lowest["count"] == 1 and lowest["population"] == 13_000
    assert lowest["too_few"]
    assert pd.isna(lowest["per_1000"]) and pd.isna(lowest["ratio"])
    high = stats.chi2.ppf(0.975, 4) / 2  # Garwood, 1 pin
    low = stats.chi2.ppf(0.025, 2) / 2
    assert lowest["per_1000_high"] == pytest.approx(high / 13)
    assert lowest["ratio_low"] == pytest.approx(low / 13 / city_rate)
    assert lowest["ratio_high"] == pytest.approx(high / 13 / city_rate)
    assert (lowest["value_min"], lowest["value_max"]) == (0, 12_000)
    second = frame.loc[2]
    assert second["count"] == 39 and not second["too_few"]
    assert second["per_1000"] == pytest.approx(3.0)
    assert second["ratio"] == pytest.approx(3.0 / city_rate)
    properties = dict(engagement_layers.plain_properties(result))
    assert properties["income-1"]["per_1000"] is None
    assert properties["income-1"]["too_few"] is True
    summary = result.about["attributes"]["income"]["summary"]
    assert summary.startswith(
        "The fifth of residents with the lowest income has too few pins (1) to say."
    )
    assert "nothing inferred about a person" in summary


def test_the_fifths_follow_the_midpoint_rule_and_ties_go_by_slug(category):
    version = grid.grid_version()
    # Uneven residents and one value for whole rows: the order inside a row is the slug's.
    population = pd.Series({slug: 500 + 97 * (i % 7) for i, slug in enumerate(SLUGS)})
    values = pd.Series({slug: float(i // grid.SIZE % 3) for i, slug in enumerate(SLUGS)})
    for slug in SLUGS:
        Neighborhood.objects.filter(version=version, slug=slug).update(
            population=int(population[slug]), attributes={"age": values[slug]}
        )
    pins = [pin(i // grid.SIZE, i % grid.SIZE) for i in range(64) for _ in range(i % 4 + 1)]
    grid.insert_pins(pins, category, version)

    frame = layer(attribute="age").frame
    fifths = expected_fifths(values, population)
    counts = pd.Series([grid.cell_slug(p.row, p.column) for p in pins]).value_counts()
    counts = counts.reindex(SLUGS, fill_value=0)
    expected = pd.DataFrame({"fifth": fifths, "population": population, "count": counts})
    by_fifth = expected.groupby("fifth")[["population", "count"]].sum()
    city_rate = counts.sum() / population.sum() * 1000

    assert frame["quintile"].tolist() == by_fifth.index.tolist()
    assert frame["population"].tolist() == by_fifth["population"].tolist()
    assert frame["count"].tolist() == by_fifth["count"].tolist()
    ratio = by_fifth["count"] / by_fifth["population"] * 1000 / city_rate
    assert np.allclose(frame["ratio"].astype(float), ratio)
    # Each fifth holds about a fifth of the residents: off by at most one neighborhood.
    share = by_fifth["population"] / population.sum()
    assert (abs(share - 0.2) <= population.max() / population.sum()).all()
    rates = counts / population * 1000
    rho, p = stats.spearmanr(values.reindex(SLUGS), rates.reindex(SLUGS))
    assert frame["spearman"].iloc[0] == pytest.approx(rho)
    assert frame["spearman_p"].iloc[0] == pytest.approx(p)


def test_ties_are_broken_by_slug(category):
    version = grid.grid_version()
    set_attribute("flat", dict.fromkeys(SLUGS, 1.0))
    grid.insert_pins([pin(0, 0)], category, version)

    frame = layer().frame
    # 64 equal squares, equal values: the first 13 slugs in alphabetical order are fifth 1.
    first = sorted(SLUGS)[:13]
    geometry = frame.loc[frame["quintile"] == 1, "geometry"].iloc[0]
    centres = [grid.cell_square(int(s[1]), int(s.split("-c")[1])).centroid.coords for s in first]
    assert all(geometry.contains(shapely.Point(c)) for c in centres)
    assert frame.loc[frame["quintile"] == 1, "neighborhoods"].iloc[0] == 13
    # The same value everywhere: no rank correlation to give.
    assert frame["spearman"].isna().all()


def test_neighborhoods_without_residents_or_value_are_left_out(few_in_the_lowest_fifth):
    Neighborhood.objects.filter(slug="r7-c7").update(population=0)
    no_value = Neighborhood.objects.get(slug="r7-c6", version__is_active=True)
    no_value.attributes = {}
    no_value.save(update_fields=["attributes"])

    result = layer()

    assert result.frame["neighborhoods"].sum() == 62
    assert result.about["attributes"]["income"]["neighborhoods"] == 62


def test_no_attributes_says_how_to_import_them(city):
    result = layer()

    assert result.frame.empty
    assert "import_population --attribute" in result.about["message"]
    assert result.about["attributes"] == {}


# --- over HTTP, exports, OGC ------------------------------------------------------------------


def test_the_api_gives_a_feature_per_attribute_and_fifth(few_in_the_lowest_fifth):
    set_attribute("renters", {slug: -i for i, slug in enumerate(SLUGS)})

    body = Client().get("/api/engagement/representativeness/").json()
    only = Client().get("/api/engagement/representativeness/", {"attribute": "renters"}).json()
    unknown = Client().get("/api/engagement/representativeness/", {"attribute": "nope"}).json()
    bad = Client().get("/api/engagement/representativeness/", {"attribute": "Nope!"})

    assert [f["id"] for f in body["features"]] == [
        *(f"income-{q}" for q in range(1, 6)),
        *(f"renters-{q}" for q in range(1, 6)),
    ]
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["quintile"] == 1
    assert set(body["attributes"]) == {"income", "renters"}
    assert "nothing about any one resident" in body["message"]
    assert {f["properties"]["attribute"] for f in only["features"]} == {"renters"}
    # Renters fall as income rises: its highest fifth is income's lowest, with 1 pin.
    assert only["features"][-1]["properties"]["count"] == 1
    assert unknown["features"] == []
    assert "known attributes: income, renters" in unknown["attributes"]["nope"]["summary"]
    assert bad.status_code == 400
    assert "attribute" in bad.json()


@pytest.mark.parametrize("extension", ["geojson", "csv", "gpkg"])
def test_it_exports_and_is_an_ogc_collection(few_in_the_lowest_fifth, extension):
    response = Client().get(f"/export/representativeness.{extension}")
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if extension == "geojson":
        assert len(json.loads(content)["features"]) == 5
    elif extension == "csv":
        assert content.decode("utf-8-sig").splitlines()[0].startswith("attribute,quintile,")

    items = Client().get("/ogc/collections/representativeness/items", {"f": "json"})
    assert items.status_code == 200
    assert items.json()["numberReturned"] == 5


def test_min_count_is_the_floor(few_in_the_lowest_fifth):
    frame = layer().frame
    assert (frame["too_few"] == (frame["count"] < MIN_COUNT)).all()
