"""The admin checks a template's texts as the team's pages do; an answer photo's file goes
when its row does (a pin deleted in the admin, say)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django.asserts import assertContains

from mapideas.models import Idea, ResponseTemplate, TimelinePhoto
from mapideas.pins import photos
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-for-tests"))
    return client


def add(staff_client, city, texts):
    return staff_client.post(
        "/admin/mapideas/responsetemplate/add/",
        {"team": city.east_team.pk, "name": "Seen", "status": "", "texts": json.dumps(texts)},
    )


def test_the_admin_saves_a_good_template(staff_client, city):
    response = add(staff_client, city, {"en": "Seen: {title}.", "fr": ""})

    assert response.status_code == 302
    assert ResponseTemplate.objects.get().texts == {"en": "Seen: {title}."}


@pytest.mark.parametrize(
    ("texts", "words"),
    [
        ({"en": "Hello {name}."}, "texts_en: Unknown placeholder {name}"),
        ({"fr": "Merci."}, "texts_en: Write the text in the site"),
        ({"en": "ok", "nl": "{"}, "texts_nl: A brace is not paired"),
        (["not", "an", "object"], "Give an object of texts by language code"),
    ],
)
def test_the_admin_refuses_a_template_the_pages_would(staff_client, city, texts, words):
    response = add(staff_client, city, texts)

    assert response.status_code == 200
    assertContains(response, words)
    assert not ResponseTemplate.objects.exists()


def test_an_answer_photos_file_goes_with_its_row(
    city, category, east_member, django_capture_on_commit_callbacks
):
    idea = idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)
    idea_status_change(
        idea=idea,
        status="done",
        answer="Repaired.",
        photos={"after": upload(gps_jpeg())},
        actor=east_member,
    )
    name = TimelinePhoto.objects.get().name
    assert photos.photo_storage().exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        Idea.objects.filter(pk=idea.pk).delete()

    assert not TimelinePhoto.objects.exists()
    assert not photos.photo_storage().exists(name)


def test_staff_hide_an_answer_photo_from_the_admin(staff_client, city, category, east_member):
    public = Client()
    idea = idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)
    idea_status_change(
        idea=idea,
        status="done",
        answer="Repaired.",
        photos={"before": upload(gps_jpeg())},
        actor=east_member,
    )
    photo = TimelinePhoto.objects.get()
    url = f"/ideas/{idea.pk}/photos/{photo.pk}.jpg"
    assert public.get(url).status_code == 200

    response = staff_client.post(
        "/admin/mapideas/timelinephoto/",
        {"action": "hide", "_selected_action": [photo.pk]},
    )

    assert response.status_code == 302
    photo.refresh_from_db()
    assert photo.hidden_at is not None
    assert public.get(url).status_code == 404
    staff_client.post(
        "/admin/mapideas/timelinephoto/", {"action": "show", "_selected_action": [photo.pk]}
    )
    assert public.get(url).status_code == 200
