"""`/accounts/signup/`: a citizen's account (username or the email address, an email no
other account uses, a password Django's validators accept), signed in at once, at most
MAPIDEAS_RATE_SIGNUP per client IP address; linked from the header and the login page, and
only when the city takes pins from signed-in people."""

import pytest
from django.contrib.auth import get_user_model
from pytest_django.asserts import assertContains

from mapideas.accounts.services import DUPLICATE_EMAIL_MESSAGE, DUPLICATE_USERNAME_MESSAGE

pytestmark = pytest.mark.django_db

URL = "/accounts/signup/"
PASSWORD = "river-lantern-copper-71"


def form(**overrides) -> dict:
    data = {
        "username": "zq-citizen",
        "email": "zq.citizen@mail.example",
        "password": PASSWORD,
        "password_again": PASSWORD,
    }
    return {**data, **overrides}


def test_it_is_linked_from_the_header_and_the_login_page(client, city):
    assertContains(client.get("/"), f'href="{URL}"')
    assertContains(client.get("/accounts/login/"), f'href="{URL}"')
    page = client.get(URL)
    assert page.status_code == 200
    for field in ("username", "email", "password", "password_again"):
        assertContains(page, f'name="{field}"')


def test_it_creates_the_account_and_signs_it_in(client, city):
    response = client.post(URL, form())

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = get_user_model().objects.get(username="zq-citizen")
    assert user.email == "zq.citizen@mail.example"
    assert user.check_password(PASSWORD)
    assert not user.is_staff and not user.is_superuser
    assert client.get("/").context["user"] == user


def test_the_email_is_the_username_when_none_is_given(client, city):
    response = client.post(URL, form(username="", email="Zq.Other@Mail.Example"))

    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert user.username == user.email == "Zq.Other@mail.example"
    client.logout()
    assert client.login(username=user.email, password=PASSWORD)


def test_it_goes_back_to_next_but_never_to_another_host(client, city):
    assert client.post(URL, form(next="/ideas/")).headers["Location"] == "/ideas/"
    client.logout()
    response = client.post(
        URL, form(username="zq-two", email="zq2@mail.example", next="https://evil.example/")
    )
    assert response["Location"] == "/"


def test_a_duplicate_email_is_a_field_error(client, city, make_user):
    other = make_user("someone")
    other.email = "ZQ.citizen@mail.example"
    other.save()

    response = client.post(URL, form())

    assert response.status_code == 400
    assert response.context["form"].errors["email"] == [DUPLICATE_EMAIL_MESSAGE]
    assert get_user_model().objects.count() == 1


def test_a_duplicate_username_is_a_field_error(client, city, make_user):
    make_user("ZQ-Citizen")

    response = client.post(URL, form())

    assert response.status_code == 400
    assert response.context["form"].errors["username"] == [DUPLICATE_USERNAME_MESSAGE]


@pytest.mark.parametrize(
    ("password", "words"),
    [("short1", "too short"), ("password123", "too common"), ("83920174650", "entirely numeric")],
)
def test_weak_passwords_meet_django_validators(client, city, password, words):
    response = client.post(URL, form(password=password, password_again=password))

    assert response.status_code == 400
    errors = response.context["form"].errors["password"]
    assert any(words in error for error in errors), errors
    assert not get_user_model().objects.exists()


def test_a_password_like_the_username_is_refused(client, city):
    response = client.post(
        URL, form(username="lanternriver", password="lanternriver", password_again="lanternriver")
    )
    assert response.status_code == 400
    assert any("similar" in e for e in response.context["form"].errors["password"])


def test_the_two_passwords_must_match(client, city):
    response = client.post(URL, form(password_again=PASSWORD + "x"))

    assert response.status_code == 400
    assert "password_again" in response.context["form"].errors


@pytest.mark.parametrize(
    ("field", "value"), [("email", "not-an-address"), ("username", "no spaces allowed")]
)
def test_bad_fields_are_named(client, city, field, value):
    response = client.post(URL, form(**{field: value}))

    assert response.status_code == 400
    assert field in response.context["form"].errors


def test_it_is_rate_limited_per_address(client, city, settings):
    settings.MAPIDEAS_RATE_SIGNUP = (2, 3600)
    for n in range(2):
        client.post(URL, form(username=f"zq{n}", email=f"zq{n}@mail.example"))
        client.logout()

    response = client.post(URL, form(username="zq9", email="zq9@mail.example"))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert get_user_model().objects.count() == 2


def test_it_is_off_when_accounts_are_not_a_way_to_pin(client, city, settings):
    settings.MAPIDEAS_SUBMISSION_MODES = ("email", "anonymous")

    assert client.get(URL).status_code == 404
    assert client.post(URL, form()).status_code == 404
    assert 'href="/accounts/signup/"' not in client.get("/").content.decode()
    assert not get_user_model().objects.exists()
