"""GET /api/route/: where a pin would go, and the neighborhood over the border, without writing."""

import pytest
from django.contrib.gis.geos import Point
from pyproj import Geod
from rest_framework.test import APIClient

from mapideas.models import Idea, RoutingEvent
from mapideas.submission.services import OUTSIDE_MESSAGE
from neighborhoods.models import CategoryRule, Team
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

URL = "/api/route/"
GEOD = Geod(ellps="WGS84")


def ask(point: Point, **params):
    return APIClient().get(URL, {"lon": point.x, "lat": point.y, **params})


def off_the_border(metres: float) -> Point:
    """A point `metres` east (negative: west) of the West/East border, on ON_SHARED_BORDER's
    parallel, placed on the ellipsoid independently of the code under test."""
    lon, lat, _back = GEOD.fwd(ON_SHARED_BORDER.x, ON_SHARED_BORDER.y, 90, metres)
    return Point(lon, lat, srid=4326)


def test_it_answers_with_the_team_and_neighborhood_of_a_point_inside(city, category):
    response = ask(IN_EAST, category=category.slug)

    assert response.status_code == 200
    assert response.json() == {
        "neighborhood": "East Side",
        "neighborhood_slug": "east-side",
        "team": "East Team",
        "team_slug": "east-team",
        "reason": "Inside East Side.",
        "also_in": [],
        "also_in_slugs": [],
        "near_border": False,
        "border_distance_m": None,
        "other_side": None,
        "other_side_slug": None,
    }


@pytest.mark.parametrize(
    ("point", "neighborhood", "team"),
    [(IN_WEST, "west-side", "west-team"), (IN_ENCLAVE, "enclave", "west-team")],
    ids=["west", "enclave"],
)
def test_it_routes_like_idea_create(city, point, neighborhood, team):
    body = ask(point).json()

    assert (body["neighborhood_slug"], body["team_slug"]) == (neighborhood, team)


def test_it_writes_nothing(city, category):
    ask(IN_EAST, category=category.slug)
    ask(OUTSIDE_CITY)

    assert not Idea.objects.exists()
    assert not RoutingEvent.objects.exists()


@pytest.mark.parametrize("metres", [10.0, 3.0, -10.0, -14.5])
def test_it_names_the_other_side_within_the_hint_distance_in_metres(city, metres):
    body = ask(off_the_border(metres)).json()

    owner, other = ("East Side", "West Side") if metres > 0 else ("West Side", "East Side")
    assert body["neighborhood"] == owner
    assert body["near_border"] is True
    assert body["other_side"] == other
    assert body["border_distance_m"] == pytest.approx(abs(metres), abs=1.0)


def test_it_puts_a_point_on_the_border_at_zero_metres_from_the_other_side(city):
    body = ask(ON_SHARED_BORDER).json()

    assert (body["neighborhood"], body["other_side"]) == ("East Side", "West Side")
    assert body["near_border"] is True
    assert body["border_distance_m"] == pytest.approx(0, abs=0.1)


@pytest.mark.parametrize("metres", [20.0, -16.0, 300.0])
def test_it_gives_no_hint_beyond_the_hint_distance(city, metres):
    body = ask(off_the_border(metres)).json()

    assert body["near_border"] is False
    assert body["other_side"] is None
    assert body["border_distance_m"] is None


def test_it_reads_the_hint_distance_from_the_setting(city, settings):
    settings.MAPIDEAS_BORDER_HINT_M = 25

    body = ask(off_the_border(20.0)).json()

    assert body["near_border"] is True
    assert body["border_distance_m"] == pytest.approx(20.0, abs=1.0)


def test_it_gives_no_hint_when_the_setting_is_zero(city, settings):
    settings.MAPIDEAS_BORDER_HINT_M = 0

    body = ask(ON_SHARED_BORDER).json()

    assert (body["near_border"], body["other_side"]) == (False, None)


def test_it_measures_to_a_neighborhood_in_a_hole(city):
    # 5 m north of the Enclave's south edge (lat 50.002), inside it: West Side surrounds it.
    lon, lat, _back = GEOD.fwd(4.003, 50.002, 0, 5.0)

    body = ask(Point(lon, lat, srid=4326)).json()

    assert (body["neighborhood"], body["other_side"]) == ("Enclave", "West Side")
    assert body["border_distance_m"] == pytest.approx(5.0, abs=1.0)


def test_it_sends_a_point_in_a_gap_to_triage_and_names_a_near_neighborhood(city):
    body = ask(IN_EMPTY_HOLE).json()

    triage = Team.objects.get(is_triage=True)
    assert body["neighborhood"] is None
    assert body["neighborhood_slug"] is None
    assert (body["team"], body["team_slug"]) == (triage.name, triage.slug)
    assert "triage" in body["reason"]
    assert body["near_border"] is False  # the hole is 140 m wide

    # 8 m inside the hole from its west edge (lon 4.006): West Side is right there.
    lon, lat, _back = GEOD.fwd(4.006, 50.007, 90, 8.0)
    near = ask(Point(lon, lat, srid=4326)).json()
    assert near["neighborhood"] is None
    assert near["other_side"] == "West Side"
    assert near["border_distance_m"] == pytest.approx(8.0, abs=1.0)


def test_it_applies_the_category_rule_when_a_category_is_given(city, category):
    CategoryRule.objects.create(
        category=category.slug, team=city.harbor_team, neighborhood_slugs="east-side"
    )

    with_rule = ask(IN_EAST, category=category.slug).json()
    without = ask(IN_EAST).json()
    other_category = ask(IN_EAST, category="streets-sidewalks").json()

    assert with_rule["team"] == "Harbor Team"
    assert with_rule["neighborhood"] == "East Side"
    assert with_rule["reason"].startswith("Category rule:")
    assert without["team"] == other_category["team"] == "East Team"


def test_it_treats_an_empty_category_as_not_chosen_yet(city):
    response = ask(ON_ISLAND, category="")

    assert response.status_code == 200
    assert response.json()["team"] == "Harbor Team"


def test_it_refuses_a_point_outside_the_service_area_like_idea_create(city):
    response = ask(OUTSIDE_CITY)

    assert response.status_code == 400
    # The point is the pair the preview was given: both coordinates are named.
    assert response.json() == {"lon": [OUTSIDE_MESSAGE], "lat": [OUTSIDE_MESSAGE]}


def test_it_refuses_every_point_when_no_boundaries_are_loaded(db):
    response = ask(IN_EAST)

    assert response.status_code == 400
    # The point is the pair the preview was given: both coordinates are named.
    assert response.json() == {"lon": [OUTSIDE_MESSAGE], "lat": [OUTSIDE_MESSAGE]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "50.005"}, "lon"),
        ({"lon": "4.015"}, "lat"),
        ({"lon": "east", "lat": "50.005"}, "lon"),
        ({"lon": "4.015", "lat": ""}, "lat"),
        ({"lon": "nan", "lat": "50.005"}, "lon"),
        ({"lon": "4.015", "lat": "inf"}, "lat"),
        ({"lon": "4.015", "lat": "95"}, "lat"),
        ({"lon": "-181", "lat": "50.005"}, "lon"),
        ({"lon": "4.015", "lat": "50.005", "category": "no-such-category"}, "category"),
    ],
)
def test_it_refuses_bad_or_missing_parameters_naming_the_field(city, params, field):
    response = APIClient().get(URL, params)

    assert response.status_code == 400
    assert field in response.json()


def test_it_refuses_to_write(city):
    response = APIClient().post(URL, {"lon": IN_EAST.x, "lat": IN_EAST.y}, format="json")

    assert response.status_code == 405
