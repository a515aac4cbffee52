"""POST requests.{json,xml}: a service request is pinned and routed like any pin, with a key
staff issued; every refusal is a spec error naming the field, and writes nothing."""

import json

import pytest
from django.test import Client

from mapideas.models import TITLE_MAX_LENGTH, Idea
from mapideas.open311.services import (
    open311_client_create,
    open311_client_revoke,
    title_from_description,
)
from mapideas.submission.services import OUTSIDE_MESSAGE
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND, OUTSIDE_CITY
from tests.mapideas.open311.open311_support import ROOT, errors, form, post, xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(db):
    return open311_client_create(name="Pothole App")


def assert_refused(response, status: int, field: str) -> str:
    [description] = errors(response, status)
    assert description.startswith(f"{field}: "), description
    assert Idea.objects.count() == 0
    return description


# --- Pinned and routed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "team"),
    [
        (IN_EAST, "East Team"),
        (IN_WEST, "West Team"),
        (IN_ENCLAVE, "West Team"),
        (ON_ISLAND, "Harbor Team"),
    ],
)
def test_a_request_is_pinned_and_routed_to_the_team_of_its_place(city, issued, point, team):
    response = post(form(issued.key, point))

    assert response.status_code == 201, response.content
    [created] = response.json()
    idea = Idea.objects.get(pk=created["service_request_id"])
    assert idea.team.name == team
    assert created["service_notice"].startswith(f"Sent to {team}")
    assert created["account_id"] is None
    # Routed by the one route(), with its history, as every pin is.
    assert idea.routing_events.get().to_team == idea.team


def test_it_is_an_issue_through_the_api_channel_titled_by_its_description(city, issued):
    post(form(issued.key, service_code="lighting-safety", media_url="https://img.example/1.jpg"))

    idea = Idea.objects.get()
    assert idea.kind == Idea.Kind.ISSUE
    assert idea.channel == Idea.Channel.API
    assert idea.category.slug == "lighting-safety"
    assert idea.title == "Deep pothole"
    assert idea.description == "Deep pothole\nin front of the bakery, since Monday."
    assert idea.media_url == "https://img.example/1.jpg"
    assert idea.open311_client == issued.client
    assert idea.author is None


def test_the_reporter_contact_is_kept_for_staff(city, issued):
    post(
        form(
            issued.key,
            email="ann@mail.example",
            first_name="Ann",
            last_name="Lee",
            phone="+1 555 0100",
        )
    )

    idea = Idea.objects.get()
    assert (idea.contact_email, idea.contact_name, idea.contact_phone) == (
        "ann@mail.example",
        "Ann Lee",
        "+1 555 0100",
    )


def test_it_answers_in_the_spec_xml_shape(city, issued):
    response = post(form(issued.key), "xml")

    assert response.status_code == 201
    root = xml(response)
    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request"
    assert int(request.findtext("service_request_id")) == Idea.objects.get().pk
    assert request.findtext("service_notice") == "Sent to East Team for East Side."


def test_a_json_body_is_accepted_too(city, issued):
    response = Client().post(
        f"{ROOT}/requests.json", json.dumps(form(issued.key)), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    assert Idea.objects.get().team == city.east_team


def test_an_empty_optional_field_is_as_if_not_sent(city, issued):
    response = post(form(issued.key, email="", media_url="", jurisdiction_id="", phone=""))

    assert response.status_code == 201, response.content


def test_a_request_without_description_is_titled_by_its_service(city, issued):
    post(form(issued.key, description=""))

    assert Idea.objects.get().title == "Streets and sidewalks"


# --- Titles ---------------------------------------------------------------------------------


def test_a_title_is_the_first_non_empty_line_with_whitespace_collapsed():
    assert title_from_description("\n\n  Broken   bench \t here\nmore", fallback="x") == (
        "Broken bench here"
    )


def test_a_long_first_line_is_cut_at_a_word_to_fit_the_title():
    title = title_from_description("word " * 100, fallback="x")

    assert len(title) <= TITLE_MAX_LENGTH
    assert title.endswith("word…")


def test_one_very_long_word_is_cut_where_it_must():
    title = title_from_description("x" * 500, fallback="y")

    assert title == "x" * (TITLE_MAX_LENGTH - 1) + "…"


# --- The key --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_key_is_a_403(city, fmt):
    description = assert_refused(post(form(None), fmt), 403, "api_key")

    assert "missing" in description


@pytest.mark.parametrize("key", ["0" * 48, "not-a-key", " "])
def test_an_unknown_key_is_a_403(city, issued, key):
    assert_refused(post(form(key)), 403, "api_key")


def test_a_revoked_key_is_a_403_saying_so(city, issued):
    open311_client_revoke(client=issued.client)

    description = assert_refused(post(form(issued.key), "xml"), 403, "api_key")

    assert "revoked" in description


def test_the_key_is_checked_before_the_fields(city):
    # Nothing about the input is told to a caller without a key.
    assert_refused(post({"service_code": "nope", "lat": "x"}), 403, "api_key")


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_place_outside_the_city_is_refused_as_the_api_refuses_it(city, issued, fmt):
    description = assert_refused(post(form(issued.key, OUTSIDE_CITY), fmt), 400, "lat, long")

    assert description == f"lat, long: {OUTSIDE_MESSAGE}"


def test_an_unknown_service_code_is_a_404_naming_it_as_the_spec_says(city, issued):
    # GeoReport v2, POST Service Request, "Possible Errors": 404 - service_code not found.
    assert_refused(post(form(issued.key, service_code="no-such")), 404, "service_code")


def test_a_missing_service_code_is_a_400(city, issued):
    data = form(issued.key)
    del data["service_code"]

    assert_refused(post(data), 400, "service_code")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lat": "north"}, "lat"),
        ({"lat": "95"}, "lat"),
        ({"lat": "nan"}, "lat"),
        ({"long": "-inf"}, "long"),
        ({"long": "200"}, "long"),
        ({"long": None}, "long"),
        ({"lat": None}, "lat"),
        ({"email": "not-an-email"}, "email"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"media_url": "ftp://files.example/x.jpg"}, "media_url"),
        ({"media_url": "data:text/html,<b>x</b>"}, "media_url"),
        ({"description": "x" * 5001}, "description"),
        ({"phone": "1" * 51}, "phone"),
        ({"service_code": "a\x00b"}, "service_code"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(city, issued, fields, field):
    assert_refused(post(form(issued.key, **fields)), 400, field)


def test_an_address_without_lat_and_long_is_refused_honestly(city, issued):
    data = form(issued.key, lat=None, long=None, address_string="1234 5th street")

    description = assert_refused(post(data), 400, "lat")

    assert "lat and long are required" in description
    assert "no geocoder" in description


def test_no_place_at_all_is_a_400_naming_lat(city, issued):
    assert_refused(post(form(issued.key, lat=None, long=None)), 400, "lat")


def test_several_problems_are_listed_together(city, issued):
    response = post(form(issued.key, email="nope", media_url="javascript:x"))

    assert sorted(d.split(":")[0] for d in errors(response, 400)) == ["email", "media_url"]


def test_another_jurisdiction_is_a_404(city, issued, settings):
    settings.MAPIDEAS_OPEN311_JURISDICTION = "city.example"

    assert_refused(post(form(issued.key, jurisdiction_id="other.example")), 404, "jurisdiction_id")


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('["a list"]', "application/json", 400),
        ('{"api_key": "\\ud800"}', "application/json", 403),
        ("<xml/>", "text/xml", 415),
    ],
)
def test_an_unreadable_body_is_a_spec_error_not_a_crash(city, body, content_type, status):
    response = Client().post(f"{ROOT}/requests.xml", body, content_type=content_type)

    errors(response, status)
    assert Idea.objects.count() == 0


def test_text_no_database_can_store_is_a_400(city, issued):
    data = {**form(issued.key), "description": "bad \ud800 text"}

    response = Client().post(
        f"{ROOT}/requests.json", json.dumps(data), content_type="application/json"
    )

    assert_refused(response, 400, "description")
