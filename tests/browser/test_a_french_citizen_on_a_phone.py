"""The whole citizen flow, as a new user would try it: on a phone-sized Chromium whose language
is French, a citizen finds their street, sees a similar pin nearby and supports it instead,
then drops a new pin with a photo; every page is in French and axe-core finds nothing serious.

The expected words are read from the catalogs (Python's gettext for pages, the page's own
gettext() for the scripts), so the test follows the translators; `in_french` checks those
words really are French and not the English falling through."""

import re

import pytest
from django.contrib.gis.geos import Point
from django.utils import translation
from playwright.sync_api import Page, expect

from geodata.models import Place
from mapideas.models import Idea
from mapideas.moderation.services import idea_flag
from mapideas.submission.services import idea_create
from tests.browser.test_accessibility import PAGES, assert_none, axe_source, axe_violations
from tests.browser.test_drop_a_pin import map_name, map_point
from tests.browser.test_small_screen import HEIGHT, WIDTH, no_horizontal_scroll
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg

__all__ = ["axe_source"]  # the fixture, imported for this module's tests

NEW_PIN_SPOT = Point(4.018, 50.008, srid=4326)  # East Side, ~230 m from the bench


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """A small phone, touch first, whose browser asks for French (Accept-Language: fr-FR)."""
    return {
        **browser_context_args,
        "viewport": {"width": WIDTH, "height": HEIGHT},
        "has_touch": True,
        "is_mobile": True,
        "locale": "fr-FR",
    }


def fr(message: str, **values) -> str:
    """A page's string in French, as the server renders it."""
    with translation.override("fr"):
        text = translation.gettext(message)
    return text % values if values else text


def js(page: Page, message: str, **values) -> str:
    """A script's string in French, from the page's own catalog (/jsi18n/)."""
    return page.evaluate("([m, v]) => interpolate(gettext(m), v, true)", [message, values])


def in_french(english: str, french: str) -> str:
    assert french != english, f"not translated: {english!r}"
    return french


def near(point: Point, east_m: float) -> Point:
    return Point(point.x + east_m / 71_700, point.y, srid=4326)  # 1° of longitude at 50° N


def tap(page: Page, point: Point) -> None:
    """Tap the map at `point`, and check the new pin landed there (within ~10 m)."""
    page.locator(".map-pane .folium-map").scroll_into_view_if_needed()
    page.touchscreen.tap(*map_point(page, point))
    expect(page.locator(".leaflet-marker-icon[title]").last).to_be_visible()
    lat = float(page.locator("#id_latitude").input_value())
    lon = float(page.locator("#id_longitude").input_value())
    assert (lat, lon) == (pytest.approx(point.y, abs=1e-4), pytest.approx(point.x, abs=1.5e-4))


def check_page(page: Page, axe_source: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))


def test_a_french_citizen_finds_their_street_supports_a_similar_pin_then_sends_one_with_a_photo(
    page: Page, live_server, city, category, settings, tmp_path, axe_source
):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    city.east_team.name_translations = {"fr": "Équipe Est"}
    city.east_team.save()
    Place.objects.create(
        name="Rue du Marché",
        name_normalized="rue du marche",
        kind="street",
        point=IN_EAST,
        min_lon=IN_EAST.x - 0.001,
        min_lat=IN_EAST.y,
        max_lon=IN_EAST.x + 0.001,
        max_lat=IN_EAST.y,
        source="test",
    )
    bench = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Banc cassé près de l'étang",
        description="Les lattes de gauche ont disparu.",
        category=category,
        location=IN_EAST,
    )

    # 1. Finding the street.
    page.goto("/")
    check_page(page, axe_source)
    search = page.get_by_label(in_french(
        "Find a neighborhood, street or place", fr("Find a neighborhood, street or place")
    ))  # fmt: skip
    search.fill("rue du marche")
    expect(page.locator("#place-search-results button").first).to_contain_text("Rue du Marché")
    search.press("Enter")
    expect(page.locator("#place-search-status")).to_contain_text("Rue du Marché")
    page.wait_for_function(
        "([name, lon]) => Math.abs(window[name].getCenter().lng - lon) < 0.001",
        arg=[map_name(page), IN_EAST.x],
    )

    # 2. A similar pin nearby, supported instead. The street's results list is closed by
    # then (the map no longer moves under the finger).
    expect(page.locator("#place-search-results")).to_be_hidden()
    page.evaluate(
        "([name, lat, lon]) => window[name].setView([lat, lon], 17, { animate: false })",
        [map_name(page), IN_EAST.y, IN_EAST.x],
    )
    tap(page, near(IN_EAST, 30))
    page.get_by_label(fr("Title")).fill("le banc est cassé")
    suggestions = page.locator("#similar-pins")
    expect(suggestions.get_by_role("heading")).to_have_text(
        in_french("Similar pins nearby", fr("Similar pins nearby"))
    )
    item = suggestions.locator("li")
    expect(item.get_by_role("link")).to_have_text(bench.title)
    support = item.get_by_role(
        "button", name=in_french("Support this instead", js(page, "Support this instead"))
    )
    expect(support).to_have_accessible_description(bench.title)
    support.tap()
    expect(item.locator(".support-said")).to_contain_text(bench.title)
    assert Idea.objects.get(pk=bench.pk).support_count == 1
    check_page(page, axe_source)

    # 3. A new pin, with a photo, somewhere else.
    page.goto("/")
    page.evaluate(
        "([name, lat, lon]) => window[name].setView([lat, lon], 16, { animate: false })",
        [map_name(page), NEW_PIN_SPOT.y, NEW_PIN_SPOT.x],
    )
    tap(page, NEW_PIN_SPOT)
    expect(page.locator("#route-hint")).to_contain_text("Équipe Est")
    page.get_by_label(in_french("Idea", fr("Idea")), exact=True).tap()
    page.get_by_label(fr("Title")).fill("Des bancs à l'ombre")
    page.get_by_label(fr("Description")).fill("Il n'y a aucun banc à l'ombre l'été.")
    with translation.override("fr"):
        french_category = category.display_name
    page.get_by_label(fr("Category")).select_option(label=in_french(category.name, french_category))
    page.get_by_label(in_french("Photo (optional)", fr("Photo (optional)"))).set_input_files(
        {"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg((160, 120))}
    )
    no_horizontal_scroll(page)
    page.get_by_role("button", name=in_french("Send", fr("Send"))).tap()

    expect(page).to_have_url(re.compile(r"/ideas/\d+/$"))
    idea = Idea.objects.exclude(pk=bench.pk).get()
    assert idea.photo.width == 160 and idea.team == city.east_team
    expect(page.get_by_role("heading", level=1)).to_have_text("Des bancs à l'ombre")
    expect(page.locator("#idea-team")).to_have_text("Équipe Est")
    photo_name = fr("Photo sent with “%(title)s”", title=idea.title)
    expect(page.get_by_role("img", name=photo_name)).to_be_visible()
    check_page(page, axe_source)


def test_every_page_in_french_has_no_serious_axe_violation(
    page: Page, live_server, city, category, east_member, planner, make_user, log_in, axe_source
):
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Banc cassé près de l'étang",
        description="Les lattes de gauche ont disparu.",
        category=category,
        location=IN_EAST,
    )
    idea_flag(idea=idea, reason="spam", user=planner)
    people = {"member": east_member, "planner": planner, "outsider": make_user("olga")}
    for name, visit in PAGES.items():
        page.context.clear_cookies()
        if visit.who:
            log_in(people[visit.who])
        response = page.goto(visit.path.format(idea=idea.pk, team=city.east_team.slug))
        assert response.status == visit.status, name
        page.wait_for_load_state("networkidle")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        found = axe_violations(page, axe_source)
        assert not found, f"{name}: " + "\n".join(found)
