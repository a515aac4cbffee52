"""Before and while writing a pin, in a real browser: find a place by name, use the device's
location, drag the pin, see similar pins nearby and support one instead, and keep a draft
through a reload."""

import re

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import Page, expect

from geodata.models import Place
from mapideas.models import Idea
from mapideas.submission.services import idea_create
from tests.browser.test_drop_a_pin import map_name, map_point
from tests.conftest import IN_EAST, OUTSIDE_CITY

NEW_PIN = ".leaflet-marker-icon[title='Your new pin']"


def map_center(page: Page) -> tuple[float, float]:
    """The map's centre as (lon, lat)."""
    return tuple(
        page.evaluate("name => { const c = window[name].getCenter(); return [c.lng, c.lat]; }",
                      map_name(page))
    )  # fmt: skip


def near(point: Point, east_m: float) -> Point:
    # At 50° N a degree of longitude is about 71.7 km.
    return Point(point.x + east_m / 71_700, point.y, srid=4326)


def test_typing_a_neighborhood_name_takes_the_map_there(page: Page, live_server, city):
    page.goto("/")
    search = page.get_by_label("Find a neighborhood, street or place")
    search.fill("harb")
    expect(page.locator("#place-search-results button")).to_have_text(["Harbor — neighborhood"])
    # Enter picks the first result: the map fits Harbor, mainland and island.
    search.press("Enter")
    expect(page.locator("#place-search-status")).to_have_text(
        "The map shows Harbor (neighborhood)."
    )
    page.wait_for_function(
        "name => Math.abs(window[name].getCenter().lng - 4.040) < 0.002", arg=map_name(page)
    )
    lon, lat = map_center(page)
    assert lat == pytest.approx(50.005, abs=0.002)


def test_an_imported_place_is_found_without_accents_with_the_keyboard(
    page: Page, live_server, city
):
    Place.objects.create(
        name="Église Saint-Pierre",
        name_normalized="eglise saint-pierre",
        kind="landmark",
        point=Point(4.012, 50.004, srid=4326),
        min_lon=4.012,
        min_lat=50.004,
        max_lon=4.012,
        max_lat=50.004,
        source="test",
    )
    page.goto("/")
    search = page.get_by_label("Find a neighborhood, street or place")
    search.fill("EGLISE")
    first = page.locator("#place-search-results button").first
    expect(first).to_have_text("Église Saint-Pierre — landmark")
    search.press("ArrowDown")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#place-search-status")).to_have_text(
        "The map shows Église Saint-Pierre (landmark)."
    )
    page.wait_for_function(
        "name => Math.abs(window[name].getCenter().lng - 4.012) < 0.0005", arg=map_name(page)
    )
    assert page.evaluate("name => window[name].getZoom()", map_name(page)) >= 17


def test_a_similar_pin_nearby_is_suggested_and_supported_instead(
    page: Page, live_server, city, category
):
    bench = idea_create(
        kind="issue",
        title="Broken bench by the pond",
        description="The slats are gone.",
        category=category,
        location=IN_EAST,
    )
    idea_create(kind="idea", title="More trees", category=category, location=near(IN_EAST, 20))
    page.goto("/")
    # Zoomed in to street level (a 50 m radius), so the click is beside the pin, not on it.
    page.evaluate(
        "([name, lat, lon]) => window[name].setView([lat, lon], 17, { animate: false })",
        [map_name(page), IN_EAST.y, IN_EAST.x],
    )
    page.mouse.click(*map_point(page, near(IN_EAST, 30)))
    expect(page.locator(NEW_PIN)).to_be_visible()
    page.get_by_label("Title").fill("the bench is broken")

    suggestions = page.locator("#similar-pins")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("heading")).to_have_text("Similar pins nearby")
    item = suggestions.locator("li")
    expect(item).to_have_count(1)
    expect(item.get_by_role("link")).to_have_text("Broken bench by the pond")
    expect(item.get_by_role("link")).to_have_attribute("href", f"/ideas/{bench.pk}/")
    expect(item).to_contain_text(re.compile(r"\d+ m away, new, 0 supporters"))

    support = item.get_by_role("button", name="Support this instead")
    expect(support).to_have_accessible_description("Broken bench by the pond")
    support.click()

    expect(item.locator(".support-said")).to_contain_text(
        "Thank you: you support “Broken bench by the pond”"
    )
    expect(item).to_contain_text("1 supporter")
    assert Idea.objects.get(pk=bench.pk).support_count == 1


def test_the_new_pin_can_be_dragged_and_the_fields_follow(page: Page, live_server, city):
    page.goto("/")
    page.mouse.click(*map_point(page, IN_EAST))
    marker = page.locator(NEW_PIN)
    expect(marker).to_be_visible()
    expect(page.locator("#route-hint")).to_contain_text("East Team")
    before = float(page.get_by_label("Longitude").input_value())

    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target_x, _ = map_point(page, Point(4.025, IN_EAST.y, srid=4326))  # into Harbor
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move((x + target_x) / 2, y, steps=5)
    page.mouse.move(target_x, y, steps=5)
    page.mouse.up()

    expect(page.locator("#route-hint")).to_contain_text("Harbor Team")
    after = float(page.get_by_label("Longitude").input_value())
    assert after > before + 0.005
    assert float(page.get_by_label("Latitude").input_value()) == pytest.approx(IN_EAST.y, abs=3e-4)


def test_a_draft_survives_a_reload_and_is_gone_once_sent(page: Page, live_server, city, category):
    page.goto("/")
    page.get_by_label("Issue", exact=True).check()
    page.get_by_label("Title").fill("Cracked pavement")
    page.get_by_label("Description").fill("By the bakery.")
    page.get_by_label("Category").select_option(label=category.name)
    page.mouse.click(*map_point(page, IN_EAST))
    expect(page.locator(NEW_PIN)).to_be_visible()
    page.wait_for_function("() => localStorage.getItem('mapideas:pin-draft') !== null")

    page.reload()

    expect(page.locator("#draft-notice")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Cracked pavement")
    expect(page.get_by_label("Description")).to_have_value("By the bakery.")
    expect(page.get_by_label("Issue", exact=True)).to_be_checked()
    assert page.get_by_label("Category").input_value() == category.slug
    assert float(page.get_by_label("Latitude").input_value()) == pytest.approx(IN_EAST.y, abs=2e-4)
    # The marker and the team hint come back with it.
    expect(page.locator(NEW_PIN)).to_be_visible()
    expect(page.locator("#route-hint")).to_contain_text("East Team")

    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(r"/ideas/\d+/$"))
    # The page after the redirect says the pin arrived: the draft goes.
    expect(page.locator(".message-idea-sent")).to_contain_text("Your issue was sent")
    page.wait_for_function("() => localStorage.getItem('mapideas:pin-draft') === null")
    page.goto("/")
    expect(page.get_by_label("Title")).to_have_value("")
    expect(page.locator("#draft-notice")).to_be_hidden()


def test_a_draft_can_be_discarded(page: Page, live_server, city):
    page.goto("/")
    page.get_by_label("Title").fill("Not this one")
    page.wait_for_function("() => localStorage.getItem('mapideas:pin-draft') !== null")
    page.reload()
    expect(page.get_by_label("Title")).to_have_value("Not this one")
    page.get_by_role("button", name="Discard draft").click()
    expect(page.get_by_label("Title")).to_have_value("")
    expect(page.locator("#draft-notice")).to_have_text("Draft discarded.")
    page.reload()
    expect(page.get_by_label("Title")).to_have_value("")


def test_use_my_location_places_the_pin_inside_the_city(page: Page, live_server, city):
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": IN_EAST.y, "longitude": IN_EAST.x, "accuracy": 12})
    page.goto("/")
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#locate-status")).to_have_text(
        "The pin is where you are (to within about 12 m), in East Side. Drag it to adjust."
    )
    assert float(page.get_by_label("Latitude").input_value()) == pytest.approx(IN_EAST.y, abs=1e-6)
    assert float(page.get_by_label("Longitude").input_value()) == pytest.approx(IN_EAST.x, abs=1e-6)
    expect(page.locator(NEW_PIN)).to_be_visible()
    expect(page.locator("#route-hint")).to_contain_text("East Team")
    assert page.evaluate("name => window[name].getZoom()", map_name(page)) >= 17


def test_use_my_location_outside_the_city_says_so_and_places_nothing(page: Page, live_server, city):
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": OUTSIDE_CITY.y, "longitude": OUTSIDE_CITY.x})
    page.goto("/")
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#locate-status")).to_contain_text("You seem to be outside the city")
    expect(page.get_by_label("Latitude")).to_have_value("")
    expect(page.locator(NEW_PIN)).to_have_count(0)


def test_use_my_location_denied_says_what_to_do_instead(page: Page, live_server, city):
    page.context.clear_permissions()
    page.goto("/")
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#locate-status")).to_have_text(
        "Your browser did not share your location. Allow it in the browser's site settings, "
        "or search for a place or tap the map instead."
    )
    expect(page.get_by_label("Latitude")).to_have_value("")


def test_a_refused_submission_keeps_the_draft(page: Page, live_server, city):
    page.goto("/")
    page.get_by_label("Description").fill("No title yet")
    page.mouse.click(*map_point(page, IN_EAST))
    expect(page.locator(NEW_PIN)).to_be_visible()
    page.get_by_role("button", name="Send").click()

    # The server sends the form back filled, with the error: it is not a restored draft.
    expect(page.locator(".has-error").get_by_label("Title")).to_be_focused()
    expect(page.locator("#draft-notice")).to_be_hidden()
    page.get_by_label("Title").fill("Now with a title")
    page.wait_for_function(
        "() => (localStorage.getItem('mapideas:pin-draft') || '').includes('Now with a title')"
    )
    page.goto("/")
    expect(page.get_by_label("Title")).to_have_value("Now with a title")
    expect(page.get_by_label("Description")).to_have_value("No title yet")
