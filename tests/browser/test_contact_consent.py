"""The consent to share one's contact with the city's work-order system, in a real browser:
hidden on `/` while the citizen gives no email, shown (unticked, labelled) once they type one,
and sent with the pin when ticked; shown at once to someone signed in. Axe passes either way."""

from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from mapideas.models import Idea
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations
from tests.conftest import IN_EAST

__all__ = ["axe_source"]  # the module-scoped fixture, used here too

LABEL = "Share my name and email with the city's services handling this pin"


def fill_pin(page: Page) -> None:
    page.get_by_label("Title").fill("Broken bench")
    page.get_by_label("Category").select_option("parks-green-space")
    page.get_by_label("Latitude").fill(str(IN_EAST.y))
    page.get_by_label("Longitude").fill(str(IN_EAST.x))


def test_it_is_asked_once_an_email_is_typed_and_sent_with_the_pin(
    page: Page, live_server, city, category, axe_source
):
    page.goto("/")
    consent = page.get_by_label(LABEL)
    expect(consent).to_be_hidden()

    fill_pin(page)
    page.get_by_label("Your email").fill("zq-consent@mail.example")
    expect(consent).to_be_visible()
    expect(consent).not_to_be_checked()
    assert_none(axe_violations(page, axe_source))
    page.get_by_label("Your email").fill("")
    expect(consent).to_be_hidden()

    page.get_by_label("Your email").fill("zq-consent@mail.example")
    consent.check()
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("status").first).to_contain_text("We emailed you a link")
    idea = Idea.objects.get()
    assert idea.contact_email == "zq-consent@mail.example" and idea.contact_shared_with_city


def test_someone_signed_in_sees_it_at_once(page: Page, live_server, city, category, log_in):
    log_in(get_user_model().objects.create_user("zq-citizen", password="pw-for-tests"))

    page.goto("/")

    expect(page.get_by_label(LABEL)).to_be_visible()
    expect(page.get_by_label(LABEL)).not_to_be_checked()


def test_a_draft_put_back_with_an_email_shows_it(page: Page, live_server, city, category):
    page.goto("/")
    fill_pin(page)
    page.get_by_label("Your email").fill("zq-consent@mail.example")
    page.wait_for_function("() => localStorage.getItem('mapideas:pin-draft') !== null")

    page.reload()

    expect(page.locator("#draft-notice")).to_be_visible()
    expect(page.get_by_label("Your email")).to_have_value("zq-consent@mail.example")
    expect(page.get_by_label(LABEL)).to_be_visible()
