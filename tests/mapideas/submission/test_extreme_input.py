"""The map's pin form (`POST /`) refusing what a client could send in its hidden submission
token and its kind radio buttons: every refusal is shown on the page, next to the field and
tied to it by id (`id_<field>_error`), never as a 400 with nothing to read."""

import re

import pytest

from mapideas.models import Idea
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db


def pin(**overrides) -> dict:
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "Slats missing.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
        "submission_token": "a-token-from-the-page",
    }
    return {**data, **overrides}


def error_of(html: str, field: str) -> str:
    """The text of the element that holds a field's errors, `id_<field>_error`."""
    found = re.search(rf'<(\w+)[^>]*\bid="id_{field}_error"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no element id=id_{field}_error on the page"
    return re.sub(r"<[^>]+>", " ", found.group(2)).strip()


def token_on_the_page(html: str) -> str:
    found = re.search(r'<input[^>]*name="submission_token"[^>]*>', html)
    assert found
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


@pytest.mark.parametrize("token", ["\x00", "bad\x0btoken", "a token with spaces", "é-token"])
def test_a_submission_token_that_cannot_be_one_is_refused_next_to_it(client, city, category, token):
    response = client.post("/", pin(submission_token=token))

    assert response.status_code == 400
    html = response.content.decode()
    assert error_of(html, "submission_token")
    assert not Idea.objects.exists()


@pytest.mark.parametrize("token", ["\x00", "a token with spaces"])
def test_the_page_after_a_refused_token_carries_a_fresh_one_that_sends_the_pin(
    client, city, category, token
):
    refused = client.post("/", pin(submission_token=token))
    fresh = token_on_the_page(refused.content.decode())

    assert fresh and fresh != token
    sent = client.post("/", pin(submission_token=fresh))
    assert sent.status_code == 302
    assert Idea.objects.count() == 1


def test_a_refused_token_is_not_a_general_error_of_the_form(client, city, category):
    response = client.post("/", pin(submission_token="a token with spaces"))

    form = response.context["form"]
    assert "submission_token" in form.errors
    assert not form.non_field_errors()


@pytest.mark.parametrize("kind", ["", "neither", "\x00", "9223372036854775808"])
def test_a_kind_that_is_none_is_refused_next_to_the_radio_buttons_and_tied_to_them(
    client, city, category, kind
):
    response = client.post("/", pin(kind=kind))

    assert response.status_code == 400
    html = response.content.decode()
    assert error_of(html, "kind")
    fieldset = re.search(
        r"<fieldset[^>]*>\s*<legend>[^<]*</legend>\s*<label class=\"radio\">", html
    )
    assert fieldset, "the kind's fieldset"
    assert 'aria-describedby="id_kind_error"' in fieldset.group(0)


def test_a_token_sent_again_with_another_pin_is_refused_next_to_it(client, city, category):
    client.post("/", pin(submission_token="token-once"))

    response = client.post("/", pin(submission_token="token-once", title="Another bench"))

    assert response.status_code == 400
    assert "sent already" in error_of(response.content.decode(), "submission_token")
    assert token_on_the_page(response.content.decode()) != "token-once"
    assert Idea.objects.count() == 1
