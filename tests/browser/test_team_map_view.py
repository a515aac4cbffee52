"""A team's workspace map opens on the team's area: its view holds every neighborhood of the
team, whole, and is neither the whole city nor the extent of the pins in its queue (which may
sit in one corner of the area), on a wide screen and on a phone."""

import pytest
from playwright.sync_api import Page, expect

from mapideas.submission.services import idea_create
from tests.browser.test_drop_a_pin import map_name
from tests.conftest import IN_ENCLAVE, IN_WEST, ON_ISLAND

# The test city (tests/conftest.py): West Team's area is West Side (and the Enclave inside
# it), 3.998-4.010 E, 50.000-50.010 N; the city reaches 4.060 E with Harbor's island.
WEST_AREA = (3.998, 50.000, 4.010, 50.010)
HARBOR_AREA = (4.020, 50.000, 4.060, 50.010)
CITY = (3.998, 50.000, 4.060, 50.010)
VIEW = """name => { const b = window[name].getBounds();
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"""
SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}


def holds(view, box) -> bool:
    west, south, east, north = view
    return west <= box[0] and south <= box[1] and east >= box[2] and north >= box[3]


def team_map_view(page: Page, team, size: str) -> list[float]:
    page.set_viewport_size(SIZES[size])
    page.goto(f"/teams/{team.slug}/")
    expect(page.locator(".leaflet-container")).to_be_visible()
    return page.evaluate(VIEW, map_name(page))


@pytest.mark.parametrize("size", SIZES)
def test_a_teams_map_opens_on_its_area(
    page: Page, live_server, city, category, make_user, log_in, size
):
    # Its queue's pins sit in one corner of its area: fitting them would zoom in past it.
    for location in (IN_WEST, IN_ENCLAVE):
        idea_create(kind="issue", title="Loose tile", category=category, location=location)
    log_in(make_user("wendy", teams=[city.west_team]))

    view = team_map_view(page, city.west_team, size)

    assert holds(view, WEST_AREA), view
    assert not holds(view, CITY), view
    assert not (view[0] <= ON_ISLAND.x <= view[2]), view  # Harbor's island is off the map


@pytest.mark.parametrize("size", SIZES)
def test_a_team_of_two_far_apart_polygons_sees_both(
    page: Page, live_server, city, make_user, log_in, size
):
    log_in(make_user("hana", teams=[city.harbor_team]))

    view = team_map_view(page, city.harbor_team, size)

    assert holds(view, HARBOR_AREA), view
    assert not holds(view, CITY), view
