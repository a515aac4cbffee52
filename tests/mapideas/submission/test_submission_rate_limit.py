"""Pins sent through the map's form or the API count against MAPIDEAS_RATE_SUBMISSIONS: per
account when signed in, else per IP address; beyond it, 429 with Retry-After and no row."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from mapideas.models import Idea
from tests.mapideas.submission.test_api_ideas_create import body
from tests.mapideas.submission.test_views_home import pin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_an_hour(settings):
    settings.MAPIDEAS_RATE_SUBMISSIONS = (2, 3600)


def api_post(address: str, client: APIClient | None = None):
    return (client or APIClient()).post("/api/ideas/", body(), format="json", REMOTE_ADDR=address)


def test_the_api_answers_429_with_retry_after_beyond_the_limit(city, category):
    answers = [api_post("198.51.100.7") for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert 0 < int(answers[2]["Retry-After"]) <= 3600
    assert Idea.objects.count() == 2
    # Another address has its own allowance.
    assert api_post("198.51.100.8").status_code == 201


def test_the_form_and_the_api_share_one_allowance(city, category):
    form = Client().post("/", pin(), REMOTE_ADDR="198.51.100.7")
    api = api_post("198.51.100.7")
    refused = Client().post("/", pin(), REMOTE_ADDR="198.51.100.7")

    assert (form.status_code, api.status_code, refused.status_code) == (302, 201, 429)
    assert int(refused["Retry-After"]) > 0
    assert Idea.objects.count() == 2


def test_malformed_pins_do_not_use_up_the_allowance(city, category):
    for _ in range(3):
        bad = APIClient().post(
            "/api/ideas/", body(title=""), format="json", REMOTE_ADDR="198.51.100.7"
        )
        assert bad.status_code == 400

    assert api_post("198.51.100.7").status_code == 201


def test_a_signed_in_person_is_counted_by_account_wherever_they_are(city, category, make_user):
    client = APIClient()
    client.force_authenticate(make_user("cora"))
    answers = [api_post(f"198.51.100.{n}", client) for n in (10, 11, 12)]

    assert [a.status_code for a in answers] == [201, 201, 429]


def test_rate_limits_off_lifts_the_limit_for_load_tests(city, category, settings):
    settings.MAPIDEAS_RATE_LIMITS = False

    assert {api_post("198.51.100.7").status_code for _ in range(4)} == {201}
