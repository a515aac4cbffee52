"""`/`: the citizen map and the form that drops a pin, through Django's test client."""

import re
from html.parser import HTMLParser

import pytest
from django.utils.html import escape
from pytest_django.asserts import assertContains, assertRedirects

from mapideas.models import Idea
from mapideas.submission.services import OUTSIDE_MESSAGE
from tests.conftest import IN_EAST, IN_ENCLAVE, OUTSIDE_CITY

pytestmark = pytest.mark.django_db

TILES = "https://tiles.example.org/{z}/{x}/{y}.png"
ATTRIBUTION_LINK = "https://tiles.example.org/copyright"


class Tags(HTMLParser):
    """Every start tag's attributes, in order (script and style bodies are not markup)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def values(self, *names: str) -> list[str]:
        return [attrs[n] for _, attrs in self.tags for n in names if attrs.get(n) is not None]


def pin(point=IN_EAST, **overrides) -> dict:
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "Slats missing.",
        "category": "parks-green-space",
        "latitude": str(point.y),
        "longitude": str(point.x),
    }
    return {**data, **overrides}


def test_it_shows_the_form_with_a_label_for_every_field_and_the_map(client, city, category):
    response = client.get("/")

    assert response.status_code == 200
    for field_id, label in [
        ("id_title", "Title"),
        ("id_description", "Description"),
        ("id_category", "Category"),
        ("id_latitude", "Latitude"),
        ("id_longitude", "Longitude"),
    ]:
        assertContains(response, f'<label for="{field_id}">{label}</label>', html=True)
    assertContains(response, "<legend>Kind</legend>", html=True)
    assertContains(response, '<option value="parks-green-space">Parks and green space</option>')
    name = response.context["map"].name
    assertContains(response, f'<div class="folium-map" id="{name}"')
    assertContains(response, f'data-map="{name}"')
    assertContains(response, f"var {name} = L.map(")
    # The neighborhoods are drawn, and the pins in view come from the API.
    assertContains(response, "East Side")
    assertContains(response, 'data-api="/api/ideas/"')


def test_it_points_every_aria_describedby_at_an_element_of_the_page(client, city, category):
    response = client.post("/", pin(latitude="north", title=""))

    tags = Tags(response.content.decode())
    ids = set(tags.values("id"))
    described_by = {ref for value in tags.values("aria-describedby") for ref in value.split()}
    assert {"id_title_error", "id_latitude_error", "id_latitude_helptext"} <= described_by
    assert described_by <= ids


def test_it_creates_a_routed_pin_and_redirects_to_its_page(client, city, category):
    response = client.post("/", pin())

    idea = Idea.objects.get()
    assertRedirects(response, f"/ideas/{idea.pk}/", fetch_redirect_response=False)
    assert (idea.team, idea.neighborhood) == (city.east_team, city.east)
    assert idea.channel == Idea.Channel.WEB
    assert (idea.kind, idea.title, idea.description) == ("issue", "Broken bench", "Slats missing.")
    assert idea.category == category
    assert idea.author is None
    assert (idea.location.x, idea.location.y) == (IN_EAST.x, IN_EAST.y)
    assertContains(client.get(response.url), "Your issue was sent to East Team (East Side).")


def test_it_routes_a_pin_in_an_enclave_to_the_team_of_the_enclave(client, city, category):
    client.post("/", pin(IN_ENCLAVE))

    assert Idea.objects.get().neighborhood == city.enclave


def test_it_records_the_signed_in_author_without_showing_them(client, west_member, category):
    client.force_login(west_member)
    response = client.post("/", pin(), follow=True)

    assert Idea.objects.get().author == west_member
    # The header says who is logged in; the pin's public page never does.
    page = response.content.decode().split('<main id="main">')[1]
    assert west_member.username not in page


def test_it_refuses_a_point_outside_every_neighborhood_and_writes_nothing(client, city, category):
    response = client.post("/", pin(OUTSIDE_CITY))

    assert response.status_code == 400
    assertContains(response, escape(OUTSIDE_MESSAGE), status_code=400)
    assert response.context["form"].errors == {"latitude": [OUTSIDE_MESSAGE]}
    # What the person typed is kept, so they only move the pin.
    assertContains(response, 'value="Broken bench"', status_code=400)
    assertContains(response, f'value="{OUTSIDE_CITY.y}"', status_code=400)
    assert not Idea.objects.exists()


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"latitude": "north"}, "latitude", "Enter a number."),
        ({"latitude": "nan"}, "latitude", "Enter a number."),
        ({"longitude": ""}, "longitude", "This field is required."),
        ({"latitude": "91"}, "latitude", "Ensure this value is less than or equal to 90."),
        ({"longitude": "-181"}, "longitude", "Ensure this value is greater than or equal to -180."),
        ({"title": ""}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "Ensure this value has at most 200 characters"),
        ({"category": "no-such-category"}, "category", "Select a valid choice."),
        ({"kind": "complaint"}, "kind", "Select a valid choice."),
    ],
)
def test_it_refuses_bad_input_and_names_the_field(
    client, city, category, overrides, field, message
):
    response = client.post("/", pin(**overrides))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assertContains(response, message, status_code=400)
    if field != "kind":
        assertContains(response, f'aria-describedby="id_{field}', status_code=400)
        assertContains(response, f'<div id="id_{field}_error">', status_code=400)
    assert not Idea.objects.exists()


def test_it_loads_nothing_from_another_host_when_there_is_no_base_map(
    client, city, category, settings
):
    settings.MAPIDEAS_TILE_URL = ""

    html = client.get("/").content.decode()

    assert "L.tileLayer" not in html
    assert re.findall(r"https?://", html) == []


def test_it_loads_only_the_configured_tiles_from_another_host(client, city, category, settings):
    settings.MAPIDEAS_TILE_URL = TILES
    settings.MAPIDEAS_TILE_ATTRIBUTION = f'&copy; <a href="{ATTRIBUTION_LINK}">Example</a>'

    html = client.get("/").content.decode()

    assert html.count("L.tileLayer(") == 1
    assert html.count(f'"{TILES}"') == 1
    # Scripts and styles are same-origin; the only absolute URLs are the tiles and the
    # attribution link Leaflet shows in the corner.
    tags = Tags(html)
    assert [url for url in tags.values("src", "href") if re.match(r"(https?:)?//", url)] == []
    assert set(re.findall(r"https?://[^\s\"'\\]+", html)) == {TILES, ATTRIBUTION_LINK}


def test_it_says_when_no_neighborhoods_are_loaded(client, db):
    response = client.get("/")

    assertContains(response, "No neighborhoods are loaded yet")
    assertContains(response, f"var {response.context['map'].name} = L.map(")


def test_it_reports_a_place_outside_the_city_together_with_other_mistakes(client, city, category):
    response = client.post("/", pin(OUTSIDE_CITY, title=""))

    assert response.context["form"].errors == {
        "title": ["This field is required."],
        "latitude": [OUTSIDE_MESSAGE],
    }
    assert not Idea.objects.exists()
