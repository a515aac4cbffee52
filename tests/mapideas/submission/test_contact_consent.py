"""The citizen's consent, given when sending a pin, that their name and contact details go
with it to the city's own work-order system (Idea.contact_shared_with_city): asked on `/` of
someone whose pin carries a contact, taken by POST /api/ideas/, unticked unless given, kept
only with a contact, and never in any public output."""

import json
import uuid

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains
from rest_framework.test import APIClient

from mapideas.models import Idea
from mapideas.submission import services
from tests.conftest import IN_EAST
from tests.mapideas.submission.test_views_home import Tags

pytestmark = pytest.mark.django_db

ADDRESS = "zq-consent-8812@mail.example"
FIELD = "contact_shared_with_city"
LABEL = (
    "Share my name and email with the city's services handling this pin, so they can "
    "contact me directly"
)


def pin(**overrides) -> dict:
    """The form on `/`, for a pin in East Side."""
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "Slats missing.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
    }
    return {**data, **overrides}


def api_body(**overrides) -> dict:
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "category": "parks-green-space",
        "location": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
    }
    return {**data, **overrides}


def api_post(data: dict, client: APIClient | None = None, **headers):
    return (client or APIClient()).post("/api/ideas/", data, format="json", headers=headers)


def checkbox(page) -> dict[str, str | None]:
    (attrs,) = [a for tag, a in Tags(page.content.decode()).tags if a.get("name") == FIELD]
    return attrs


# --- The form on `/` -----------------------------------------------------------------------


def test_the_form_asks_with_an_unticked_labelled_checkbox_and_says_what_goes_where(
    client, city, category
):
    page = client.get("/")

    attrs = checkbox(page)
    assert attrs["type"] == "checkbox"
    assert "checked" not in attrs and "required" not in attrs
    # Its own label, and the hint tied to it for screen readers.
    assertContains(page, f'<label for="id_{FIELD}">{LABEL}</label>', html=True)
    assert attrs["aria-describedby"] == f"id_{FIELD}_helptext"
    assertContains(page, f'id="id_{FIELD}_helptext"')
    assertContains(page, "work-order system")
    assertContains(page, 'id="contact-consent"')


def test_someone_signed_in_is_asked_too(client, city, category, make_user):
    client.force_login(make_user("zq-citizen"))

    page = client.get("/")

    assert checkbox(page)["type"] == "checkbox"
    assertNotContains(page, 'name="email"')


def test_a_form_that_takes_no_contact_does_not_ask(client, city, category, settings):
    settings.MAPIDEAS_SUBMISSION_MODES = ("account", "anonymous")

    page = client.get("/")

    assertContains(page, 'id="idea-form"')
    assertNotContains(page, FIELD)


def test_the_consent_ticked_with_an_email_is_kept(client, city, category):
    response = client.post("/", pin(email=ADDRESS, name="Zq Name", **{FIELD: "on"}))

    assert response.status_code == 302
    idea = Idea.objects.get()
    assert idea.contact_email == ADDRESS and idea.contact_shared_with_city


def test_left_unticked_it_is_not_given(client, city, category):
    client.post("/", pin(email=ADDRESS))

    assert Idea.objects.get().contact_shared_with_city is False


def test_a_signed_in_authors_consent_is_kept(client, city, category, make_user):
    citizen = make_user("zq-citizen")
    client.force_login(citizen)

    client.post("/", pin(**{FIELD: "on"}))

    idea = Idea.objects.get()
    assert idea.author == citizen and idea.contact_shared_with_city


def test_ticked_without_an_email_there_is_nothing_to_share_and_it_is_not_kept(
    client, city, category
):
    response = client.post("/", pin(**{FIELD: "on"}))

    assert response.status_code == 302
    idea = Idea.objects.get()
    assert idea.contact_email == "" and idea.contact_shared_with_city is False


def test_a_form_sent_back_with_mistakes_keeps_the_citizens_choice(client, city, category):
    response = client.post("/", pin(title="", email=ADDRESS, **{FIELD: "on"}))

    assert response.status_code == 400
    assert "checked" in checkbox(response)


# --- POST /api/ideas/ ------------------------------------------------------------------------


def test_the_api_keeps_the_consent_sent_with_an_email(city, category):
    response = api_post(api_body(email=ADDRESS, name="Zq Name", **{FIELD: True}))

    assert response.status_code == 201, response.content
    assert Idea.objects.get().contact_shared_with_city is True
    assert FIELD not in response.content.decode()


def test_the_api_keeps_a_signed_in_authors_consent(city, category, make_user):
    client = APIClient()
    client.force_authenticate(make_user("zq-citizen"))

    assert api_post(api_body(**{FIELD: True}), client).status_code == 201

    assert Idea.objects.get().contact_shared_with_city is True


@pytest.mark.parametrize("body", [{}, {FIELD: False}])
def test_without_it_the_contact_is_not_shared(city, category, body):
    assert api_post(api_body(email=ADDRESS, **body)).status_code == 201

    assert Idea.objects.get().contact_shared_with_city is False


def test_the_api_keeps_no_consent_for_a_pin_without_a_contact(city, category):
    assert api_post(api_body(**{FIELD: True})).status_code == 201

    assert Idea.objects.get().contact_shared_with_city is False


def test_it_is_taken_from_a_multipart_body_too(city, category):
    body = {**api_body(email=ADDRESS), FIELD: "true"}
    body["location"] = json.dumps(body["location"])

    response = APIClient().post("/api/ideas/", body, format="multipart")

    assert response.status_code == 201, response.content
    assert Idea.objects.get().contact_shared_with_city is True


@pytest.mark.parametrize("value", ["maybe", None, [True], {"yes": True}, 2])
def test_a_value_that_is_no_boolean_is_a_400_naming_the_field(city, category, value):
    response = api_post(api_body(email=ADDRESS, **{FIELD: value}))

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [FIELD]
    assert errors[FIELD] and all(isinstance(m, str) and m for m in errors[FIELD])
    assert not Idea.objects.exists()


def test_the_schema_documents_the_field(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    field = schema["components"]["schemas"]["IdeaInputRequest"]["properties"][FIELD]
    assert field["type"] == "boolean" and field["default"] is False
    assert "work-order system" in field["description"]


# --- Retries ---------------------------------------------------------------------------------


def test_a_retry_with_the_same_consent_is_a_replay(city, category):
    key = str(uuid.uuid4())
    first = api_post(api_body(email=ADDRESS, **{FIELD: True}), **{"Idempotency-Key": key})
    again = api_post(api_body(email=ADDRESS, **{FIELD: True}), **{"Idempotency-Key": key})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert Idea.objects.count() == 1


@pytest.mark.parametrize(("first", "then"), [(True, False), (False, True)])
def test_a_retry_that_gives_or_withdraws_the_consent_is_other_content(city, category, first, then):
    key = str(uuid.uuid4())
    api_post(api_body(email=ADDRESS, **{FIELD: first}), **{"Idempotency-Key": key})

    response = api_post(api_body(email=ADDRESS, **{FIELD: then}), **{"Idempotency-Key": key})

    assert response.status_code == 422
    assert Idea.objects.get().contact_shared_with_city is first


def test_a_pin_without_consent_keeps_the_fingerprint_it_had_before_the_field(city, category):
    """A key sent before the consent existed is still answered as a replay after it."""
    before = {"kind": "issue", "title": "Bench", "category": category, "location": IN_EAST}

    assert (
        services.idempotency(key="k", scope="s", pin={**before, FIELD: False}).fingerprint
        == services.idempotency(key="k", scope="s", pin=before).fingerprint
        != services.idempotency(key="k", scope="s", pin={**before, FIELD: True}).fingerprint
    )


# --- Never public ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/ideas/",
        "/api/ideas/{pk}/",
        "/ideas/{pk}/",
        "/export/ideas.geojson",
        "/export/ideas.csv",
        "/open311/v2/requests.json",
        "/open311/v2/requests/{pk}.json",
        "/ogc/collections/ideas/items?f=json",
        "/api/ideas/viewport/?bbox=3.9,49.9,4.1,50.1&zoom=18",
    ],
)
def test_no_public_output_carries_it(city, category, make_user, url):
    citizen = make_user("zq-citizen")
    idea = services.idea_submit(
        kind="issue",
        title="Broken bench",
        description="Slats missing.",
        category=category,
        location=IN_EAST,
        author=citizen,
        contact_shared_with_city=True,
    )
    assert Idea.objects.get(pk=idea.pk).contact_shared_with_city

    response = Client().get(url.format(pk=idea.pk))

    assert response.status_code == 200
    text = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    assert "Slats missing." in text  # the pin is there
    assert "shared_with_city" not in text and "zq-citizen" not in text
