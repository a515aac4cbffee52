"""Comments (MAPIDEAS_RATE_COMMENTS, per account) and login attempts (MAPIDEAS_RATE_LOGIN, per
IP address and per account name tried) are rate limited: beyond the limit, 429 with
Retry-After, and nothing written or checked."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from mapideas.models import Comment, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(kind="idea", title="More benches", category=category, location=IN_EAST)


@pytest.fixture
def two_an_hour(settings):
    settings.MAPIDEAS_RATE_COMMENTS = (2, 3600)
    settings.MAPIDEAS_RATE_LOGIN = (2, 3600)


# --- Comments ----------------------------------------------------------------------------


def test_comments_on_the_page_beyond_the_limit_are_a_429(two_an_hour, idea, make_user):
    client = Client()
    client.force_login(make_user("cora"))
    answers = [
        client.post(f"/ideas/{idea.pk}/comments/", {"text": f"Comment {n}"}) for n in range(3)
    ]

    assert [a.status_code for a in answers] == [302, 302, 429]
    assert 0 < int(answers[2]["Retry-After"]) <= 3600
    assert Comment.objects.count() == 2


def test_the_page_and_the_api_share_one_allowance_per_account(two_an_hour, idea, make_user):
    cora = make_user("cora")
    page, api = Client(), APIClient()
    page.force_login(cora)
    api.force_authenticate(cora)

    first = page.post(f"/ideas/{idea.pk}/comments/", {"text": "One"}, REMOTE_ADDR="192.0.2.1")
    second = api.post(
        f"/api/ideas/{idea.pk}/comments/", {"text": "Two"}, format="json", REMOTE_ADDR="192.0.2.2"
    )
    third = api.post(
        f"/api/ideas/{idea.pk}/comments/", {"text": "Three"}, format="json", REMOTE_ADDR="192.0.2.3"
    )

    assert (first.status_code, second.status_code, third.status_code) == (302, 201, 429)
    assert int(third["Retry-After"]) > 0
    assert Comment.objects.count() == 2
    # Another account has its own allowance.
    other = APIClient()
    other.force_authenticate(make_user("dora"))
    assert (
        other.post(f"/api/ideas/{idea.pk}/comments/", {"text": "Four"}, format="json").status_code
        == 201
    )


def test_malformed_comments_do_not_use_up_the_allowance(two_an_hour, idea, make_user):
    client = APIClient()
    client.force_authenticate(make_user("cora"))
    for _ in range(3):
        assert (
            client.post(f"/api/ideas/{idea.pk}/comments/", {"text": ""}, format="json").status_code
            == 400
        )

    assert (
        client.post(f"/api/ideas/{idea.pk}/comments/", {"text": "Ok"}, format="json").status_code
        == 201
    )


# --- Login -------------------------------------------------------------------------------


def login(username: str, password: str, address: str = "198.51.100.7"):
    return Client().post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_login_attempts_from_one_address_beyond_the_limit_are_a_429(two_an_hour, make_user):
    make_user("cora", password="right-password")
    answers = [login(f"guess-{n}", "wrong") for n in range(2)]
    refused = login("cora", "right-password")

    assert [a.status_code for a in answers] == [200, 200]  # the form again, with an error
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "_auth_user_id" not in refused.client.session
    # Another address may still log in.
    assert login("cora", "right-password", "198.51.100.8").status_code == 302


def test_guessing_one_account_from_many_addresses_is_limited_too(two_an_hour, make_user):
    make_user("cora", password="right-password")
    for n in range(2):
        assert login("cora", "wrong", f"203.0.113.{n}").status_code == 200

    refused = login(" CORA ", "right-password", "203.0.113.50")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # Other accounts are not locked by it.
    make_user("dora", password="pw-dora")
    assert login("dora", "pw-dora", "203.0.113.51").status_code == 302


def test_the_login_page_itself_is_not_counted(two_an_hour):
    for _ in range(5):
        assert Client().get("/accounts/login/", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_no_limit_with_rate_limits_off(two_an_hour, settings, make_user):
    settings.MAPIDEAS_RATE_LIMITS = False
    make_user("cora", password="right-password")
    for _ in range(3):
        login("cora", "wrong")

    assert login("cora", "right-password").status_code == 302
