"""The pin form says where a pin will go before it is sent, and warns near a border."""

import math
import re

from playwright.sync_api import Page, expect
from pyproj import Geod

from mapideas.models import Idea
from mapideas.submission.services import OUTSIDE_MESSAGE
from neighborhoods.models import Neighborhood
from tests.browser.test_drop_a_pin import XSS_NEIGHBORHOOD, map_name, map_point, nothing_ran
from tests.conftest import IN_EAST, IN_ENCLAVE, ON_SHARED_BORDER, OUTSIDE_CITY

GEOD = Geod(ellps="WGS84")
BORDER_HINT = re.compile(r"It is within (\d+) m of West Side: move the pin if it belongs there\.")


def zoom_to(page: Page, point, zoom: int) -> None:
    page.evaluate(
        "([name, lat, lon, zoom]) => window[name].setView([lat, lon], zoom, {animate: false})",
        [map_name(page), point.y, point.x, zoom],
    )


def type_into(page: Page, label: str, text: str) -> None:
    page.get_by_label(label).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_it_says_where_the_pin_goes_and_warns_near_a_border(page: Page, live_server, city):
    page.goto("/")
    hint = page.locator("#route-hint")
    expect(hint).to_have_attribute("aria-live", "polite")
    expect(hint).to_be_empty()

    # About 0.3 m a pixel at zoom 18: 12 pixels east of the border is a few metres into East Side.
    zoom_to(page, ON_SHARED_BORDER, 18)
    x, y = map_point(page, ON_SHARED_BORDER)
    page.mouse.click(x + 12, y)

    expect(hint).to_contain_text("This pin will go to East Team (East Side).")
    expect(hint).to_contain_text(BORDER_HINT)
    lon = float(page.get_by_label("Longitude").input_value())
    lat = float(page.get_by_label("Latitude").input_value())
    _azimuth, _back, metres = GEOD.inv(ON_SHARED_BORDER.x, lat, lon, lat)
    assert 1 < metres < 15
    said = int(BORDER_HINT.search(hint.inner_text()).group(1))
    assert abs(said - math.ceil(metres)) <= 1

    # Typed coordinates, keyboard only: the hint follows, and the border warning goes.
    type_into(page, "Latitude", f"{IN_ENCLAVE.y}")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(f"{IN_ENCLAVE.x}")

    expect(hint).to_have_text("This pin will go to West Team (Enclave).")
    expect(page.locator(".leaflet-marker-icon[title='Your new pin']")).to_be_visible()
    assert not Idea.objects.exists()


def test_it_says_a_pin_outside_the_city_would_be_refused(page: Page, live_server, city):
    page.goto("/")
    type_into(page, "Latitude", f"{OUTSIDE_CITY.y}")
    type_into(page, "Longitude", f"{OUTSIDE_CITY.x}")

    hint = page.locator("#route-hint")
    expect(hint).to_have_text(OUTSIDE_MESSAGE)

    type_into(page, "Longitude", f"{IN_EAST.x}")
    expect(hint).to_have_text("This pin will go to East Team (East Side).")


def test_it_shows_names_in_the_hint_as_text(page: Page, live_server, city, traffic):
    Neighborhood.objects.filter(pk=city.east.pk).update(name=XSS_NEIGHBORHOOD)
    page.goto("/")

    page.mouse.click(*map_point(page, IN_EAST))

    expect(page.locator("#route-hint")).to_have_text(
        f"This pin will go to East Team ({XSS_NEIGHBORHOOD})."
    )
    nothing_ran(page, traffic.requests)
