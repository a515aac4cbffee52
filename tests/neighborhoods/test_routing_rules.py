"""The routing policy for new pins: overlaps, category rules, gaps and the service area.

Re-routing after a boundary change applies the same rules in SQL:
tests/mapideas/rerouting/test_rerouting.py.
"""

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from mapideas.models import Category, Idea
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from neighborhoods.models import BoundaryVersion, CategoryRule, Team
from neighborhoods.routing import route
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, OUTSIDE_CITY
from tests.layered_city import (
    FAR_OUTSIDE,
    IN_EAST_ONLY,
    IN_MARKET,
    IN_OLD_TOWN,
    IN_PORT_ONLY,
    IN_PORT_OVERLAP,
    JUST_OUTSIDE,
    layered_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def layered(db) -> BoundaryVersion:
    version = layered_version()
    boundaries_activate(version=version)
    return version


@pytest.fixture
def lighting() -> Category:
    return Category.objects.get(slug="lighting-safety")


@pytest.fixture
def lighting_team(db) -> Team:
    return Team.objects.create(name="Lighting Team", slug="lighting-team")


def pin(category: Category, location) -> Idea:
    return idea_create(kind="issue", title="Pin", category=category, location=location)


def teams(idea: Idea) -> set[str]:
    return set(idea.also_in_teams.values_list("name", flat=True))


# --- overlaps -------------------------------------------------------------------------------


def test_it_gives_an_overlap_to_the_higher_priority_even_when_it_is_larger(layered, category):
    port = layered.neighborhoods.get(slug="port")
    east = layered.neighborhoods.get(slug="east-side")
    assert port.area_m2 > east.area_m2

    idea = pin(category, IN_PORT_OVERLAP)

    assert (idea.neighborhood, idea.team.name) == (port, "Harbor Team")


def test_it_gives_an_overlap_of_equal_priority_to_the_smaller_neighborhood(layered, category):
    market = layered.neighborhoods.get(slug="market")
    assert market.area_m2 < layered.neighborhoods.get(slug="old-town").area_m2

    idea = pin(category, IN_MARKET)

    assert (idea.neighborhood, idea.team.name) == (market, "Market Team")


def test_it_shows_the_pin_to_the_other_covering_teams_as_also_in_their_area(layered, category):
    assert teams(pin(category, IN_PORT_OVERLAP)) == {"East Team"}
    assert teams(pin(category, IN_MARKET)) == {"West Team"}
    assert teams(pin(category, IN_PORT_ONLY)) == set()


def test_it_records_the_owner_and_the_version_in_the_first_routing_event(layered, category):
    idea = pin(category, IN_PORT_OVERLAP)

    event = idea.routing_events.get()
    assert event.cause == "created"
    assert (event.to_neighborhood.slug, event.to_team.name) == ("port", "Harbor Team")
    assert event.boundary_version == layered
    assert event.reason == "Inside Port."


def test_it_ignores_a_version_that_is_stored_but_not_active(city, category):
    layered_version(label="draft")

    idea = pin(category, IN_PORT_OVERLAP)

    assert (idea.neighborhood, idea.team) == (city.east, city.east_team)


# --- category rules -------------------------------------------------------------------------


def test_it_sends_a_category_city_wide_to_the_rule_team(layered, category, lighting, lighting_team):
    CategoryRule.objects.create(category="lighting-safety", team=lighting_team)

    lamp = pin(lighting, IN_EAST_ONLY)
    bench = pin(category, IN_EAST_ONLY)

    assert (lamp.neighborhood.slug, lamp.team) == ("east-side", lighting_team)
    assert bench.team.name == "East Team"
    assert lamp.routing_events.get().reason == (
        "Category rule: lighting-safety in East Side goes to Lighting Team."
    )


def test_it_applies_a_neighborhood_rule_only_where_that_neighborhood_owns_the_pin(
    layered, lighting, lighting_team
):
    CategoryRule.objects.create(
        category="lighting-safety", team=lighting_team, neighborhood_slugs="east-side"
    )

    assert pin(lighting, IN_EAST_ONLY).team == lighting_team
    # East Side covers this point too, but Port owns it.
    assert pin(lighting, IN_PORT_OVERLAP).team.name == "Harbor Team"
    assert pin(lighting, IN_OLD_TOWN).team.name == "West Team"


def test_it_prefers_a_neighborhood_rule_to_a_city_wide_one(layered, lighting, lighting_team):
    night_team = Team.objects.create(name="Night Team", slug="night-team")
    CategoryRule.objects.create(category="lighting-safety", team=lighting_team)
    CategoryRule.objects.create(
        category="lighting-safety", team=night_team, neighborhood_slugs="old-town, market"
    )

    assert pin(lighting, IN_MARKET).team == night_team
    assert pin(lighting, IN_OLD_TOWN).team == night_team
    assert pin(lighting, IN_EAST_ONLY).team == lighting_team


def test_it_keeps_the_other_covering_teams_in_the_loop_when_a_rule_takes_the_pin(
    layered, lighting, lighting_team
):
    CategoryRule.objects.create(category="lighting-safety", team=lighting_team)

    idea = pin(lighting, IN_MARKET)

    # The owner is Market; Old Town also covers it. The owner's own team is not "also in".
    assert (idea.neighborhood.slug, idea.team) == ("market", lighting_team)
    assert teams(idea) == {"West Team"}


# --- gaps and the service area --------------------------------------------------------------


def test_it_sends_a_pin_in_a_hole_between_neighborhoods_to_the_triage_team(city, category):
    idea = pin(category, IN_EMPTY_HOLE)

    assert idea.neighborhood is None
    assert idea.team.is_triage
    assert teams(idea) == set()


def test_it_sends_a_pin_just_outside_the_city_to_the_triage_team(layered, category):
    idea = pin(category, JUST_OUTSIDE)

    assert (idea.neighborhood, idea.team.is_triage) == (None, True)
    event = idea.routing_events.get()
    assert event.reason == (
        "Outside every neighborhood but inside the service area: city-wide triage."
    )


def test_it_sends_a_pin_in_a_gap_to_a_city_wide_rule_team_rather_than_triage(
    layered, lighting, lighting_team
):
    CategoryRule.objects.create(category="lighting-safety", team=lighting_team)
    CategoryRule.objects.create(
        category="lighting-safety",
        team=Team.objects.create(name="Port Lights", slug="port-lights"),
        neighborhood_slugs="port",
    )

    idea = pin(lighting, JUST_OUTSIDE)

    assert (idea.neighborhood, idea.team) == (None, lighting_team)


@pytest.mark.parametrize("where", [FAR_OUTSIDE, OUTSIDE_CITY], ids=["far-east", "between"])
def test_it_refuses_a_pin_outside_the_service_area_and_writes_nothing(layered, category, where):
    with pytest.raises(ValidationError) as refused:
        pin(category, where)

    assert list(refused.value.message_dict) == ["location"]
    assert not Idea.objects.exists()
    assert route(where) is None


def test_it_refuses_every_pin_while_no_version_is_active(db, category):
    layered_version()

    with pytest.raises(ValidationError):
        pin(category, IN_EAST)


@pytest.mark.parametrize(
    ("buffer_m", "just_outside", "far_outside"),
    [(0, False, False), (50, False, False), (250, True, False), (2000, True, True)],
)
def test_it_grows_the_service_area_by_the_configured_buffer(
    db, settings, category, buffer_m, just_outside, far_outside
):
    """JUST_OUTSIDE is ~72 m from Port, FAR_OUTSIDE ~1.43 km."""
    settings.MAPIDEAS_SERVICE_AREA_BUFFER_M = buffer_m
    boundaries_activate(version=layered_version())

    assert (route(JUST_OUTSIDE) is not None) is just_outside
    assert (route(FAR_OUTSIDE) is not None) is far_outside
    # A point on the city limit is inside whatever the buffer.
    assert route(Point(4.030, 50.005, srid=4326)).neighborhood.slug == "port"


def test_it_keeps_the_buffer_a_version_was_created_with(db, settings, category):
    settings.MAPIDEAS_SERVICE_AREA_BUFFER_M = 2000
    boundaries_activate(version=layered_version())
    settings.MAPIDEAS_SERVICE_AREA_BUFFER_M = 0

    assert route(FAR_OUTSIDE).team.is_triage
