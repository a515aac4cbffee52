"""The "Is it fixed?" page on a small phone (360×740): it fits the screen, axe finds no
serious violation, before and after a "no" sent without its note, whose error is tied to the
note's field; "yes" is one press and opens the pin's page."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from mapideas.models import EmailOutbox, FixFeedback, Follower, Idea
from mapideas.outcomes import fix_checks
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations  # noqa: F401
from tests.browser.test_small_screen import HEIGHT, WIDTH, no_horizontal_scroll
from tests.conftest import IN_EAST

LINK = re.compile(r"https?://[^/\s]+(/ideas/fixed/[A-Za-z0-9_-]+/\?answer=)yes")


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "viewport": {"width": WIDTH, "height": HEIGHT},
        "has_touch": True,
        "is_mobile": True,
    }


@pytest.fixture
def link(city, category, east_member) -> str:
    """The link an "Is it fixed?" email carries, without its answer."""
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Broken bench by the pond, the one nearest to the playground's gate",
        description="The slats on the left are gone.",
        category=category,
        location=IN_EAST,
    )
    Follower.objects.create(idea=idea, email="resident@example.org", confirmed_at=idea.created_at)
    idea_status_change(
        idea=idea, status=Idea.Status.DONE, answer="New slats fitted.", actor=east_member
    )
    idea.refresh_from_db()
    fix_checks.fix_checks_queue(now=idea.closed_at + timedelta(days=7))
    (email,) = EmailOutbox.objects.filter(subject__startswith="Is it fixed?")
    (path,) = LINK.findall(email.body)
    return path


def test_no_asks_its_note_accessibly_on_a_phone(page: Page, live_server, link, axe_source):  # noqa: F811
    response = page.goto(link + "no")
    assert response.status == 200
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))

    page.get_by_role("button", name="No, it is still there").click()

    note = page.get_by_label("What is still there?")
    expect(note).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_note_error")).to_be_visible()
    assert "id_note_error" in note.get_attribute("aria-describedby")
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))
    assert not FixFeedback.objects.exists()

    note.fill("Two slats are still missing.")
    page.get_by_role("button", name="No, it is still there").click()
    expect(page.locator(".messages")).to_contain_text("your answer is counted")
    assert FixFeedback.objects.get().verdict == "still_there"


def test_yes_is_one_press(page: Page, live_server, link, axe_source):  # noqa: F811
    page.goto(link + "yes")
    no_horizontal_scroll(page)
    assert_none(axe_violations(page, axe_source))

    page.get_by_role("button", name="Yes, it is fixed").click()

    expect(page.locator(".messages")).to_contain_text("your answer is counted")
    assert re.search(r"/ideas/\d+/$", page.url)
    assert FixFeedback.objects.get().verdict == "fixed"
