"""idea_create and location_from_lonlat: the one door every pin comes through."""

import math
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import ValidationError

from mapideas.models import Idea
from mapideas.submission.services import idea_create, location_from_lonlat
from tests.conftest import (
    IN_EAST,
    IN_EMPTY_HOLE,
    IN_ENCLAVE,
    IN_WEST,
    ON_ISLAND,
    ON_SHARED_BORDER,
    OUTSIDE_CITY,
)

pytestmark = pytest.mark.django_db


def create(category, location: Point, **overrides) -> Idea:
    fields = {"kind": "idea", "title": "A bench", "category": category, "location": location}
    fields.update(overrides)
    return idea_create(**fields)


# --- idea_create ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "neighborhood", "team"),
    [
        (IN_WEST, "west-side", "west-team"),
        (IN_EAST, "east-side", "east-team"),
        (ON_SHARED_BORDER, "east-side", "east-team"),
        (ON_ISLAND, "harbor", "harbor-team"),
        (IN_ENCLAVE, "enclave", "west-team"),
    ],
    ids=["west", "east", "shared-border", "island", "enclave"],
)
def test_it_routes_and_stores_the_idea(city, category, point, neighborhood, team):
    idea = create(category, point)

    idea.refresh_from_db()
    assert idea.neighborhood.slug == neighborhood
    assert idea.team.slug == team
    assert idea.status == Idea.Status.NEW
    assert idea.channel == Idea.Channel.WEB
    assert (idea.location.x, idea.location.y) == (point.x, point.y)


def test_it_refuses_a_point_outside_the_service_area_and_writes_nothing(city, category):
    with pytest.raises(ValidationError) as refused:
        create(category, OUTSIDE_CITY)

    assert list(refused.value.message_dict) == ["location"]
    assert Idea.objects.count() == 0


def test_it_transforms_a_point_from_another_crs_to_wgs84(city, category):
    idea = create(category, IN_EAST.transform(3857, clone=True))

    idea.refresh_from_db()
    assert idea.neighborhood == city.east
    assert idea.location.srid == 4326
    assert idea.location.x == pytest.approx(IN_EAST.x)
    assert idea.location.y == pytest.approx(IN_EAST.y)


def test_it_reads_a_point_without_srid_as_lon_lat(city, category):
    idea = create(category, Point(IN_EAST.x, IN_EAST.y))

    assert idea.neighborhood == city.east
    assert idea.location.srid == 4326


@pytest.mark.parametrize(
    "location",
    [
        GEOSGeometry("POINT EMPTY", srid=4326),
        Point(math.nan, math.nan, srid=4326),
        Point(IN_WEST.x, 91, srid=4326),
        Point(IN_WEST.x, math.inf, srid=4326),
        GEOSGeometry("SRID=999999;POINT(4.001 50.001)"),
    ],
    ids=["empty", "nan", "lat-91", "infinite", "unknown-srid"],
)
def test_it_refuses_an_unusable_point_naming_location(city, category, location):
    with pytest.raises(ValidationError) as refused:
        create(category, location)

    assert "location" in refused.value.message_dict
    assert Idea.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("kind", {"kind": "complaint"}),
        ("title", {"title": "x" * 201}),
        ("title", {"title": "   "}),
        ("description", {"description": "x" * 5001}),
    ],
)
def test_it_validates_the_model_and_writes_nothing(city, category, field, overrides):
    with pytest.raises(ValidationError) as refused:
        create(category, IN_WEST, **overrides)

    assert field in refused.value.message_dict
    assert Idea.objects.count() == 0


def test_it_strips_title_and_description(city, category):
    idea = create(category, IN_WEST, title="  Lamp  ", description="\n dark \n")

    assert (idea.title, idea.description) == ("Lamp", "dark")


def test_it_keeps_an_authenticated_author_and_the_given_time(city, category, make_user):
    author = make_user("ann")
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    idea = create(category, IN_WEST, author=author, created_at=when, channel=Idea.Channel.PAPER)

    idea.refresh_from_db()
    assert idea.author == author
    assert idea.created_at == when
    assert idea.channel == Idea.Channel.PAPER


def test_it_drops_an_anonymous_author(city, category):
    assert create(category, IN_WEST, author=AnonymousUser()).author is None


# --- location_from_lonlat ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(4.001, 50.001), ("4.001", "50.001"), (180, 90), (-180, -90), (0, 0), (4, 50)],
)
def test_it_builds_a_wgs84_point_from_numbers_or_numeric_text(lon, lat):
    point = location_from_lonlat(lon, lat)

    assert point.srid == 4326
    assert (point.x, point.y) == (float(lon), float(lat))


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        ("abc", 50),
        (4, ""),
        (None, 50),
        (4, None),
        ([4], 50),
        (math.nan, 50),
        (4, "NaN"),
        (math.inf, 50),
        (4, "-inf"),
        ("1e400", 50),
        (4, 90.000001),
        (4, -91),
        (180.5, 50),
        (-181, 50),
        (50, 400),
    ],
)
def test_it_refuses_what_is_not_a_finite_lon_lat_on_the_globe(lon, lat):
    with pytest.raises(ValidationError) as refused:
        location_from_lonlat(lon, lat)

    assert list(refused.value.message_dict) == ["location"]


def test_it_names_the_field_it_is_given():
    with pytest.raises(ValidationError) as refused:
        location_from_lonlat("x", 1, field="latitude")

    assert list(refused.value.message_dict) == ["latitude"]


def test_it_sends_a_point_in_a_gap_to_the_triage_team_and_records_why(city, category):
    idea = create(category, IN_EMPTY_HOLE)

    assert idea.neighborhood is None
    assert idea.team.is_triage
    event = idea.routing_events.get()
    assert event.cause == "created"
    assert event.to_team == idea.team
    assert "triage" in event.reason


def test_it_routes_again_when_the_boundaries_switch_while_it_routes(city, category, monkeypatch):
    from django.contrib.gis.geos import MultiPolygon

    from mapideas.rerouting.services import boundaries_activate
    from mapideas.submission import services
    from neighborhoods.services import NeighborhoodInput, boundary_version_create
    from tests.conftest import square

    redrawn, _ = boundary_version_create(
        label="East Side to the West Team",
        items=[
            NeighborhoodInput(
                name="East Side",
                geometry=MultiPolygon(square(4.010, 50.000, 4.020, 50.010), srid=4326),
                team_name="West Team",
            )
        ],
    )
    routes = []
    real_route = services.route

    def route_then_switch(point, category_slug):
        routed = real_route(point, category_slug)
        if not routes:  # a switch lands between routing and writing the pin
            boundaries_activate(version=redrawn)
        routes.append(routed)
        return routed

    monkeypatch.setattr(services, "route", route_then_switch)
    idea = create(category, IN_EAST)

    assert len(routes) == 2
    assert (idea.team, idea.neighborhood.version) == (city.west_team, redrawn)
