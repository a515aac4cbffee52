"""Site staff set up a team's back office in the browser: the form keeps the API key out of
every page, the services are read from a real GeoReport v2 server, the mapping asks for the
value a chosen service requires next to its field; then a member of the team gives the
request number of a pin held for a check, and the list says nothing needs anyone. Every
page on the way passes axe."""

from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from mapideas.models import BackofficeEndpoint, BackofficeForward
from mapideas.submission.services import idea_create
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations
from tests.conftest import IN_EAST
from tests.mapideas.backoffice.services_stub import ServicesStub

__all__ = ["axe_source"]  # the module-scoped fixture, used here too

KEY = "k3y-of-the-works-orders-0123456789"


def test_staff_set_up_a_back_office_and_the_team_gives_a_request_number(
    page: Page, live_server, city, category, east_member, log_in, axe_source, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    stub = ServicesStub()
    stub.start()
    pin = idea_create(kind="issue", title="Fallen oak", category=category, location=IN_EAST)
    staff = get_user_model().objects.create_user("sam", password="pw-for-tests", is_staff=True)
    try:
        log_in(staff)
        page.goto("/teams/")
        page.get_by_role(
            "link", name="Back offices: pins forwarded to the city's work-order systems"
        ).click()
        expect(page.locator("#backoffice-empty")).to_be_visible()
        assert_none(axe_violations(page, axe_source))

        page.get_by_label("Team", exact=True).select_option(label="East Team")
        page.get_by_label("Name", exact=True).fill("City works orders")
        page.get_by_label("Base URL").fill(stub.url)
        page.get_by_label("API key", exact=True).fill(KEY)
        page.get_by_role("button", name="Add").click()
        expect(page.locator("#backoffice-key")).to_have_text("A key is stored.")
        expect(page.get_by_label("API key", exact=True)).to_have_value("")
        assert KEY not in page.content()
        assert_none(axe_violations(page, axe_source))

        page.get_by_role("button", name="Read the services").click()
        expect(page.get_by_role("status")).to_contain_text("lists 2 services")
        page.get_by_label("Parks and green space").select_option(label="Fallen tree (TREE)")
        page.get_by_role("button", name="Save the mapping").click()
        crew = page.get_by_label("Fallen tree: Which crew goes")
        expect(crew).to_be_visible()
        expect(page.locator("#mapping-form .has-error")).to_contain_text(
            "The service chosen needs this value."
        )
        assert_none(axe_violations(page, axe_source))
        crew.fill("North crew")
        page.get_by_role("button", name="Save the mapping").click()
        expect(page.get_by_role("status")).to_contain_text("Services mapped.")
        endpoint = BackofficeEndpoint.objects.get()
        assert endpoint.service_codes == {category.slug: "TREE"}
        assert endpoint.attribute_values == {"TREE": {"crew": "North crew"}}

        # The pin may have reached it while the back office could not be searched.
        held = BackofficeForward.objects.create(
            endpoint=endpoint,
            idea=pin,
            state=BackofficeForward.State.HELD,
            held_reason="It may have reached the back office, which cannot be searched: "
            "check there.",
        )
        page.context.clear_cookies()
        log_in(east_member)
        page.goto("/teams/")
        page.get_by_role(
            "link", name="Forwards to the back offices: pins that need someone"
        ).click()
        page.get_by_role("link", name="East Team").click()
        row = page.locator(f"#forward-held-{held.pk}")
        expect(row).to_contain_text("which cannot be searched")
        assert_none(axe_violations(page, axe_source))

        row.get_by_label("Found it: request number").fill("WO-42")
        row.get_by_role("button", name="Found it").click()
        expect(page.get_by_role("status")).to_contain_text("is request WO-42 at City works orders")
        expect(page.locator("#forwards-all-clear")).to_be_visible()
        held.refresh_from_db()
        assert (held.state, held.remote_id) == (BackofficeForward.State.FORWARDED, "WO-42")

        # The pin's page tells the team where it is, never the public.
        page.goto(f"/ideas/{pin.pk}/")
        expect(page.locator("#backoffice-forwards")).to_contain_text("request WO-42")
        assert_none(axe_violations(page, axe_source))
        page.context.clear_cookies()
        page.goto(f"/ideas/{pin.pk}/")
        expect(page.locator("#backoffice-forwards")).to_have_count(0)
    finally:
        stub.stop()
