"""A citizen signs up in the browser: the sign-up form asks for no password; the emailed
link's page asks for it (a refused one named on its field, the page still accessible), then
signs the citizen in."""

import re

from playwright.sync_api import Page, expect

from mapideas.models import EmailOutbox
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations

__all__ = ["axe_source"]  # the fixture, used by name

ADDRESS = "robin.signup@mail.example"
LINK = re.compile(r"https?://[^\s/]+(/accounts/signup/confirm/\S+)")


def test_a_citizen_signs_up_and_chooses_the_password_on_the_links_page(
    page: Page, live_server, city, axe_source
):
    page.goto("/accounts/signup/")
    expect(page.locator('input[type="password"]')).to_have_count(0)
    page.get_by_label("Username (optional)").fill("robin-signup")
    page.get_by_label("Email").fill(ADDRESS)
    page.locator("#signup-form").get_by_role("button", name="Sign up").click()
    expect(page.locator("#signup-sent")).to_contain_text("choose your password")

    (email,) = EmailOutbox.objects.filter(to=ADDRESS)
    link = LINK.search(email.body)
    assert link, email.body
    page.goto(link.group(1))
    expect(page.get_by_text("robin-signup")).to_be_visible()

    page.get_by_label("Password", exact=True).fill("short1")
    page.get_by_label("Password again").fill("short1")
    page.get_by_role("button", name="Save the password and sign in").click()
    error = page.locator("#id_password_error")
    expect(error).to_contain_text("too short")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    assert_none(axe_violations(page, axe_source))

    page.get_by_label("Password", exact=True).fill("quarry-meadow-falcon-38")
    page.get_by_label("Password again").fill("quarry-meadow-falcon-38")
    page.get_by_role("button", name="Save the password and sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Log out robin-signup")).to_be_visible()
