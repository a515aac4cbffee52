"""MAPIDEAS_SUBMISSION_MODES: which ways a citizen may send a pin (signed in, with an email
address to confirm, anonymously). Each way allowed and refused, through the form on `/` and
through POST /api/ideas/; and the setting read and checked at start-up."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.asserts import assertContains, assertNotContains
from rest_framework.test import APIClient

from mapideas import settings as project_settings
from mapideas.models import Idea
from mapideas.submission.services import (
    EMAIL_OR_SIGN_IN_MESSAGE,
    EMAIL_REQUIRED_MESSAGE,
    SIGN_IN_REQUIRED_MESSAGE,
)
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

ADDRESS = "zq-citizen-6120@mail.example"


def pin(**overrides) -> dict:
    """The home page form's fields, for a pin in East Side."""
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "Slats missing.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
    }
    return {**data, **overrides}


def api_body(**overrides) -> dict:
    data = {
        "kind": "issue",
        "title": "Broken bench",
        "category": "parks-green-space",
        "location": {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]},
    }
    return {**data, **overrides}


def api_post(data: dict, client: APIClient | None = None):
    return (client or APIClient()).post("/api/ideas/", data, format="json")


# --- The setting ---------------------------------------------------------------------------


def test_it_allows_every_way_by_default(monkeypatch):
    monkeypatch.delenv("MAPIDEAS_SUBMISSION_MODES", raising=False)
    assert project_settings._submission_modes() == ("account", "email", "anonymous")


def test_it_reads_a_comma_separated_list_in_any_case(monkeypatch):
    monkeypatch.setenv("MAPIDEAS_SUBMISSION_MODES", " Email, account ,email,")
    assert project_settings._submission_modes() == ("email", "account")


def test_it_refuses_an_unknown_mode_naming_it(monkeypatch):
    monkeypatch.setenv("MAPIDEAS_SUBMISSION_MODES", "account,facebook")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_SUBMISSION_MODES.*'facebook'"):
        project_settings._submission_modes()


def test_it_refuses_an_empty_list(monkeypatch):
    monkeypatch.setenv("MAPIDEAS_SUBMISSION_MODES", " , ")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_SUBMISSION_MODES must name"):
        project_settings._submission_modes()


def test_the_rate_of_sign_ups_is_a_rate(monkeypatch):
    monkeypatch.setenv("MAPIDEAS_RATE_SIGNUP", "often")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_RATE_SIGNUP"):
        project_settings.env_rate("MAPIDEAS_RATE_SIGNUP", "10/h")


# --- The form on `/` -----------------------------------------------------------------------


def test_by_default_the_form_offers_the_email_and_an_anonymous_pin_goes_public(
    client, city, category
):
    page = client.get("/")
    assertContains(page, '<label for="id_email">Your email</label>', html=True)
    assertContains(page, "Leave it empty to send the pin without one.")
    assertContains(page, 'href="/accounts/signup/"')

    response = client.post("/", pin())

    idea = Idea.objects.get()
    assert response.status_code == 302
    assert response["Location"] == idea.get_absolute_url()
    assert not idea.awaiting_confirmation
    assert idea.contact_email == ""


@pytest.mark.parametrize(
    ("modes", "message"),
    [(("account", "email"), EMAIL_OR_SIGN_IN_MESSAGE), (("email",), EMAIL_REQUIRED_MESSAGE)],
)
def test_without_anonymous_pins_the_form_asks_for_the_email(
    client, city, category, settings, modes, message
):
    settings.MAPIDEAS_SUBMISSION_MODES = modes

    response = client.post("/", pin())

    assert response.status_code == 400
    assert response.context["form"].errors["email"] == [message]
    assertContains(response, message, status_code=400)
    assert not Idea.objects.exists()


def test_without_email_pins_the_form_has_no_email_field(client, city, category, settings):
    settings.MAPIDEAS_SUBMISSION_MODES = ("account", "anonymous")

    page = client.get("/")
    assertNotContains(page, 'name="email"')
    response = client.post("/", pin(email=ADDRESS))

    idea = Idea.objects.get()
    assert response.status_code == 302
    assert idea.contact_email == "" and not idea.awaiting_confirmation


def test_when_only_accounts_may_the_page_asks_to_log_in_or_sign_up(
    client, city, category, settings
):
    settings.MAPIDEAS_SUBMISSION_MODES = ("account",)

    page = client.get("/")

    assertContains(page, SIGN_IN_REQUIRED_MESSAGE)
    assertContains(page, 'href="/accounts/login/?next=/"')
    assertContains(page, 'href="/accounts/signup/"')
    assertNotContains(page, 'id="idea-form"')
    response = client.post("/", pin(email=ADDRESS))
    assert response.status_code == 403
    assert not Idea.objects.exists()


def test_when_only_accounts_may_a_signed_in_citizen_pins(
    client, city, category, settings, make_user
):
    settings.MAPIDEAS_SUBMISSION_MODES = ("account",)
    citizen = make_user("zq-citizen")
    client.force_login(citizen)

    assertNotContains(client.get("/"), 'name="email"')
    response = client.post("/", pin())

    idea = Idea.objects.get()
    assert response.status_code == 302
    assert idea.author == citizen and not idea.awaiting_confirmation


def test_someone_signed_in_may_pin_whatever_the_modes(
    client, city, category, settings, east_member
):
    """Staff have accounts whatever the setting: they are never turned away from the map."""
    settings.MAPIDEAS_SUBMISSION_MODES = ("email",)
    client.force_login(east_member)

    response = client.post("/", pin())

    assert response.status_code == 302
    assert Idea.objects.get().author == east_member


def test_sign_up_is_hidden_when_accounts_are_off(client, city, category, settings):
    settings.MAPIDEAS_SUBMISSION_MODES = ("email", "anonymous")

    page = client.get("/")

    assertNotContains(page, "/accounts/signup/")
    assertNotContains(client.get("/accounts/login/"), "/accounts/signup/")
    assert client.get("/accounts/signup/").status_code == 404


# --- POST /api/ideas/ ------------------------------------------------------------------------


def test_the_api_takes_every_way_by_default(city, category):
    anonymous = api_post(api_body())
    with_email = api_post(api_body(email=ADDRESS, name="Zq Name"))

    assert anonymous.status_code == 201, anonymous.content
    assert "awaiting_confirmation" not in anonymous.json()
    assert with_email.status_code == 201, with_email.content
    assert with_email.json()["awaiting_confirmation"] is True
    assert ADDRESS not in with_email.content.decode()
    assert "Zq Name" not in with_email.content.decode()
    idea = Idea.objects.get(pk=with_email.json()["id"])
    assert (idea.contact_email, idea.contact_name) == (ADDRESS, "Zq Name")


@pytest.mark.parametrize(
    ("modes", "message"),
    [(("account", "email"), EMAIL_OR_SIGN_IN_MESSAGE), (("email",), EMAIL_REQUIRED_MESSAGE)],
)
def test_without_anonymous_pins_the_api_asks_for_the_email(
    city, category, settings, modes, message
):
    settings.MAPIDEAS_SUBMISSION_MODES = modes

    response = api_post(api_body())

    assert response.status_code == 400
    assert response.json() == {"email": [message]}
    assert not Idea.objects.exists()


def test_without_email_pins_the_api_refuses_an_email_naming_the_field(city, category, settings):
    settings.MAPIDEAS_SUBMISSION_MODES = ("account", "anonymous")

    response = api_post(api_body(email=ADDRESS))

    assert response.status_code == 400
    (message,) = response.json()["email"]
    assert "sign in" in message and "leave the email address empty" in message
    assert not Idea.objects.exists()


@pytest.mark.parametrize("extra", [{}, {"email": ADDRESS}])
def test_when_only_accounts_may_the_api_answers_403(city, category, settings, extra):
    settings.MAPIDEAS_SUBMISSION_MODES = ("account",)

    response = api_post(api_body(**extra))

    assert response.status_code == 403
    assert response.json() == {"detail": SIGN_IN_REQUIRED_MESSAGE}
    assert not Idea.objects.exists()


def test_when_only_accounts_may_a_signed_in_client_pins(city, category, settings, make_user):
    settings.MAPIDEAS_SUBMISSION_MODES = ("account",)
    client = APIClient()
    client.force_authenticate(make_user("zq-citizen"))

    response = api_post(api_body(), client)

    assert response.status_code == 201, response.content


def test_a_signed_in_author_email_in_the_body_is_not_kept(city, category, make_user):
    client = APIClient()
    client.force_authenticate(make_user("zq-citizen"))

    response = api_post(api_body(email=ADDRESS, name="Zq Name"), client)

    idea = Idea.objects.get()
    assert response.status_code == 201
    assert not idea.awaiting_confirmation
    assert (idea.contact_email, idea.contact_name) == ("", "")


@pytest.mark.parametrize("email", ["not-an-address", "a@", 42])
def test_a_malformed_email_is_a_400_naming_it(city, category, email):
    response = api_post(api_body(email=email))

    assert response.status_code == 400
    assert "email" in response.json()
    assert not Idea.objects.exists()
