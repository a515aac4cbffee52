"""`/teams/<slug>/` beyond a team's own pins: pins in its area that another team owns (where
neighborhoods overlap), and the city-wide triage team's queue of pins between neighborhoods."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.models import Idea
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_reassign
from neighborhoods.models import Team
from neighborhoods.routing import triage_team
from neighborhoods.services import NeighborhoodInput, boundary_version_create
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, IN_WEST, square

pytestmark = pytest.mark.django_db

# In the redrawn city, East Side reaches into West Side between 4.008 and 4.010.
IN_OVERLAP = Point(4.009, 50.005, srid=4326)


@pytest.fixture
def overlapping(city):
    """The city redrawn so that East Side (the smaller, so the owner) overlaps West Side."""
    version, _changes = boundary_version_create(
        label="overlapping city",
        items=[
            NeighborhoodInput(
                name="West Side",
                geometry=MultiPolygon(square(3.996, 50.000, 4.010, 50.010), srid=4326),
                team_name="West Team",
            ),
            NeighborhoodInput(
                name="East Side",
                geometry=MultiPolygon(square(4.008, 50.000, 4.020, 50.010), srid=4326),
                team_name="East Team",
            ),
            NeighborhoodInput(
                name="Harbor",
                geometry=MultiPolygon(square(4.020, 50.000, 4.030, 50.010), srid=4326),
                team_name="Harbor Team",
            ),
        ],
    )
    assert version.overlap_area_m2 > 0
    boundaries_activate(version=version)
    return version


@pytest.fixture
def triage_member(city, make_user):
    return make_user("tess", teams=[triage_team()])


def pin(category, where, title: str) -> Idea:
    return idea_create(kind="idea", title=title, category=category, location=where)


def also_in_titles(response) -> list[str]:
    return [idea.title for idea in response.context["also_in"]]


def routed_titles(response) -> list[str]:
    return [idea.title for idea in response.context["page"].object_list]


def test_it_shows_a_team_the_open_pins_in_its_area_that_another_team_owns(
    client, city, overlapping, category, west_member
):
    pin(category, IN_OVERLAP, "Bench on the overlap")
    pin(category, IN_WEST, "West bench")
    pin(category, IN_EAST, "East bench")
    client.force_login(west_member)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assert routed_titles(response) == ["West bench"]
    assert also_in_titles(response) == ["Bench on the overlap"]
    assertContains(response, "Also in your area: owned by another team")
    assertContains(response, "<td>Owned by East Team</td>", html=True)
    html = response.content.decode()
    # In its own, later section: not mixed with the pins routed to the team.
    assert html.index("Routed to this team") < html.index("Also in your area")
    assert html.index("Also in your area") < html.index("Bench on the overlap")


def test_it_shows_pins_that_were_in_the_overlap_before_the_boundaries_changed(
    client, city, category, west_member, make_user
):
    # Pinned under the old boundaries (East Side only), then East Side grew over West Side's
    # edge: re-routing works out "also in their area" for the open pins.
    before = pin(category, Point(4.011, 50.005, srid=4326), "Pinned before")
    version, _changes = boundary_version_create(
        label="east side reaches west",
        items=[
            NeighborhoodInput(
                name="West Side",
                geometry=MultiPolygon(square(3.998, 50.000, 4.012, 50.010), srid=4326),
                team_name="West Team",
            ),
            NeighborhoodInput(
                name="East Side",
                geometry=MultiPolygon(square(4.010, 50.000, 4.020, 50.010), srid=4326),
                team_name="East Team",
            ),
        ],
    )
    boundaries_activate(version=version)
    client.force_login(west_member)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assert before.also_in_teams.get() == city.west_team
    assert also_in_titles(response) == ["Pinned before"]


def test_it_leaves_closed_pins_out_of_the_also_in_your_area_section(
    client, city, overlapping, category, west_member
):
    done = pin(category, IN_OVERLAP, "Fixed already")
    Idea.objects.filter(pk=done.pk).update(status=Idea.Status.DONE)
    client.force_login(west_member)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assert also_in_titles(response) == []
    assertNotContains(response, "Also in your area")
    assertNotContains(response, "Fixed already")


def test_it_lists_an_overlap_pin_once_for_its_owner_among_the_routed_pins(
    client, city, overlapping, category, east_member
):
    pin(category, IN_OVERLAP, "Bench on the overlap")
    client.force_login(east_member)

    response = client.get(f"/teams/{city.east_team.slug}/")

    assert routed_titles(response) == ["Bench on the overlap"]
    assert also_in_titles(response) == []
    assertNotContains(response, "Also in your area")


def test_it_drops_a_pin_from_the_section_once_it_is_reassigned_to_the_team(
    client, city, overlapping, category, west_member
):
    idea = pin(category, IN_OVERLAP, "Bench on the overlap")
    idea_reassign(idea=idea, team=city.west_team, reason="The park is ours.")
    client.force_login(west_member)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assert routed_titles(response) == ["Bench on the overlap"]
    assert also_in_titles(response) == []


def test_it_shows_a_planner_the_section_of_any_team(client, city, overlapping, category, planner):
    pin(category, IN_OVERLAP, "Bench on the overlap")
    client.force_login(planner)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assert also_in_titles(response) == ["Bench on the overlap"]


def test_it_shows_the_triage_team_its_queue_of_pins_between_neighborhoods(
    client, city, category, triage_member
):
    pin(category, IN_EMPTY_HOLE, "Pothole in the gap")
    pin(category, IN_EAST, "East bench")
    client.force_login(triage_member)

    response = client.get(f"/teams/{triage_team().slug}/")

    assert response.status_code == 200
    assert routed_titles(response) == ["Pothole in the gap"]
    assertContains(
        response,
        '<h2 id="routed-heading">Unrouted queue: pins outside every neighborhood'
        ' <span class="count">(1)</span></h2>',
        html=True,
    )
    assertNotContains(response, "Routed to this team")
    assertNotContains(response, "East bench")
    # The map still draws the city, whose gaps the queue fills.
    assertContains(response, '"name": "West Side"')


def test_it_empties_the_queue_when_the_triage_team_assigns_the_pin(
    client, city, category, triage_member
):
    idea = pin(category, IN_EMPTY_HOLE, "Pothole in the gap")
    idea_reassign(idea=idea, team=city.west_team, reason="West Side maintains that lot.")
    client.force_login(triage_member)

    response = client.get(f"/teams/{triage_team().slug}/")

    assert routed_titles(response) == []
    assertContains(response, "The queue is empty")


def test_it_keeps_the_queue_heading_off_district_team_pages(client, city, west_member):
    client.force_login(west_member)

    response = client.get(f"/teams/{city.west_team.slug}/")

    assertContains(response, "Routed to this team")
    assertNotContains(response, "Unrouted queue")


def test_it_forbids_the_queue_to_a_district_team_member(client, city, category, west_member):
    pin(category, IN_EMPTY_HOLE, "Pothole in the gap")
    client.force_login(west_member)

    response = client.get(f"/teams/{triage_team().slug}/")

    assert response.status_code == 403
    assert Team.objects.filter(is_triage=True).count() == 1


# --- bulk changes on the pins "also in your area" -----------------------------------------


def pick_box(idea: Idea, *, also_in: bool) -> str:
    # The "also in" boxes sit outside the <form> element, tied to it by its id.
    form = ' form="bulk-form"' if also_in else ""
    return (
        f'<input type="checkbox" name="ideas" value="{idea.pk}" id="pick-{idea.pk}"{form} '
        f'aria-label="Select #{idea.pk}">'
    )


def test_a_member_ticks_pins_also_in_the_area_and_changes_them_with_the_team_pins(
    client, city, overlapping, category, west_member
):
    theirs = pin(category, IN_OVERLAP, "Bench on the overlap")
    ours = pin(category, IN_WEST, "West bench")
    client.force_login(west_member)

    page = client.get(f"/teams/{city.west_team.slug}/")
    response = client.post(
        f"/teams/{city.west_team.slug}/bulk/",
        {
            "ideas": [theirs.pk, ours.pk],
            "action": "status",
            "status": "acknowledged",
            "answer": "Seen by the district teams.",
        },
    )

    assertContains(page, pick_box(theirs, also_in=True), html=True)
    assertContains(page, pick_box(ours, also_in=False), html=True)
    assert response.status_code == 302
    assert set(Idea.objects.values_list("status", "answer")) == {
        (Idea.Status.ACKNOWLEDGED, "Seen by the district teams.")
    }
    # The owner still signs its pin's answer (the public author is the pin's team).
    assert theirs.updates.get().team == city.east_team


def test_the_bulk_form_is_there_when_only_pins_also_in_the_area_are(
    client, city, overlapping, category, west_member
):
    theirs = pin(category, IN_OVERLAP, "Bench on the overlap")
    client.force_login(west_member)

    page = client.get(f"/teams/{city.west_team.slug}/")
    response = client.post(
        f"/teams/{city.west_team.slug}/bulk/",
        {"ideas": [theirs.pk], "action": "status", "status": "under_review"},
    )

    assert routed_titles(page) == []
    assertContains(page, 'id="bulk-form"', count=1)
    assertContains(page, pick_box(theirs, also_in=True), html=True)
    assert response.status_code == 302
    assert Idea.objects.get().status == Idea.Status.UNDER_REVIEW


def test_a_pin_also_in_the_area_stays_with_its_team_members_and_the_refusal_names_it(
    client, city, overlapping, category, west_member
):
    theirs = pin(category, IN_OVERLAP, "Bench on the overlap")
    client.force_login(west_member)

    response = client.post(
        f"/teams/{city.west_team.slug}/bulk/",
        {"ideas": [theirs.pk], "action": "assign", "assignee": west_member.username},
    )

    assert response.status_code == 400
    assertContains(response, f"#{theirs.pk}: wendy is not a member of East Team", status_code=400)
    assert Idea.objects.get().assignee is None


def test_planners_get_no_boxes_on_pins_also_in_the_area(
    client, city, overlapping, category, planner
):
    theirs = pin(category, IN_OVERLAP, "Bench on the overlap")
    client.force_login(planner)

    page = client.get(f"/teams/{city.west_team.slug}/")

    assert also_in_titles(page) == ["Bench on the overlap"]
    assertNotContains(page, f'id="pick-{theirs.pk}"')
    assert (
        client.post(
            f"/teams/{city.west_team.slug}/bulk/",
            {"ideas": [theirs.pk], "action": "status", "status": "under_review"},
        ).status_code
        == 403
    )
