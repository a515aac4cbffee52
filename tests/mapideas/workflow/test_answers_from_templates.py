"""Answers from the team's templates and answers with photos: the status form and
idea_status_change use a chosen template (rendered in the pin's language), attach a
status's template automatically, in bulk too (each pin in its own language), and keep
before/after photos with the answer, all or nothing."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.answers.services import template_save
from mapideas.models import (
    Category,
    EmailOutbox,
    Follower,
    Idea,
    IdeaUpdate,
    ResponseTemplate,
    TimelinePhoto,
)
from mapideas.pins import photos
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change, ideas_bulk_update
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import CAMERA_MAKE, gps_jpeg, upload

pytestmark = pytest.mark.django_db


def pin(category, language="en", title="Swing"):
    return idea_create(
        kind="issue", title=title, category=category, location=IN_EAST, language=language
    )


@pytest.fixture
def french_pin(city, category):
    return pin(category, "fr")


@pytest.fixture
def acknowledged(city, east_member, category):
    """The team's automatic answer for "acknowledged", for any category."""
    return template_save(
        team=city.east_team,
        actor=east_member,
        name="Seen",
        texts={
            "en": "Thank you: {team} has pin #{pin_number} and answers within {target_days} days.",
            "fr": "Merci : {team} a le signalement n°{pin_number} ({status}).",
        },
        status="acknowledged",
    )


def stored_files() -> set[Path]:
    return {p for p in Path(settings.MAPIDEAS_PHOTO_ROOT).rglob("*") if p.is_file()}


# --- Choosing a template ---------------------------------------------------------------------


def test_a_chosen_template_is_the_answer_in_the_pins_language(
    city, east_member, french_pin, acknowledged
):
    update = idea_status_change(
        idea=french_pin, status="planned", template=acknowledged, actor=east_member
    )

    assert update.answer == f"Merci : East Team a le signalement n°{french_pin.pk} (Prévu)."
    french_pin.refresh_from_db()
    assert french_pin.answer == update.answer


def test_a_written_answer_wins_over_the_template(city, east_member, french_pin, acknowledged):
    update = idea_status_change(
        idea=french_pin,
        status="planned",
        answer="Our own words.",
        template=acknowledged,
        actor=east_member,
    )

    assert update.answer == "Our own words."


def test_another_teams_or_categorys_template_is_refused_naming_template(
    city, east_member, west_member, french_pin
):
    west = template_save(team=city.west_team, actor=west_member, name="West", texts={"en": "West."})
    roads = template_save(
        team=city.east_team,
        actor=east_member,
        name="Roads",
        texts={"en": "Roads."},
        category=Category.objects.create(slug="roads", name="Roads"),
    )
    for template in (west, roads):
        with pytest.raises(ValidationError) as exc:
            idea_status_change(
                idea=french_pin, status="planned", template=template, actor=east_member
            )
        assert "template" in exc.value.message_dict
    assert not IdeaUpdate.objects.exists()


def test_the_pin_page_offers_the_templates_that_fit_filled_in_for_the_pin(
    client, city, east_member, french_pin, acknowledged
):
    client.force_login(east_member)

    response = client.get(f"/ideas/{french_pin.pk}/")

    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, 'name="template"')
    assertContains(
        response, f'data-answer="Merci : East Team a le signalement n°{french_pin.pk} (Nouveau)."'
    )
    assertContains(response, "/static/mapideas/answer-templates.js")


def test_the_status_form_without_script_sends_the_template(
    client, city, east_member, french_pin, acknowledged
):
    client.force_login(east_member)

    response = client.post(
        f"/ideas/{french_pin.pk}/status/",
        {"status": "planned", "answer": "", "template": str(acknowledged.pk)},
    )

    assert response.status_code == 302
    french_pin.refresh_from_db()
    assert french_pin.answer.startswith("Merci : East Team")


def test_the_status_form_refuses_a_template_it_does_not_offer(
    client, city, east_member, west_member, french_pin
):
    west = template_save(team=city.west_team, actor=west_member, name="West", texts={"en": "West."})
    client.force_login(east_member)

    response = client.post(
        f"/ideas/{french_pin.pk}/status/", {"status": "planned", "template": str(west.pk)}
    )

    assert response.status_code == 400
    assertContains(response, 'id="status_template_error"', status_code=400)
    assert not IdeaUpdate.objects.exists()


# --- Automatic answers -----------------------------------------------------------------------


def test_a_status_set_without_an_answer_gets_its_template(
    city, east_member, french_pin, acknowledged
):
    update = idea_status_change(idea=french_pin, status="acknowledged", actor=east_member)

    assert (
        update.answer == f"Merci : East Team a le signalement n°{french_pin.pk} (Pris en compte)."
    )


def test_a_categorys_template_comes_before_one_for_any(
    city, east_member, category, french_pin, acknowledged
):
    template_save(
        team=city.east_team,
        actor=east_member,
        name="Parks seen",
        category=category,
        texts={"en": "The parks crew has it."},
        status="acknowledged",
    )

    update = idea_status_change(idea=french_pin, status="acknowledged", actor=east_member)

    # No French text: the site's language.
    assert update.answer == "The parks crew has it."


def test_a_status_without_a_template_and_an_answer_alone_stay_as_they_were(
    city, east_member, french_pin, acknowledged
):
    idea_status_change(idea=french_pin, status="acknowledged", actor=east_member)
    # The same status again needs an answer: no template answers for the team.
    with pytest.raises(ValidationError):
        idea_status_change(idea=french_pin, status="acknowledged", actor=east_member)

    update = idea_status_change(idea=french_pin, status="planned", actor=east_member)
    assert update.answer == ""


def test_a_done_template_answers_what_done_requires(city, east_member, french_pin):
    template_save(
        team=city.east_team,
        actor=east_member,
        name="Fixed",
        texts={"en": "Fixed: {title}."},
        status="done",
    )

    update = idea_status_change(idea=french_pin, status="done", actor=east_member)

    assert update.answer == "Fixed: Swing."


def test_a_bulk_change_renders_the_automatic_answer_per_pin_in_its_language(
    city, east_member, category, acknowledged
):
    french, english, unknown = pin(category, "fr"), pin(category, "en"), pin(category, "")

    ideas_bulk_update(ideas=[french, english, unknown], status="acknowledged", actor=east_member)

    answers = {i.pk: i.answer for i in Idea.objects.all()}
    assert answers[french.pk].startswith(f"Merci : East Team a le signalement n°{french.pk}")
    assert answers[english.pk] == (
        f"Thank you: East Team has pin #{english.pk} and answers within 5 days."
    )
    assert answers[unknown.pk].startswith(f"Thank you: East Team has pin #{unknown.pk}")


def test_a_bulk_change_with_a_template_that_misfits_a_pin_refuses_the_lot(
    city, east_member, category, acknowledged
):
    roads = Category.objects.create(slug="roads", name="Roads")
    parks_only = template_save(
        team=city.east_team,
        actor=east_member,
        name="Parks",
        category=category,
        texts={"en": "Parks."},
    )
    park, road = (
        pin(category),
        idea_create(kind="issue", title="Hole", category=roads, location=IN_EAST),
    )

    with pytest.raises(ValidationError) as exc:
        ideas_bulk_update(
            ideas=[park, road], status="planned", template=parks_only, actor=east_member
        )

    assert f"#{road.pk}" in " ".join(exc.value.message_dict["template"])
    assert not IdeaUpdate.objects.exists()


def test_the_bulk_form_sends_a_template(client, city, east_member, category, acknowledged):
    first, second = pin(category, "fr"), pin(category, "nl")
    client.force_login(east_member)

    response = client.post(
        "/teams/east-team/bulk/",
        {
            "ideas": [first.pk, second.pk],
            "action": "status",
            "status": "planned",
            "template": str(acknowledged.pk),
        },
    )

    assert response.status_code == 302
    assert Idea.objects.get(pk=first.pk).answer.startswith("Merci")
    # No Dutch text: the site's, with the values in Dutch.
    assert Idea.objects.get(pk=second.pk).answer == (
        f"Thank you: East Team has pin #{second.pk} and answers within 5 days."
    )


# --- The followers' email, in the pin's language ------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [("fr", "Voir l'épingle"), ("nl", "Bekijk"), ("en", "See the pin"), ("", "See the pin")],
)
def test_followers_are_emailed_in_the_pins_language(city, east_member, category, language, words):
    idea = pin(category, language)
    Follower.objects.create(idea=idea, email="f@mail.example", confirmed_at=timezone.now())

    idea_status_change(idea=idea, status="planned", actor=east_member)

    body = EmailOutbox.objects.get(to="f@mail.example").body
    assert words in body, body


# --- Photos with the answer -----------------------------------------------------------------


def test_before_and_after_photos_are_kept_stripped_with_the_answer(city, east_member, french_pin):
    update = idea_status_change(
        idea=french_pin,
        status="done",
        answer="Repaired.",
        photos={"before": upload(gps_jpeg((80, 60))), "after": upload(gps_jpeg((60, 80)))},
        actor=east_member,
    )

    kept = {p.role: p for p in TimelinePhoto.objects.filter(update=update)}
    assert set(kept) == {"before", "after"}
    assert (kept["before"].width, kept["before"].height) == (80, 60)
    for photo in kept.values():
        data = photos.photo_storage().open(photo.name).read()
        assert CAMERA_MAKE.encode() not in data
        assert photo.idea_id == french_pin.pk


def test_the_followers_email_links_to_the_answers_photos(city, east_member, category):
    idea = pin(category)
    Follower.objects.create(idea=idea, email="f@mail.example", confirmed_at=timezone.now())

    update = idea_status_change(
        idea=idea,
        status="done",
        answer="Repaired.",
        photos={"before": upload(gps_jpeg((80, 60))), "after": upload(gps_jpeg((60, 80)))},
        actor=east_member,
    )

    body = EmailOutbox.objects.get(to="f@mail.example").body
    for photo in TimelinePhoto.objects.filter(update=update):
        url = f"{settings.MAPIDEAS_SITE_URL.rstrip('/')}/ideas/{idea.pk}/photos/{photo.pk}.jpg"
        assert url in body, body
    assert body.index("Photo before") < body.index("Photo after")


@pytest.mark.parametrize("role", ["before", "after"])
def test_a_refused_photo_refuses_the_answer_naming_its_field(
    city, east_member, french_pin, role, settings
):
    files_before = stored_files()
    good = upload(gps_jpeg())
    bad = upload(b"not a photo at all", name="x.jpg")
    given = {"before": good, "after": bad} if role == "after" else {"before": bad, "after": good}

    with pytest.raises(ValidationError) as exc:
        idea_status_change(
            idea=french_pin, status="done", answer="Repaired.", photos=given, actor=east_member
        )

    assert set(exc.value.message_dict) == {f"photo_{role}"}
    assert not IdeaUpdate.objects.exists()
    assert not TimelinePhoto.objects.exists()
    assert stored_files() == files_before


def test_a_photo_over_the_size_limit_is_refused_naming_its_field(
    city, east_member, french_pin, settings
):
    settings.MAPIDEAS_PHOTO_MAX_BYTES = 100

    with pytest.raises(ValidationError) as exc:
        idea_status_change(
            idea=french_pin,
            status="done",
            answer="Repaired.",
            photos={"after": upload(gps_jpeg())},
            actor=east_member,
        )

    assert "too large" in " ".join(exc.value.message_dict["photo_after"])
    assert not TimelinePhoto.objects.exists()


def test_a_refused_change_keeps_no_photo_file(city, east_member, french_pin):
    files_before = stored_files()
    with pytest.raises(ValidationError):
        # Done needs an answer, and no template gives one.
        idea_status_change(
            idea=french_pin, status="done", photos={"after": upload(gps_jpeg())}, actor=east_member
        )

    assert not TimelinePhoto.objects.exists()
    assert stored_files() == files_before


def test_the_status_form_takes_photos_and_the_page_shows_them(
    client, city, east_member, french_pin
):
    client.force_login(east_member)

    response = client.post(
        f"/ideas/{french_pin.pk}/status/",
        {"status": "done", "answer": "Repaired.", "photo_after": upload(gps_jpeg())},
    )

    assert response.status_code == 302
    photo = TimelinePhoto.objects.get()
    url = f"/ideas/{french_pin.pk}/photos/{photo.pk}.jpg"
    client.logout()
    page = client.get(f"/ideas/{french_pin.pk}/")
    assertContains(page, f'src="{url}"')
    assertContains(page, "After: photo with the answer of East Team")
    served = client.get(url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"].startswith("public")
    timeline = client.get(f"/api/ideas/{french_pin.pk}/").json()["timeline"]
    assert [e["photos"] for e in timeline if e["type"] == "update"] == [
        [{"role": "after", "url": url, "width": photo.width, "height": photo.height}]
    ]


def test_the_status_form_names_a_refused_photo_and_writes_nothing(
    client, city, east_member, french_pin
):
    client.force_login(east_member)
    files_before = stored_files()

    response = client.post(
        f"/ideas/{french_pin.pk}/status/",
        {"status": "done", "answer": "Repaired.", "photo_before": upload(b"GIF89a nope")},
    )

    assert response.status_code == 400
    assertContains(response, 'id="status_photo_before_error"', status_code=400)
    assert not IdeaUpdate.objects.exists()
    assert stored_files() == files_before


def test_an_answer_photo_is_served_only_while_the_pin_may_be_seen(
    client, city, east_member, french_pin
):
    update = idea_status_change(
        idea=french_pin,
        status="done",
        answer="Repaired.",
        photos={"before": upload(gps_jpeg())},
        actor=east_member,
    )
    photo = update.photos.get()
    url = f"/ideas/{french_pin.pk}/photos/{photo.pk}.jpg"
    assert client.get(url).status_code == 200

    Idea.objects.filter(pk=french_pin.pk).update(hidden_by_moderation_at=timezone.now())
    assert client.get(url).status_code == 404
    assertNotContains(client.get(f"/ideas/{french_pin.pk}/"), url, status_code=404)
    client.force_login(east_member)  # its team still sees it, never cached shared
    served = client.get(url)
    assert served.status_code == 200
    assert served["Cache-Control"] == "private, no-store"

    Idea.objects.filter(pk=french_pin.pk).update(hidden_by_moderation_at=None)
    TimelinePhoto.objects.filter(pk=photo.pk).update(hidden_at=timezone.now())
    client.logout()
    assert client.get(url).status_code == 404
    assertNotContains(client.get(f"/ideas/{french_pin.pk}/"), url)
    assert client.get(f"/api/ideas/{french_pin.pk}/").json()["timeline"][-1]["photos"] == []


def test_a_photo_is_served_under_its_own_pin_only(client, city, east_member, category):
    first, second = pin(category), pin(category)
    update = idea_status_change(
        idea=first,
        status="done",
        answer="Repaired.",
        photos={"after": upload(gps_jpeg())},
        actor=east_member,
    )
    photo = update.photos.get()

    assert client.get(f"/ideas/{second.pk}/photos/{photo.pk}.jpg").status_code == 404
    assert client.get(f"/ideas/{first.pk}/photos/{2**70}.jpg").status_code == 404


def test_the_pin_page_reads_the_templates_in_queries_that_do_not_grow_with_them(
    client, city, east_member, french_pin
):
    client.force_login(east_member)

    def queries(count: int) -> int:
        for n in range(ResponseTemplate.objects.count(), count):
            template_save(
                team=city.east_team, actor=east_member, name=f"T{n}", texts={"en": "{place}"}
            )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/ideas/{french_pin.pk}/").status_code == 200
        return len(captured)

    queries(1)  # the first request fills the caches every later one reads
    assert queries(1) == queries(20)
