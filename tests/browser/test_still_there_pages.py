"""The pages of "Is it really fixed?" on a small phone (360×740): a done pin's page with its
verdict forms (for someone not signed in, then after an answer sent without its address,
whose error is tied to the field), the link that confirms an answer, and the team's check
queue. Each fits the screen and axe finds no serious violation."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from mapideas.models import EmailOutbox, FixFeedback, Idea
from mapideas.outcomes.services import feedback_give
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations  # noqa: F401
from tests.browser.test_small_screen import HEIGHT, WIDTH, no_horizontal_scroll
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg, upload


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "viewport": {"width": WIDTH, "height": HEIGHT},
        "has_touch": True,
        "is_mobile": True,
    }


@pytest.fixture
def done_pin(city, category, east_member) -> Idea:
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Broken bench by the pond, the one nearest to the playground's gate",
        category=category,
        location=IN_EAST,
    )
    idea_status_change(
        idea=idea, status=Idea.Status.DONE, answer="New slats fitted.", actor=east_member
    )
    return Idea.objects.get(pk=idea.pk)


def test_the_pin_page_asks_still_there_accessibly_on_a_phone(
    page: Page,
    live_server,
    done_pin,
    axe_source,  # noqa: F811
):
    page.goto(f"/ideas/{done_pin.pk}/")
    expect(page.locator("#outcome-counts")).to_contain_text("0 people confirmed the fix")
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))

    dispute = page.locator("#dispute-form")
    dispute.get_by_label("What is still there? (optional)").fill("The slats are loose again.")
    dispute.get_by_role("button", name="It's still there").click()

    email = page.locator("#still_there_email")
    expect(email).to_have_attribute("aria-invalid", "true")
    described = email.get_attribute("aria-describedby") or ""
    assert "still_there_email_error" in described.split()
    expect(page.locator("#still_there_email_error")).to_contain_text("email address")
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))

    email.fill("resident@example.org")
    dispute.get_by_role("button", name="It's still there").click()
    expect(page.get_by_text("open the link we sent")).to_be_visible()
    assert not FixFeedback.objects.filter(confirmed_at__isnull=False).exists()

    # The link emailed: the answer and one button; pressing it counts it.
    (message,) = EmailOutbox.objects.filter(to="resident@example.org")
    (path,) = re.findall(r"https?://[^/\s]+(/feedback/confirm/[^\s]+/)", message.body)
    page.goto(path)
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#dispute-count")).to_have_text("1")


def test_the_check_queue_is_accessible_on_a_phone(
    page: Page,
    live_server,
    done_pin,
    east_member,
    log_in,
    city,
    settings,
    tmp_path,
    axe_source,  # noqa: F811
):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    for person in ("ann", "bob"):
        feedback_give(
            idea=done_pin,
            verdict="still_there",
            note=f"Still broken, says {person}: Donaudampfschifffahrtsgesellschaftskapitän",
            photo=upload(gps_jpeg((800, 600))),
            source="fix_check",
            person_hash=f"hash-of-{person}",
            confirmed=True,
            now=timezone.now(),
        )
    log_in(east_member)
    page.goto(f"/teams/{city.east_team.slug}/checks/")
    item = page.locator(f"#check-{done_pin.pk}")
    expect(item).to_contain_text("2 people say it is still there")
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))

    item.get_by_role("button", name="Keep closed").click()
    expect(page.locator(f"#keep_answer_{done_pin.pk}_error")).to_be_visible()
    # Measured once the page has its stylesheet: the error's element can be found before.
    page.wait_for_load_state("load")
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))
