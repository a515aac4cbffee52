"""Internal notes, assignees and who answered stay inside: a planted note text and staff
name appear in no public page, API, export, OGC or Open311 response; the team's public
answer does."""

import io
import zipfile

import pytest
from django.test import Client

from mapideas.models import Idea
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_assign, idea_note_add, idea_status_change
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

NOTE = "zq-internal-note-7731"
STAFF = "zq-staffer-7731"
ANSWER = "Public answer 7731"


@pytest.fixture
def planted(city, category, make_user) -> Idea:
    staff = make_user(STAFF, teams=[city.east_team])
    idea = idea_create(
        kind="issue",
        title="Broken swing",
        # Open311 has no title: its answers carry the description.
        description="Broken swing: the chain snapped.",
        category=category,
        location=IN_EAST,
    )
    idea_note_add(idea=idea, text=NOTE, author=staff)
    idea_assign(idea=idea, assignee=staff, actor=staff)
    idea_status_change(idea=idea, status=Idea.Status.PLANNED, answer=ANSWER, actor=staff)
    return idea


def body_of(response) -> bytes:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/zip") or data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    return data


def public_urls(idea: Idea) -> list[str]:
    return [
        f"/ideas/{idea.pk}/",
        "/api/ideas/",
        *(f"/export/ideas.{ext}" for ext in ("geojson", "csv", "gpkg", "shp.zip", "fgb", "kml")),
        "/ogc/collections/ideas/items?f=json",
        f"/ogc/collections/ideas/items/{idea.pk}?f=json",
        "/ogc/collections/ideas/items?f=html",
        f"/ogc/collections/ideas/items/{idea.pk}?f=html",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        f"/open311/v2/requests/{idea.pk}.json",
        f"/open311/v2/requests/{idea.pk}.xml",
    ]


@pytest.mark.parametrize("index", range(16))
def test_no_public_door_carries_notes_or_staff_names(planted, index):
    urls = public_urls(planted)
    assert len(urls) == 16
    response = Client().get(urls[index])

    assert response.status_code == 200, (urls[index], response.status_code)
    body = body_of(response)
    assert NOTE.encode() not in body, urls[index]
    assert STAFF.encode() not in body, urls[index]
    assert b"Broken swing" in body, urls[index]


@pytest.mark.parametrize(
    "url", ["/api/ideas/", "/export/ideas.csv", "/ogc/collections/ideas/items?f=json"]
)
def test_the_public_answer_is_public(planted, url):
    assert ANSWER.encode() in body_of(Client().get(url))


def test_a_member_of_another_team_sees_no_notes_on_the_page(client, planted, west_member):
    client.force_login(west_member)

    body = client.get(f"/ideas/{planted.pk}/").content

    assert NOTE.encode() not in body
    assert STAFF.encode() not in body


def test_the_pin_team_and_planners_see_them(client, planted, east_member, planner):
    for person in (east_member, planner):
        client.force_login(person)
        body = client.get(f"/ideas/{planted.pk}/").content
        assert NOTE.encode() in body
        assert STAFF.encode() in body
