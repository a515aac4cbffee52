"""The browser enforces the Content-Security-Policy: a script the page did not write (no
nonce) is refused, while the map's own scripts run (the conftest fails any test whose pages
had something refused)."""

from playwright.sync_api import Page, expect

INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injectedRan = true;";
  document.body.appendChild(script);
  return window.injectedRan === true;
}"""


def test_an_inline_script_without_the_pages_nonce_does_not_run(
    page: Page, live_server, city, traffic
):
    page.goto("/")
    expect(page.locator(".leaflet-container")).to_be_visible()

    assert page.evaluate(INJECT) is False
    refused = [text for text in traffic.console_errors if "Content Security Policy" in text]
    assert refused, "the browser did not report refusing the script"
    # Refused on purpose here: the conftest's check is for scripts the site needs.
    traffic.console_errors.clear()
