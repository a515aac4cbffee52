"""Site staff register a webhook receiver in the browser: the form refuses a private address
naming the field, the secret is shown once, a test delivery reaches the receiver signed with
it, and the delivery log says so. Every page on the way passes axe."""

from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from mapideas.models import WebhookEndpoint
from mapideas.webhooks.services import signature_valid
from tests.browser.test_accessibility import assert_none, axe_source, axe_violations
from tests.mapideas.webhooks.receiver import Receiver

__all__ = ["axe_source"]  # the module-scoped fixture, used here too


def test_staff_add_a_receiver_and_send_it_a_test_delivery(
    page: Page, live_server, city, log_in, axe_source, settings
):
    staff = get_user_model().objects.create_user("sam", password="pw-for-tests", is_staff=True)
    receiver = Receiver()
    receiver.start()
    try:
        log_in(staff)
        page.goto("/teams/")
        page.get_by_role("link", name="Webhooks: pin events sent to the city's systems").click()
        expect(page.locator("#webhooks-empty")).to_be_visible()
        assert_none(axe_violations(page, axe_source))

        # The receiver is on this machine: refused until the city allows its address.
        page.get_by_label("Receiver URL").fill(receiver.url)
        page.get_by_label("Description (optional)").fill("Works orders")
        page.get_by_label("A pin is created").check()
        page.get_by_label("A pin's status changes").check()
        page.get_by_role("button", name="Add").click()
        expect(page.locator(".has-error")).to_contain_text("loopback")
        assert not WebhookEndpoint.objects.exists()
        assert_none(axe_violations(page, axe_source))

        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        page.get_by_role("button", name="Add").click()
        secret = page.get_by_label("Secret").input_value()
        assert secret.startswith("whsec_")
        assert secret not in page.url
        assert_none(axe_violations(page, axe_source))

        page.get_by_role("link", name="Back to the webhook").click()
        expect(page.locator("body")).not_to_contain_text(secret)
        page.get_by_role("button", name="Send a test delivery").click()
        expect(page.get_by_role("status")).to_contain_text("Test delivery accepted (HTTP 200)")
        expect(page.locator("#webhook-log")).to_contain_text("Test passed")
        assert_none(axe_violations(page, axe_source))

        (got,) = receiver.received
        assert got.payload["event"] == "ping"
        assert signature_valid(secret, got.headers["x-mapideas-signature"], got.body)
    finally:
        receiver.stop()
