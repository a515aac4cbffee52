"""The loop closed in a real browser: a citizen drops a pin, its team answers it, and anyone
opening the pin's page reads the answer; and staff enter a phone call on a resident's behalf."""

import re
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, BrowserContext, Page, expect

from mapideas.models import EmailOutbox, Follower, Idea
from tests.browser.conftest import LOCAL_HOSTS
from tests.browser.test_drop_a_pin import map_point, nothing_ran
from tests.conftest import IN_EAST, IN_WEST

CITIZEN_EMAIL = "ana@example.org"


def new_context(browser: Browser, live_server, **options) -> BrowserContext:
    """Another person's browser (own cookies), held to the live server like the `page`'s."""
    context = browser.new_context(base_url=live_server.url, **options)

    def only_local(route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", only_local)
    return context


def log_in_with_the_form(page: Page, username: str, next_url: str) -> None:
    page.goto(f"/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()


def change_status(page: Page, status: str, answer: str) -> None:
    form = page.locator("#status-form")
    form.get_by_label("New status").select_option(label=status)
    form.get_by_label("Public answer").fill(answer)
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(f"Status: {status}.")


def test_a_team_answers_a_pin_in_the_browser_and_its_public_page_tells_the_citizen(
    page: Page, browser: Browser, live_server, city, category, make_user, east_member, log_in
):
    # A citizen with an account (and an email) drops a pin in their browser.
    citizen = make_user("ana")
    get_user_model().objects.filter(pk=citizen.pk).update(email=CITIZEN_EMAIL)
    citizen.refresh_from_db()
    log_in(citizen)
    page.goto("/")
    page.mouse.click(*map_point(page, IN_EAST))
    page.get_by_label("Issue", exact=True).check()
    page.get_by_label("Title").fill("Broken swing in the playground")
    page.get_by_label("Category").select_option(label=category.name)
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(r"/ideas/\d+/$"))
    idea = Idea.objects.get()
    assert idea.team == city.east_team
    assert Follower.objects.get(idea=idea).user == citizen

    # A member of its team logs in through the form, finds it in the queue and answers.
    staff = new_context(browser, live_server).new_page()
    log_in_with_the_form(staff, east_member.username, f"/teams/{city.east_team.slug}/")
    expect(staff).to_have_url(f"{live_server.url}/teams/{city.east_team.slug}/")
    staff.get_by_role("link", name="Broken swing in the playground").click()
    expect(staff).to_have_url(f"{live_server.url}/ideas/{idea.pk}/")
    change_status(staff, "Acknowledged", "Thank you: we will look at it this week.")
    change_status(staff, "Done", "A new swing was fitted on Tuesday.")

    # Anyone, not signed in, reads the whole story on the pin's public page.
    visitor = new_context(browser, live_server).new_page()
    visitor.goto(f"/ideas/{idea.pk}/")
    expect(visitor.locator("dd.status")).to_have_text("Done")
    answers = visitor.locator("li.timeline-answer")
    expect(answers).to_have_count(2)
    expect(answers.nth(0)).to_contain_text("East Team set the status to Acknowledged.")
    expect(answers.nth(0).locator("blockquote")).to_have_text(
        "Thank you: we will look at it this week."
    )
    expect(answers.nth(1)).to_contain_text("East Team set the status to Done.")
    expect(answers.nth(1).locator("blockquote")).to_have_text("A new swing was fitted on Tuesday.")
    expect(visitor.locator("li.timeline-routing")).to_contain_text("sent to East Team")
    # Signed by the team, never by the person; nothing internal on the public page.
    expect(visitor.locator("main")).not_to_contain_text(east_member.username)
    expect(visitor.locator("#internal")).to_have_count(0)
    expect(visitor.locator("#status-form")).to_have_count(0)

    # The author hears of each step by email (queued in the outbox for send_notifications).
    mails = list(EmailOutbox.objects.filter(to=CITIZEN_EMAIL).order_by("pk"))
    assert [m.subject for m in mails] == [
        f"Pin #{idea.pk} “Broken swing in the playground”: status: Acknowledged",
        f"Pin #{idea.pk} “Broken swing in the playground”: status: Done",
    ]
    assert "A new swing was fitted on Tuesday." in mails[1].body


def test_staff_enter_a_phone_call_and_see_where_it_was_routed(
    page: Page, live_server, city, category, east_member, log_in, traffic
):
    log_in(east_member)
    page.goto(f"/teams/{city.east_team.slug}/")
    page.get_by_role("link", name="Enter input gathered offline").click()
    expect(page).to_have_url(f"{live_server.url}/teams/{city.east_team.slug}/offline/")

    # The caller describes a place in West Side: the form says it will go to West Team.
    page.mouse.click(*map_point(page, IN_WEST))
    expect(page.locator("#route-hint")).to_contain_text("This pin will go to West Team")
    page.get_by_label("Title").fill("Flooded underpass")
    page.get_by_label("Description").fill("Caller says it floods after every storm.")
    page.get_by_label("Category").select_option(label=category.name)
    page.get_by_label("Channel").select_option(label="Phone")
    page.get_by_label("Name", exact=True).fill("Rosa Parks")
    page.get_by_label("Phone", exact=True).fill("+1 555 0100")
    page.get_by_role("button", name="Save and route").click()

    saved = page.locator("#offline-saved")
    expect(saved).to_contain_text("sent to West Team (West Side)")
    expect(saved).to_contain_text("That is not East Team")
    idea = Idea.objects.get()
    assert (idea.team, idea.channel, idea.contact_phone) == (city.west_team, "phone", "+1 555 0100")
    # Ready for the next call: the form is empty again.
    expect(page.get_by_label("Title")).to_have_value("")

    saved.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/ideas/{idea.pk}/")
    expect(page.locator("#idea-team")).to_have_text("West Team")
    expect(page.locator("#idea-channel")).to_have_text("Phone")
    nothing_ran(page, traffic.requests)
    assert traffic.failed == []


def test_the_offline_form_works_without_javascript(
    browser: Browser, live_server, city, category, east_member
):
    context = new_context(browser, live_server, java_script_enabled=False)
    page = context.new_page()
    log_in_with_the_form(page, east_member.username, f"/teams/{city.east_team.slug}/offline/")

    page.get_by_label("Latitude").fill(str(IN_EAST.y))
    page.get_by_label("Longitude").fill(str(IN_EAST.x))
    page.get_by_label("Title").fill("Letter about the market square")
    page.get_by_label("Category").select_option(label=category.name)
    page.get_by_label("Channel").select_option(label="Letter")
    page.get_by_label("Event", exact=True).fill("Spring letters campaign")
    page.get_by_role("button", name="Save and route").click()

    expect(page.locator("#offline-saved")).to_contain_text("sent to East Team (East Side)")
    idea = Idea.objects.get()
    assert (idea.channel, idea.event_name) == ("letter", "Spring letters campaign")
    context.close()
