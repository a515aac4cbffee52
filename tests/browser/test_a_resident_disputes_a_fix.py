"""The "is it really fixed?" loop in a real browser: a resident says a done pin's problem is
still there, with a photo; its team finds the dispute in its check queue and reopens the pin;
the resident and the pin's followers get the reopening email; the pin's page, the API and the
GeoJSON export all show the dispute and the new status."""

import json

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from mapideas.models import EmailOutbox, Follower, Idea, VerifiedAddress
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.browser.test_team_answers_a_pin import log_in_with_the_form, new_context
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg

RESIDENT_EMAIL = "rosa@example.org"
FOLLOWER_EMAIL = "felix@example.org"
NOTE = "The pothole is back <b>after the rain</b>"


def wait_decoded(page: Page, image) -> None:
    """An <img> the browser fetched and decoded (it is lazy, and visible before loading)."""
    image.scroll_into_view_if_needed()
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=image.element_handle())


def test_a_resident_disputes_a_done_pin_and_its_team_reopens_it(
    page: Page,
    browser: Browser,
    live_server,
    city,
    category,
    make_user,
    east_member,
    log_in,
    settings,
    tmp_path,
):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    idea = idea_create(
        kind="issue", title="Pothole on Dock Street", category=category, location=IN_EAST
    )
    Follower.objects.create(idea=idea, email=FOLLOWER_EMAIL, confirmed_at=timezone.now())
    idea_status_change(
        idea=idea, status=Idea.Status.DONE, answer="Filled on Monday.", actor=east_member
    )
    # A resident whose account was opened from the link emailed to her: a verified address.
    resident = make_user("rosa")
    get_user_model().objects.filter(pk=resident.pk).update(email=RESIDENT_EMAIL)
    VerifiedAddress.objects.create(user=resident, email=RESIDENT_EMAIL)
    EmailOutbox.objects.all().delete()

    # She opens the pin's page on her phone and says the problem is still there, with a photo.
    log_in(resident)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"/ideas/{idea.pk}/")
    dispute = page.locator("#dispute-form")
    dispute.get_by_label("What is still there? (optional)").fill(NOTE)
    dispute.get_by_label("Photo (optional)").set_input_files(
        {"name": "IMG_0077.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg((200, 150))}
    )
    dispute.get_by_role("button", name="It's still there").click()
    expect(page.locator("#outcome-given")).to_contain_text("still there")
    expect(page.locator("#dispute-count")).to_have_text("1")
    assert Idea.objects.get(pk=idea.pk).status == Idea.Status.DONE  # the team decides

    # Her pin's team finds it in its check queue, with her words (as text) and her photo.
    staff = new_context(browser, live_server).new_page()
    log_in_with_the_form(staff, east_member.username, f"/teams/{city.east_team.slug}/checks/")
    item = staff.locator(f"#check-{idea.pk}")
    expect(item).to_contain_text(NOTE)  # shown as typed: the <b> is text, not markup
    assert item.locator("b").count() == 0
    photo = item.locator("img.dispute-photo")
    expect(photo).to_have_count(1)
    wait_decoded(staff, photo)
    assert staff.evaluate("el => el.naturalWidth", photo.element_handle()) == 200
    reopen = staff.locator(f"#reopen-form-{idea.pk}")
    reopen.get_by_label("Public answer").fill("A crew goes back this week.")
    reopen.get_by_role("button", name="Reopen").click()
    expect(staff.locator(f"#check-{idea.pk}")).to_have_count(0)

    idea.refresh_from_db()
    assert idea.status == Idea.Status.IN_PROGRESS
    assert (idea.dispute_count, idea.reopen_count) == (1, 1)

    # The resident and the follower are told, each once, with the team's answer.
    told = EmailOutbox.objects.filter(body__contains="A crew goes back this week.")
    assert sorted(told.values_list("to", flat=True)) == [FOLLOWER_EMAIL, RESIDENT_EMAIL]

    # Anyone reads it on the pin's page, in the API and in the GeoJSON export.
    visitor = new_context(browser, live_server).new_page()
    visitor.goto(f"/ideas/{idea.pk}/")
    expect(visitor.locator("dd.status")).to_have_text("In progress")
    expect(visitor.locator("#dispute-count")).to_have_text("1")
    expect(visitor.locator("#reopen-count")).to_be_visible()
    assert RESIDENT_EMAIL not in visitor.content() and "rosa" not in visitor.content()

    api = visitor.request.get(f"/api/ideas/{idea.pk}/").json()
    properties = api.get("properties", api)
    assert (properties["status"], properties["disputes"], properties["reopenings"]) == (
        "in_progress",
        1,
        1,
    )
    exported = json.loads(b"".join(Client().get("/export/ideas.geojson").streaming_content))
    [feature] = [f for f in exported["features"] if f["properties"]["id"] == idea.pk]
    assert (feature["properties"]["status"], feature["properties"]["disputes"]) == (
        "in_progress",
        1,
    )
