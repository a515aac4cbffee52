"""Re-routing open pins when boundaries change (boundaries_activate), and staff re-assignment.

The bulk re-route is set-based SQL (mapideas.rerouting); it must send every open pin exactly
where `route()` would send a new pin at the same place with the same category.
"""

from unittest import mock

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.db.migrations import RunPython
from django.db.migrations.loader import MigrationLoader

from mapideas.models import Category, Idea, RerouteStaging, RoutingEvent
from mapideas.rerouting import services as rerouting
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_reassign
from neighborhoods.models import BoundaryVersion, CategoryRule, Team
from neighborhoods.routing import route
from tests.conftest import IN_EMPTY_HOLE, IN_ENCLAVE, ON_ISLAND
from tests.layered_city import IN_EAST_ONLY, IN_MARKET, IN_PORT_OVERLAP, layered_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def lighting() -> Category:
    return Category.objects.get(slug="lighting-safety")


@pytest.fixture
def lighting_team(db) -> Team:
    return Team.objects.create(name="Lighting Team", slug="lighting-team")


def pin(category: Category, location, title: str = "Pin", status: str | None = None) -> Idea:
    idea = idea_create(kind="issue", title=title, category=category, location=location)
    if status is not None:
        Idea.objects.filter(pk=idea.pk).update(status=status)
        idea.refresh_from_db()
    return idea


def where(idea: Idea) -> tuple[str | None, str, set[str]]:
    """(neighborhood slug, team name, "also in" team names) as stored now."""
    idea = Idea.objects.select_related("neighborhood", "team").get(pk=idea.pk)
    slug = idea.neighborhood.slug if idea.neighborhood else None
    return slug, idea.team.name, set(idea.also_in_teams.values_list("name", flat=True))


def routed(idea: Idea) -> tuple[str | None, str, set[str]]:
    """What route() says for a new pin at the same place with the same category."""
    answer = route(idea.location, idea.category.slug)
    slug = answer.neighborhood.slug if answer.neighborhood else None
    return slug, answer.team.name, {team.name for team in answer.also_in}


def snapshot() -> tuple[list, list, list]:
    ideas = list(Idea.objects.order_by("pk").values_list("pk", "neighborhood_id", "team_id"))
    events = list(RoutingEvent.objects.order_by("pk").values_list("pk", "idea_id", "to_team_id"))
    also_in = sorted(Idea.also_in_teams.through.objects.values_list("idea_id", "team_id"))
    return ideas, events, also_in


@pytest.fixture
def pins(city, category) -> dict[str, Idea]:
    """Pins routed by the `city` boundaries, before the layered ones are activated."""
    return {
        "enclave": pin(category, IN_ENCLAVE),  # Enclave -> Market (West Team -> Market Team)
        "overlap": pin(category, IN_PORT_OVERLAP),  # East Side -> Port (priority 1)
        "east": pin(category, IN_EAST_ONLY),  # East Side -> East Side: no change
        "hole": pin(category, IN_EMPTY_HOLE),  # triage -> Old Town
        "island": pin(category, ON_ISLAND),  # Harbor -> outside every neighborhood: triage
        "closed": pin(category, IN_PORT_OVERLAP, status=Idea.Status.DONE),
        "declined": pin(category, IN_ENCLAVE, status=Idea.Status.DECLINED),
    }


# --- the same rules as new pins -------------------------------------------------------------


def test_it_moves_open_pins_where_new_pins_would_go(pins):
    version = layered_version()

    result = boundaries_activate(version=version, reason="Redrawn for 2025")

    assert where(pins["enclave"]) == ("market", "Market Team", {"West Team"})
    assert where(pins["overlap"]) == ("port", "Harbor Team", {"East Team"})
    assert where(pins["east"]) == ("east-side", "East Team", set())
    assert where(pins["hole"]) == ("old-town", "West Team", set())
    # Outside the new service area: a new pin would be refused, an open one is never dropped.
    assert route(pins["island"].location) is None
    assert where(pins["island"]) == (None, "City-wide triage", set())
    for key in ("enclave", "overlap", "east", "hole"):
        assert where(pins[key]) == routed(pins[key]), key
    assert (result.open_ideas, result.moved, result.team_changed) == (5, 4, 4)


def test_a_pin_that_changes_team_leaves_its_assignee_behind(pins, city, make_user):
    west_member = make_user("wanda", teams=[city.west_team])
    east_member = make_user("ed", teams=[city.east_team])
    Idea.objects.filter(pk=pins["enclave"].pk).update(assignee=west_member)
    Idea.objects.filter(pk=pins["east"].pk).update(assignee=east_member)

    boundaries_activate(version=layered_version())

    # Enclave -> Market Team: nobody there was assigned it. East Side stays with East Team.
    assert Idea.objects.get(pk=pins["enclave"].pk).assignee is None
    assert Idea.objects.get(pk=pins["east"].pk).assignee == east_member


def test_it_points_unmoved_open_pins_at_the_new_versions_polygon(pins):
    version = layered_version()

    boundaries_activate(version=version)

    east = Idea.objects.get(pk=pins["east"].pk)
    assert east.neighborhood.version == version
    assert not east.routing_events.filter(cause="boundary_change").exists()


def test_it_records_a_routing_event_for_every_moved_pin(pins, city):
    version = layered_version()

    boundaries_activate(version=version, reason="Redrawn for 2025")

    events = RoutingEvent.objects.filter(cause=RoutingEvent.Cause.BOUNDARY_CHANGE)
    assert sorted(events.values_list("idea_id", flat=True)) == sorted(
        pins[key].pk for key in ("enclave", "overlap", "hole", "island")
    )
    assert set(events.values_list("reason", flat=True)) == {"Redrawn for 2025"}
    assert set(events.values_list("boundary_version", flat=True)) == {version.pk}
    move = events.get(idea=pins["overlap"])
    assert (move.from_neighborhood, move.from_team) == (city.east, city.east_team)
    assert (move.to_neighborhood.slug, move.to_neighborhood.version) == ("port", version)
    assert move.to_team == city.harbor_team
    from_triage = events.get(idea=pins["hole"])
    assert from_triage.from_neighborhood is None and from_triage.from_team.is_triage
    to_triage = events.get(idea=pins["island"])
    assert (to_triage.to_neighborhood, to_triage.to_team.is_triage) == (None, True)


def test_it_says_which_boundaries_replaced_which_when_no_reason_is_given(pins):
    boundaries_activate(version=layered_version(label="2025 wards"))

    event = pins["overlap"].routing_events.get(cause="boundary_change")
    assert event.reason == "Boundaries changed from 'test city' to '2025 wards'."


def test_it_leaves_closed_pins_and_their_history_alone(pins, city):
    closed_before = snapshot()
    boundaries_activate(version=layered_version())

    for key in ("closed", "declined"):
        idea = Idea.objects.get(pk=pins[key].pk)
        assert idea.neighborhood.version == BoundaryVersion.objects.get(label="test city")
        assert list(idea.routing_events.values_list("cause", flat=True)) == ["created"]
    assert where(pins["closed"]) == ("east-side", "East Team", set())
    assert where(pins["declined"]) == ("enclave", "West Team", set())
    assert closed_before[0]  # sanity: the snapshot saw the pins


def test_it_applies_category_rules_on_re_route(pins, lighting, lighting_team):
    night_team = Team.objects.create(name="Night Team", slug="night-team")
    lamps = {
        "market": pin(lighting, IN_MARKET),
        "overlap": pin(lighting, IN_PORT_OVERLAP),
        "island": pin(lighting, ON_ISLAND),
    }
    CategoryRule.objects.create(category="lighting-safety", team=lighting_team)
    CategoryRule.objects.create(
        category="lighting-safety", team=night_team, neighborhood_slugs="port"
    )

    boundaries_activate(version=layered_version())

    # City-wide rule in a neighborhood, and in a gap (instead of triage).
    assert where(lamps["market"])[:2] == ("market", "Lighting Team")
    assert where(lamps["island"]) == (None, "Lighting Team", set())
    # The rule for Port wins over the city-wide rule.
    assert where(lamps["overlap"])[:2] == ("port", "Night Team")
    # Other categories follow the neighborhoods.
    assert where(pins["overlap"])[:2] == ("port", "Harbor Team")
    for idea in [lamps["market"], lamps["overlap"], *(pins[k] for k in ("enclave", "hole"))]:
        assert where(idea) == routed(idea), idea.title


def test_it_picks_the_same_rule_as_new_pins_when_several_rules_match(pins, lighting):
    first, second, third, fourth = (
        Team.objects.create(name=f"Rule Team {n}", slug=f"rule-team-{n}") for n in range(1, 5)
    )
    CategoryRule.objects.create(category="lighting-safety", team=first)
    CategoryRule.objects.create(category="lighting-safety", team=second)
    CategoryRule.objects.create(category="lighting-safety", team=third, neighborhood_slugs="port")
    CategoryRule.objects.create(category="lighting-safety", team=fourth, neighborhood_slugs="port")
    lamps = [pin(lighting, IN_EAST_ONLY), pin(lighting, IN_PORT_OVERLAP)]

    boundaries_activate(version=layered_version())

    for lamp in lamps:
        assert where(lamp) == routed(lamp)
    assert where(lamps[0])[1] == "Rule Team 1"
    assert where(lamps[1])[1] == "Rule Team 3"


def test_it_clears_also_in_their_area_when_the_new_boundaries_no_longer_overlap(pins, city):
    layered = layered_version()
    boundaries_activate(version=layered)
    assert where(pins["overlap"])[2] == {"East Team"}
    first = BoundaryVersion.objects.get(label="test city")
    assert first.overlap_area_m2 == 0

    boundaries_activate(version=first, reason="Back to the old map")

    assert where(pins["overlap"]) == ("east-side", "East Team", set())
    assert where(pins["enclave"]) == ("enclave", "West Team", set())


# --- all or nothing -------------------------------------------------------------------------


def _fail_updates_of(idea: Idea) -> None:
    """A trigger that refuses to update one pin, in the middle of the bulk UPDATE."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_update() RETURNS trigger AS $$ BEGIN"
                f" IF NEW.id = {int(idea.pk)} THEN RAISE EXCEPTION 'refused by test'; END IF;"
                " RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse_update BEFORE UPDATE ON mapideas_idea"
                " FOR EACH ROW EXECUTE FUNCTION test_refuse_update()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse_update BEFORE UPDATE ON mapideas_idea"
                f" WHEN NEW.id = {int(idea.pk)} BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
            )


def test_it_changes_nothing_when_the_bulk_update_fails_part_way(pins):
    # The last pin by id: the UPDATE has moved others when it reaches this one.
    _fail_updates_of(pins["island"])
    old = BoundaryVersion.objects.get(is_active=True)
    before = snapshot()

    with pytest.raises(DatabaseError, match="refused by test"):
        boundaries_activate(version=layered_version())

    assert snapshot() == before
    assert BoundaryVersion.objects.get(is_active=True) == old
    assert not RerouteStaging.objects.exists()


def test_it_changes_nothing_when_a_step_after_the_update_fails(pins):
    before = snapshot()
    old = BoundaryVersion.objects.get(is_active=True)
    new = layered_version()
    failing = mock.patch.object(
        rerouting, "_recompute_also_in", side_effect=DatabaseError("disk full")
    )

    with failing as recompute, pytest.raises(DatabaseError, match="disk full"):
        boundaries_activate(version=new)

    assert recompute.called
    assert snapshot() == before
    assert BoundaryVersion.objects.get(is_active=True) == old
    assert not RerouteStaging.objects.exists()


# --- staff re-assignment --------------------------------------------------------------------


def test_it_reassigns_a_pin_by_hand_and_records_who_and_why(pins, city, make_user):
    staff = make_user("sam", planner=True)
    idea = pins["east"]

    event = idea_reassign(idea=idea, team=city.harbor_team, reason=" Harbor works ", actor=staff)

    idea.refresh_from_db()
    assert (idea.team, idea.neighborhood) == (city.harbor_team, city.east)
    assert (event.cause, event.reason, event.actor) == ("manual", "Harbor works", staff)
    assert (event.from_team, event.to_team) == (city.east_team, city.harbor_team)
    assert event.from_neighborhood == event.to_neighborhood == city.east
    assert list(idea.routing_events.values_list("cause", flat=True)) == ["created", "manual"]


def test_a_team_chosen_by_staff_survives_a_boundary_change(pins, city):
    # Enclave moves to Market (Market Team) in the new boundaries; staff had sent it to
    # Harbor Team by hand, and a redrawn map does not overrule that person.
    idea = pins["enclave"]
    idea_reassign(idea=idea, team=city.harbor_team, reason="Harbor maintains this square")

    boundaries_activate(version=layered_version(), reason="Redrawn for 2025")

    idea.refresh_from_db()
    assert where(idea)[:2] == ("market", "Harbor Team")
    last = idea.routing_events.order_by("-created_at", "-id").first()
    assert (last.cause, last.from_team, last.to_team) == (
        "boundary_change",
        city.harbor_team,
        city.harbor_team,
    )
    # Pins nobody re-assigned follow the polygons as before.
    assert where(pins["hole"])[:2] == ("old-town", "West Team")


@pytest.mark.parametrize(
    ("reason", "same_team", "field"),
    [("", False, "reason"), ("   ", False, "reason"), ("Because", True, "team")],
    ids=["empty-reason", "blank-reason", "same-team"],
)
def test_it_refuses_a_reassignment_without_reason_or_to_the_same_team(
    pins, city, reason, same_team, field
):
    idea = pins["east"]
    before = snapshot()
    team = city.east_team if same_team else city.harbor_team

    with pytest.raises(ValidationError) as refused:
        idea_reassign(idea=idea, team=team, reason=reason)

    assert list(refused.value.message_dict) == [field]
    assert snapshot() == before


def test_the_migration_marks_pins_whose_latest_routing_was_by_hand(pins, city):
    idea_reassign(idea=pins["east"], team=city.harbor_team, reason="Harbor works")
    Idea.objects.update(team_set_by_staff=False)
    migration = MigrationLoader(connection).get_migration("mapideas", "0011_team_set_by_staff")
    (mark_hand_assigned,) = (op.code for op in migration.operations if isinstance(op, RunPython))

    mark_hand_assigned(apps, None)

    assert set(Idea.objects.filter(team_set_by_staff=True)) == {pins["east"]}
