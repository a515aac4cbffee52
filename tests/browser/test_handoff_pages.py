"""A pin handed to an outside body in the browser: its team hands it over from the pin's
page, the body opens the link from the queued email (no account), accepts and reports the
work with a photo, the team approves, and the public page shows the pin done, "handed to"
the body and the after-photo. Every page on the way passes axe."""

import re
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, expect

from mapideas.models import EmailOutbox, Handoff, Idea
from mapideas.submission.services import idea_create
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations
from tests.browser.test_team_answers_a_pin import new_context
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg

__all__ = ["axe_source"]  # the module-scoped fixture, used here too

BODY = "City Water Works"
ADDRESS = "works@water.example"


def test_a_team_hands_a_pin_to_a_utility_which_reports_it_done(
    page: Page,
    browser: Browser,
    live_server,
    city,
    category,
    east_member,
    log_in,
    axe_source,
    settings,
    tmp_path,
):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    pin = idea_create(kind="issue", title="Leaking hydrant", category=category, location=IN_EAST)
    log_in(east_member)
    page.goto(f"/ideas/{pin.pk}/")
    form = page.locator("#handoff-form")
    form.get_by_label("Body's name").fill(BODY)
    form.get_by_label("Body's email").fill(ADDRESS)
    form.get_by_label("Message to the body (optional)").fill("The hydrant on the corner.")
    form.get_by_role("button", name="Hand over").click()
    expect(page.get_by_role("status")).to_contain_text(f"Handed to {BODY}")
    expect(page.locator("#handoffs")).to_contain_text("Sent")
    assert_none(axe_violations(page, axe_source))

    # The body, in its own browser, opens the link from its email.
    email = EmailOutbox.objects.get(to=ADDRESS)
    found = re.search(r"https?://\S+/handoffs/\S+/", email.body)
    assert found is not None, email.body
    link = found.group(0)
    body_context = new_context(browser, live_server)
    body_page = body_context.new_page()
    try:
        body_page.goto(urlsplit(link).path)
        expect(
            body_page.get_by_role("heading", level=2, name=re.compile("Leaking hydrant"))
        ).to_be_visible()
        expect(body_page.locator("#handoff-message")).to_contain_text("The hydrant on the corner.")
        assert_none(axe_violations(body_page, axe_source))
        body_page.get_by_role("button", name="Accept").click()
        expect(body_page.get_by_role("status")).to_contain_text("Accepted")
        body_page.get_by_label("What was done").fill("Valve replaced.")
        body_page.get_by_label("Photo after the work (optional)").set_input_files(
            {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg((160, 120))}
        )
        body_page.get_by_role("button", name="Report the work done").click()
        expect(body_page.locator("#handoff-reported")).to_be_visible()
        assert_none(axe_violations(body_page, axe_source))
    finally:
        body_context.close()
    assert Idea.objects.get(pk=pin.pk).status == Idea.Status.NEW

    # The team reviews: the comment and the photo, then approves.
    page.goto(f"/ideas/{pin.pk}/")
    expect(page.locator("#handoffs")).to_contain_text("Valve replaced.")
    expect(page.get_by_role("img", name=f"After: photo sent by {BODY}")).to_be_visible()
    assert_none(axe_violations(page, axe_source))
    page.get_by_role("button", name="Approve: mark done").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    assert Handoff.objects.get().state == Handoff.State.APPROVED

    # Anyone: done, handed to the body (its name only), with the after-photo.
    public = new_context(browser, live_server)
    public_page = public.new_page()
    try:
        public_page.goto(f"/ideas/{pin.pk}/")
        expect(public_page.locator(".facts .status")).to_have_text("Done")
        expect(public_page.locator(".timeline-handoff")).to_contain_text(f"handed to {BODY}")
        expect(public_page.locator(".answer-photo-after img")).to_be_visible()
        expect(public_page.locator("body")).not_to_contain_text(ADDRESS)
        assert_none(axe_violations(public_page, axe_source))
    finally:
        public.close()
