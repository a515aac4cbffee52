"""Every pin records the language its author used (Idea.language), by each door: the web
form, the API and Open311 the request's language; input entered by staff or imported, ""
(nobody said)."""

import json

import pytest
from django.test import Client

from geodata.imports.ideas import ideas_import_csv
from mapideas.models import Idea
from mapideas.open311.services import open311_client_create
from mapideas.workflow.services import offline_idea_create
from tests.conftest import IN_EAST
from tests.mapideas.open311.open311_support import form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("accept", "language"), [("fr", "fr"), ("nl-BE,nl;q=0.9", "nl"), ("en", "en"), ("de", "en")]
)
def test_the_web_form_records_the_request_language(city, category, accept, language):
    response = Client(HTTP_ACCEPT_LANGUAGE=accept).post(
        "/",
        {
            "kind": "issue",
            "title": "Broken bench",
            "category": "parks-green-space",
            "latitude": str(IN_EAST.y),
            "longitude": str(IN_EAST.x),
        },
    )

    assert response.status_code == 302
    assert Idea.objects.get().language == language


def test_the_language_chosen_on_the_site_wins_over_the_browsers(city, category):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.post("/i18n/setlang/", {"language": "nl", "next": "/"})

    client.post(
        "/",
        {
            "kind": "issue",
            "title": "Broken bench",
            "category": "parks-green-space",
            "latitude": str(IN_EAST.y),
            "longitude": str(IN_EAST.x),
        },
    )

    assert Idea.objects.get().language == "nl"


def test_the_api_records_the_request_language(city, category):
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").post(
        "/api/ideas/",
        json.dumps(
            {
                "kind": "issue",
                "title": "Broken swing",
                "category": "parks-green-space",
                "location": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
            }
        ),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert Idea.objects.get().language == "fr"


def test_open311_records_the_request_language(city, category):
    key = open311_client_create(name="App").key

    response = Client(HTTP_ACCEPT_LANGUAGE="nl").post(
        "/open311/v2/requests.json", form(key, service_code="parks-green-space")
    )

    assert response.status_code == 201, response.content
    assert Idea.objects.get().language == "nl"


def test_staff_entry_records_no_language(city, category, east_member):
    from django.utils import translation

    with translation.override("fr"):  # the staff member's language is not the resident's
        offline_idea_create(
            actor=east_member,
            kind="issue",
            title="Called about the swing",
            category=category,
            location=IN_EAST,
            channel="phone",
        )

    assert Idea.objects.get().language == ""


def test_an_import_records_no_language(city, tmp_path):
    path = tmp_path / "ideas.csv"
    path.write_text(f"lat,lon,title\n{IN_EAST.y},{IN_EAST.x},Bench\n")

    ideas_import_csv(path=path, lat_field="lat", lon_field="lon", title_field="title")

    assert Idea.objects.get().language == ""
