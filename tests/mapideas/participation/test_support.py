"""Supporting a pin: once per signed-in person, once per browser for anonymous people (a
random token in a signed cookie, kept only as a keyed hash), a rate limit per IP address
(429 with Retry-After), and the count on the page, in the API and in the exports."""

import csv
import io
import json

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.test import Client

from mapideas.env import env_rate
from mapideas.models import Idea, Support
from mapideas.participation.services import idea_support, idea_unsupport
from mapideas.participation.supporters import SUPPORTER_COOKIE
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_mark_duplicate
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(kind="idea", title="More benches", category=category, location=IN_EAST)


def count(idea: Idea) -> int:
    return Idea.objects.get(pk=idea.pk).support_count


def test_a_person_supports_once(idea, make_user):
    cindy = make_user("cindy")

    assert idea_support(idea=idea, user=cindy) is True
    assert idea_support(idea=idea, user=cindy) is False

    assert count(idea) == 1
    assert Support.objects.filter(idea=idea, user=cindy).count() == 1


def test_a_person_takes_their_support_back(idea, make_user):
    cindy, dora = make_user("cindy"), make_user("dora")
    idea_support(idea=idea, user=cindy)
    idea_support(idea=idea, user=dora)

    assert idea_unsupport(idea=idea, user=cindy) is True
    assert idea_unsupport(idea=idea, user=cindy) is False

    assert count(idea) == 1


def test_anonymous_support_needs_a_token_and_cannot_be_taken_back(idea):
    with pytest.raises(PermissionDenied):
        idea_support(idea=idea, user=None)
    with pytest.raises(PermissionDenied):
        idea_unsupport(idea=idea, user=None)
    assert count(idea) == 0


def test_the_page_counts_supports_from_one_browser_once(idea):
    browser = Client()

    first = browser.post(f"/ideas/{idea.pk}/support/")
    second = browser.post(f"/ideas/{idea.pk}/support/")

    assert (first.status_code, second.status_code) == (302, 302)
    assert count(idea) == 1
    page = browser.get(f"/ideas/{idea.pk}/").content.decode()
    assert '<strong id="support-count">1</strong>' in page
    assert "You support it." in page
    # Another browser is another supporter.
    Client().post(f"/ideas/{idea.pk}/support/")
    assert count(idea) == 2


def test_the_cookie_is_signed_and_only_its_keyed_hash_is_kept(idea):
    browser = Client()
    response = browser.post(f"/ideas/{idea.pk}/support/", REMOTE_ADDR="203.0.113.7")

    cookie = response.cookies[SUPPORTER_COOKIE]
    assert cookie["httponly"]
    raw_token = cookie.value.split(":")[0]
    (support,) = Support.objects.filter(idea=idea)
    assert support.user_id is None
    assert len(support.token_hash) == 64
    assert raw_token not in support.token_hash
    stored = json.dumps(list(Support.objects.values()), default=str)
    assert "203.0.113.7" not in stored

    # A forged cookie is no cookie: a new token, not the forged one.
    forged = Client()
    forged.cookies[SUPPORTER_COOKIE] = "made-up-token"
    forged.post(f"/ideas/{idea.pk}/support/")
    assert not Support.objects.filter(token_hash__contains="made-up").exists()


def test_a_signed_in_person_supports_and_unsupports_on_the_page(client, idea, make_user):
    client.force_login(make_user("cindy"))

    client.post(f"/ideas/{idea.pk}/support/")
    client.post(f"/ideas/{idea.pk}/support/")
    assert count(idea) == 1
    assert 'id="unsupport-form"' in client.get(f"/ideas/{idea.pk}/").content.decode()

    assert client.post(f"/ideas/{idea.pk}/unsupport/").status_code == 302
    assert count(idea) == 0


def test_anonymous_people_cannot_unsupport(idea):
    browser = Client()
    browser.post(f"/ideas/{idea.pk}/support/")

    assert browser.post(f"/ideas/{idea.pk}/unsupport/").status_code == 403
    assert count(idea) == 1


def test_support_needs_post_and_csrf(idea):
    assert Client().get(f"/ideas/{idea.pk}/support/").status_code == 405
    assert Client(enforce_csrf_checks=True).post(f"/ideas/{idea.pk}/support/").status_code == 403
    assert count(idea) == 0


def test_the_rate_limit_answers_429_with_retry_after(idea, settings):
    settings.MAPIDEAS_RATE_SUPPORT = (2, 3600)
    answers = [
        Client().post(f"/ideas/{idea.pk}/support/", REMOTE_ADDR="198.51.100.4").status_code
        for _ in range(3)
    ]

    assert answers == [302, 302, 429]
    refused = Client().post(f"/ideas/{idea.pk}/support/", REMOTE_ADDR="198.51.100.4")
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert count(idea) == 2
    # Another address has its own allowance; the cache keeps no address in clear.
    assert (
        Client().post(f"/ideas/{idea.pk}/support/", REMOTE_ADDR="198.51.100.5").status_code == 302
    )
    assert "198.51.100.4" not in repr(list(getattr(cache, "_cache", {}).keys()))


def test_signed_in_people_are_not_rate_limited(client, idea, make_user, settings):
    settings.MAPIDEAS_RATE_SUPPORT = (0, 3600)
    client.force_login(make_user("cindy"))

    assert client.post(f"/ideas/{idea.pk}/support/").status_code == 302
    assert count(idea) == 1


def test_the_count_is_in_the_api_and_the_exports(idea, make_user):
    idea_support(idea=idea, user=make_user("cindy"))
    idea_support(idea=idea, token_hash="f" * 64)

    feature = Client().get("/api/ideas/").json()["features"][0]
    assert feature["properties"]["support_count"] == 2
    geojson = json.loads(b"".join(Client().get("/export/ideas.geojson").streaming_content))
    assert geojson["features"][0]["properties"]["support_count"] == 2
    raw = b"".join(Client().get("/export/ideas.csv").streaming_content).decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(raw))
    assert row["support_count"] == "2"


def test_a_duplicate_is_not_supported_its_original_is(idea, category, east_member, make_user):
    original = idea_create(kind="idea", title="Benches", category=category, location=IN_EAST)
    idea_mark_duplicate(idea=idea, original=original, actor=east_member)

    with pytest.raises(ValidationError) as caught:
        idea_support(idea=idea, user=make_user("cindy"))

    assert f"#{original.pk}" in caught.value.message_dict["support"][0]


def test_merging_moves_supports_to_the_original_one_per_person(
    idea, category, east_member, make_user
):
    original = idea_create(kind="idea", title="Benches", category=category, location=IN_EAST)
    both, only_dup, only_orig = make_user("both"), make_user("dup"), make_user("orig")
    for person in (both, only_dup):
        idea_support(idea=idea, user=person)
    for person in (both, only_orig):
        idea_support(idea=original, user=person)
    idea_support(idea=idea, token_hash="a" * 64)
    idea_support(idea=original, token_hash="a" * 64)
    idea_support(idea=idea, token_hash="b" * 64)

    idea_mark_duplicate(idea=idea, original=original, actor=east_member)

    assert count(idea) == 0
    assert count(original) == 5  # both, dup, orig, token a, token b
    assert Support.objects.filter(idea=original).count() == 5
    assert not Support.objects.filter(idea=idea).exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30/h", (30, 3600)), ("5/m", (5, 60)), ("100/d", (100, 86400)), ("3/10m", (3, 600))],
)
def test_the_rate_comes_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("MAPIDEAS_RATE_SUPPORT", raw)
    assert env_rate("MAPIDEAS_RATE_SUPPORT", "30/h") == expected


@pytest.mark.parametrize("raw", ["30", "30/x", "many/h", "-1/h", "3/0h"])
def test_a_malformed_rate_stops_start_up_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("MAPIDEAS_RATE_SUPPORT", raw)
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_RATE_SUPPORT"):
        env_rate("MAPIDEAS_RATE_SUPPORT", "30/h")


def test_deleting_an_account_takes_its_supports_off_the_count(idea, make_user):
    leaving, staying = make_user("leaving"), make_user("staying")
    idea_support(idea=idea, user=leaving)
    idea_support(idea=idea, user=staying)

    leaving.delete()

    idea.refresh_from_db()
    assert idea.support_count == 1 == Support.objects.filter(idea=idea).count()
