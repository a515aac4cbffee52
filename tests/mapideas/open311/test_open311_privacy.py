"""The reporter's email, name and phone sent through Open311 are kept for staff and appear in
no response: not the Open311 API (JSON or XML), not /api/ideas/, not the exports, not the
pin's page."""

import pytest
from django.test import Client

from mapideas.models import Idea
from mapideas.open311.services import open311_client_create
from tests.mapideas.open311.open311_support import form, get, post

pytestmark = pytest.mark.django_db

SECRETS = {
    "email": "zq.reporter.4471@mail.example",
    "first_name": "Zqfirst",
    "last_name": "Zqlast",
    "phone": "+1 555 0199 4471",
}


@pytest.fixture
def reported(city) -> Idea:
    issued = open311_client_create(name="Zq Secret Client 4471")
    response = post(form(issued.key, **SECRETS))
    assert response.status_code == 201, response.content
    idea = Idea.objects.get()
    assert idea.contact_email == SECRETS["email"]  # kept, for staff
    return idea


def assert_private(body: bytes) -> None:
    text = body.decode("utf-8-sig")
    for secret in [*SECRETS.values(), "Zq Secret Client"]:
        assert secret not in text, f"{secret!r} leaked"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_open311_answers_never_carry_them(reported, fmt):
    responses = [
        post(form(open311_client_create(name="Other").key), fmt),
        get("requests", fmt),
        get(f"requests/{reported.pk}", fmt),
        get("requests", fmt, service_request_id=str(reported.pk)),
    ]
    for response in responses:
        assert response.status_code in (200, 201)
        assert_private(response.content)


@pytest.mark.parametrize(
    "url",
    ["/api/ideas/", "/export/ideas.geojson", "/export/ideas.csv", "/api/schema/?format=json"],
)
def test_the_api_and_the_exports_never_carry_them(reported, url):
    response = Client().get(url)

    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"Deep pothole" in body or url.startswith("/api/schema")
    assert_private(body)


def test_the_pin_page_never_carries_them(reported):
    response = Client().get(reported.get_absolute_url())

    assert response.status_code == 200
    assert_private(response.content)
