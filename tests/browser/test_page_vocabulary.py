"""The scripts' status words and category names come from the page's vocabulary (the JSON
script {% page_vocabulary %} writes, read by mapideas/vocabulary.js), in the page's language:
in French, the map's popup and the pin assistant's similar pins say a pin's status with the
French label of Idea.Status; and a word changed in the vocabulary the page was sent is the
word they show, so no script keeps a copy of its own."""

import json
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import Point
from django.utils import translation
from django.utils.html import json_script
from playwright.sync_api import Page, Route, expect

from mapideas.models import Idea
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.browser.test_drop_a_pin import OPEN_PIN_POPUPS, map_name, map_point
from tests.conftest import IN_EAST

VOCABULARY = re.compile(r'<script id="page-vocabulary" type="application/json">(.*?)</script>')
NEW_PIN = ".leaflet-marker-icon[title]"


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """A browser whose language is French (Accept-Language: fr-FR)."""
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def bench(city, category, east_member) -> Idea:
    """A pin under review: its status code has an underscore, which no word may show."""
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Banc cassé près de l'étang",
        description="Les lattes de gauche ont disparu.",
        category=category,
        location=IN_EAST,
    )
    idea_status_change(idea=idea, status=Idea.Status.UNDER_REVIEW, actor=east_member)
    return idea


def near(point: Point, east_m: float) -> Point:
    return Point(point.x + east_m / 71_700, point.y, srid=4326)  # 1° of longitude at 50° N


def similar_line(page: Page, status: str) -> re.Pattern:
    """The similar pin's line, as the page's own catalog words it, with `status` in it."""
    template = page.evaluate(
        "() => ngettext('%(metres)s m away, %(status)s, %(count)s supporter', "
        "'%(metres)s m away, %(status)s, %(count)s supporters', 0)"
    )
    pattern = re.escape(template)
    for name, value in (("metres", r"\d+"), ("status", re.escape(status)), ("count", "0")):
        pattern = pattern.replace(re.escape(f"%({name})s"), value)
    return re.compile(pattern)


def status_and_category_shown(page: Page, bench: Idea) -> tuple[str, str]:
    """The popup's and the assistant's texts, once both are on the page."""
    page.evaluate(
        "([name, lat, lon]) => window[name].setView([lat, lon], 17, { animate: false })",
        [map_name(page), IN_EAST.y, IN_EAST.x],
    )
    expect(page.locator("#pins-in-view a")).to_have_text([bench.title])
    page.evaluate(OPEN_PIN_POPUPS, map_name(page))
    popup = page.locator(".leaflet-popup-content")
    expect(popup.locator("strong")).to_have_text(bench.title)
    popup_text = popup.inner_text()

    page.mouse.click(*map_point(page, near(IN_EAST, 30)))
    expect(page.locator(NEW_PIN).last).to_be_visible()
    page.locator("#id_title").fill("le banc est cassé")
    item = page.locator("#similar-pins li")
    expect(item).to_have_count(1)
    expect(item.get_by_role("link")).to_have_text(bench.title)
    return popup_text, item.inner_text()


def test_in_french_the_popup_and_the_assistant_say_the_status_label(
    page: Page, live_server, bench, category
):
    with translation.override("fr"):
        label = str(Idea.Status.UNDER_REVIEW.label)
        category_name = category.display_name
    assert label != "Under review" and category_name != category.name, "not in French"

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    sent = json.loads(page.locator("#page-vocabulary").text_content())
    assert sent["statuses"]["under_review"] == label
    assert sent["categories"][category.slug] == category_name

    popup, similar = status_and_category_shown(page, bench)

    # Inside a sentence, the label in lower case ("en cours d'examen"), as the server's pages
    # say it too (mapideas.workflow.statuses.label).
    word = label.lower()
    status_line = page.evaluate(
        "s => interpolate(gettext('Status: %(status)s'), { status: s }, true)", word
    )
    assert status_line != f"Status: {word}", "the popup's sentence is not in French"
    assert status_line in popup
    assert category_name in popup
    assert similar_line(page, word).search(similar), similar


def test_the_scripts_show_the_words_of_the_vocabulary_the_page_was_sent(
    page: Page, live_server, bench, category
):
    """Changed on its way to the browser: "under_review" gets another label, the category
    another name, and "new" none at all (a code the vocabulary lacks is shown as it is)."""

    def changed(route: Route) -> None:
        response = route.fetch()
        html = response.text()
        words = json.loads(VOCABULARY.search(html)[1])
        words["statuses"]["under_review"] = "Sous la Loupe"
        del words["statuses"]["new"]
        words["categories"][category.slug] = "Bancs & <jardins>"
        html = VOCABULARY.sub(lambda _m: json_script(words, "page-vocabulary"), html, count=1)
        route.fulfill(response=response, body=html)

    page.route(lambda url: urlsplit(url).path == "/", changed)
    page.goto("/")

    popup, similar = status_and_category_shown(page, bench)

    assert "sous la loupe" in popup and "Bancs & <jardins>" in popup
    assert similar_line(page, "sous la loupe").search(similar), similar
    code = page.evaluate("() => MapIdeas.vocabulary.status('new')")
    assert code == "new"
