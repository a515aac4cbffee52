"""A team writes a response template on its page, then answers a French resident's pin with
it in the browser: choosing the template fills the answer box in French, the page sends it
with an "after" photo, and the public page shows both. Every page on the way passes axe."""

from playwright.sync_api import Page, expect

from mapideas.models import Idea, TimelinePhoto
from mapideas.submission.services import idea_create
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg

__all__ = ["axe_source"]  # the module-scoped fixture, used here too


def test_a_team_answers_with_a_template_in_the_pins_language(
    page: Page, live_server, city, category, east_member, log_in, axe_source, tmp_path
):
    idea = idea_create(
        kind=Idea.Kind.ISSUE,
        title="Balançoire cassée",
        category=category,
        location=IN_EAST,
        language="fr",
    )
    log_in(east_member)

    page.goto(f"/teams/{city.east_team.slug}/")
    page.get_by_role("link", name="Response templates").click()
    assert_none(axe_violations(page, axe_source))
    page.get_by_role("link", name="New template").click()
    assert_none(axe_violations(page, axe_source))
    page.get_by_label("Name").fill("Seen")
    page.get_by_label("Text in English").fill("Thank you: {team} has pin #{pin_number}.")
    page.get_by_label("Text in Français").fill("Merci : {team} a « {title} » ({place}).")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#templates")).to_contain_text("Seen")
    assert_none(axe_violations(page, axe_source))

    page.goto(f"/ideas/{idea.pk}/")
    form = page.locator("#status-form")
    form.get_by_label("Answer from a template").select_option(label="Seen")
    answer = form.get_by_label("Public answer")
    expect(answer).to_have_value("Merci : East Team a « Balançoire cassée » (East Side).")
    answer.fill(answer.input_value() + " Réparée mardi.")
    form.get_by_label("New status").select_option(value="done")
    photo = tmp_path / "after.jpg"
    photo.write_bytes(gps_jpeg((120, 90)))
    form.get_by_label("Photo after (optional)").set_input_files(str(photo))
    assert_none(axe_violations(page, axe_source))
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Status: Done.")

    idea.refresh_from_db()
    assert idea.answer == "Merci : East Team a « Balançoire cassée » (East Side). Réparée mardi."
    shown = TimelinePhoto.objects.get(idea=idea)
    page.context.clear_cookies()
    page.goto(f"/ideas/{idea.pk}/")
    image = page.get_by_role("img", name="After: photo with the answer of East Team")
    expect(image).to_have_attribute("src", f"/ideas/{idea.pk}/photos/{shown.pk}.jpg")
    expect(image).to_have_js_property("naturalWidth", 120)
    assert_none(axe_violations(page, axe_source))
