"""A photo sent with the form on `/`, shown on the pin's page and served by
/ideas/<id>/photo.jpg to whoever may see the pin (views.idea_photo)."""

from io import BytesIO

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from PIL import Image
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.models import Idea, IdeaPhoto
from mapideas.pins import photos
from mapideas.submission.services import idea_submit
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import CAMERA_MAKE, gps_jpeg, upload

pytestmark = pytest.mark.django_db

TITLE = 'Bench <script>alert("x")</script> & "more"'


def pin(**overrides) -> dict:
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "Slats missing.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
    }
    return {**data, **overrides}


def photo_url(idea: Idea) -> str:
    return f"/ideas/{idea.pk}/photo.jpg"


@pytest.fixture
def with_photo(city, category) -> Idea:
    return idea_submit(
        kind="issue",
        title=TITLE,
        category=category,
        location=IN_EAST,
        photo=upload(gps_jpeg((120, 90))),
    )


@pytest.fixture
def awaiting_with_photo(city, category) -> Idea:
    return idea_submit(
        kind="issue",
        title="Awaiting with a photo",
        category=category,
        location=IN_EAST,
        email="zq.someone@mail.example",
        photo=upload(gps_jpeg()),
    )


def test_the_form_offers_a_photo_field_with_its_limits(client, city, category):
    response = client.get("/")

    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, '<label for="id_photo">Photo (optional)</label>', html=True)
    assertContains(
        response,
        '<input type="file" name="photo" accept="image/*" id="id_photo" '
        'aria-describedby="id_photo_helptext">',
        html=True,
    )
    assertContains(response, "at most 10 MB and 80 megapixels")


def test_a_pin_sent_with_a_photo_shows_it_on_its_page(client, city, category):
    response = client.post("/", {**pin(title=TITLE), "photo": upload(gps_jpeg())})

    idea = Idea.objects.get()
    assert response.status_code == 302 and response["Location"] == idea.get_absolute_url()
    assert IdeaPhoto.objects.filter(idea=idea).exists()
    page = client.get(idea.get_absolute_url())
    assertContains(page, f'src="{photo_url(idea)}"')
    # The title in the alt text is escaped like everywhere else.
    assertContains(page, f'alt="Photo sent with “{escape(TITLE)}”"')
    assertNotContains(page, "<script>alert")
    assertNotContains(page, idea.photo.name)


def test_a_refused_photo_is_an_error_on_the_photo_field_and_nothing_is_written(
    client, city, category
):
    response = client.post("/", {**pin(), "photo": upload(b"%PDF-1.4 not a photo", "x.jpg")})

    assert response.status_code == 400
    assert response.context["form"].errors["photo"] == [photos.NOT_A_PHOTO_MESSAGE]
    assertContains(response, photos.NOT_A_PHOTO_MESSAGE, status_code=400)
    assert Idea.objects.count() == 0 and IdeaPhoto.objects.count() == 0


def test_a_photo_too_large_says_the_limit(client, city, category, settings):
    settings.MAPIDEAS_PHOTO_MAX_BYTES = 200

    response = client.post("/", {**pin(), "photo": upload(gps_jpeg())})

    assert response.status_code == 400
    assert response.context["form"].errors["photo"] == [photos.too_big_message()]
    assert Idea.objects.count() == 0


def test_a_pin_without_a_photo_still_goes_and_its_page_shows_none(client, city, category):
    response = client.post("/", pin())

    idea = Idea.objects.get()
    assert response.status_code == 302
    assertNotContains(client.get(idea.get_absolute_url()), 'id="idea-photo"')
    assert client.get(photo_url(idea)).status_code == 404


def test_the_photo_is_served_as_a_jpeg_without_metadata(with_photo):
    response = Client().get(photo_url(with_photo))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline"
    assert response["Cache-Control"].startswith("public, max-age=")
    body = b"".join(response.streaming_content)
    with Image.open(BytesIO(body)) as image:
        assert image.format == "JPEG" and image.size == (120, 90)
        assert len(image.getexif()) == 0
    assert CAMERA_MAKE.encode() not in body


def test_a_hidden_photo_is_not_served_nor_shown(with_photo):
    IdeaPhoto.objects.filter(idea=with_photo).update(hidden_at=timezone.now())

    assert Client().get(photo_url(with_photo)).status_code == 404
    assertNotContains(Client().get(with_photo.get_absolute_url()), 'id="idea-photo"')


def test_an_awaiting_pins_photo_is_404_for_the_public(awaiting_with_photo, west_member):
    assert Client().get(photo_url(awaiting_with_photo)).status_code == 404
    other_team = Client()
    other_team.force_login(west_member)
    assert other_team.get(photo_url(awaiting_with_photo)).status_code == 404


def test_an_awaiting_pins_photo_is_seen_by_its_team_and_kept_out_of_caches(
    awaiting_with_photo, east_member
):
    staff = Client()
    staff.force_login(east_member)

    response = staff.get(photo_url(awaiting_with_photo))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_only_get_and_head(with_photo):
    assert Client().head(photo_url(with_photo)).status_code == 200
    assert Client().post(photo_url(with_photo)).status_code == 405


def test_a_missing_file_is_a_404_not_a_500(with_photo):
    photos.photo_delete(with_photo.photo.name)

    assert Client().get(photo_url(with_photo)).status_code == 404


# --- Offline input entered by staff --------------------------------------------------------


def offline_entry(**overrides) -> dict:
    return {
        "kind": "issue",
        "title": "Letter about the bridge",
        "description": "",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
        "channel": "letter",
        "event_name": "",
        "gathered_on": "",
        "contact_name": "",
        "contact_email": "",
        "contact_phone": "",
    } | overrides


def test_staff_may_add_a_photo_to_offline_input(client, city, category, east_member):
    client.force_login(east_member)

    response = client.post(
        "/teams/east-team/offline/", {**offline_entry(), "photo": upload(gps_jpeg())}
    )

    idea = Idea.objects.get()
    assert response.status_code == 302
    assert IdeaPhoto.objects.filter(idea=idea).exists()
    assert Client().get(photo_url(idea)).status_code == 200


def test_a_refused_photo_refuses_the_offline_input(client, city, category, east_member):
    client.force_login(east_member)

    response = client.post(
        "/teams/east-team/offline/", {**offline_entry(), "photo": upload(b"nope", "a.png")}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["photo"] == [photos.NOT_A_PHOTO_MESSAGE]
    assert Idea.objects.count() == 0 and IdeaPhoto.objects.count() == 0
