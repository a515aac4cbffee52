"""The rate limits' two ways in, for pages (`@rate_limited`, `too_many`) and for the API
(RateLimitThrottle, `throttle`), count in the one store (ratelimit.hit_identity): a page and
the API given the same RateLimit share one allowance, and each answers its own 429."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from mapideas.plumbing import ratelimit
from mapideas.plumbing.throttling import RateLimitThrottle, throttle

# The counters are a table in the database (mapideas.plumbing.rate_counters).
pytestmark = pytest.mark.django_db

LIMIT = ratelimit.RateLimit("test-bucket", "TEST_RATE")
ADDRESS = "203.0.113.77"


@pytest.fixture(autouse=True)
def two_an_hour(settings):
    settings.TEST_RATE = (2, 3600)
    settings.MAPIDEAS_RATE_LIMITS = True


@pytest.fixture
def counted(monkeypatch) -> list:
    """Every count, as (identity, bucket): all go through ratelimit.hit_identity."""
    real = ratelimit.hit_identity
    calls: list = []

    def spy(identity, bucket, rate):
        calls.append((identity, bucket))
        return real(identity, bucket, rate)

    monkeypatch.setattr(ratelimit, "hit_identity", spy)
    return calls


ran: list = []


@ratelimit.rate_limited(LIMIT)
def page(request):
    ran.append(request.method)
    return HttpResponse("ok")


class Limited(APIView):
    authentication_classes = ()
    throttle_classes = [RateLimitThrottle]
    rate_limits = (LIMIT,)

    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"written": True}, status=201)


def test_the_decorator_counts_posts_and_answers_the_pages_429(counted):
    ran.clear()
    rf = RequestFactory()

    answers = [page(rf.post("/", REMOTE_ADDR=ADDRESS)) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused["Content-Type"] == "text/plain; charset=utf-8"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert ran == ["POST", "POST"]  # beyond the limit the view does not run
    assert [bucket for _, bucket in counted] == ["test-bucket"] * 3


def test_the_decorator_never_counts_the_page_itself(counted):
    rf = RequestFactory()

    assert {page(rf.get("/", REMOTE_ADDR=ADDRESS)).status_code for _ in range(4)} == {200}
    assert counted == []


def test_the_decorator_counts_every_limit_and_answers_the_longest_wait(
    settings, counted, monkeypatch
):
    settings.OTHER_RATE = (1, 60)
    other = ratelimit.RateLimit("other-bucket", "OTHER_RATE")
    # 1770 s into an hour's window, 30 s into a minute's: 1830 s and 30 s left.
    monkeypatch.setattr(ratelimit, "now", lambda: 3600 * 500_000 + 1770)

    @ratelimit.rate_limited(LIMIT, other)
    def both(request):
        return HttpResponse("ok")

    rf = RequestFactory()
    answers = [both(rf.post("/", REMOTE_ADDR=ADDRESS)) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 429, 429]
    # Both limits count every attempt, even one the other already refuses.
    assert sorted(bucket for _, bucket in counted) == ["other-bucket"] * 3 + ["test-bucket"] * 3
    assert answers[1]["Retry-After"] == "30"  # beyond the minute's only
    assert answers[2]["Retry-After"] == "1830"  # beyond both: the later window


def test_a_limit_whose_identity_is_none_does_not_count(counted):
    rf = RequestFactory()
    request = rf.post("/", {"username": "  "}, REMOTE_ADDR=ADDRESS)

    assert ratelimit.count(request, ratelimit.LOGIN_ACCOUNT) is None
    assert counted == []
    # A signed-in supporter is not counted either (only anonymous supports are).
    signed_in = rf.post("/")
    signed_in.user = type("SignedIn", (), {"is_authenticated": True, "pk": 1})()
    anonymous = rf.post("/")
    anonymous.user = AnonymousUser()
    ratelimit.count(signed_in, ratelimit.SUPPORT)
    ratelimit.count(anonymous, ratelimit.SUPPORT)
    assert [bucket for _, bucket in counted] == ["support"]


def test_too_many_counts_where_the_page_asks(counted):
    rf = RequestFactory()

    answers = [ratelimit.too_many(rf.post("/", REMOTE_ADDR=ADDRESS), LIMIT) for _ in range(3)]

    assert answers[:2] == [None, None]
    assert answers[2].status_code == 429 and int(answers[2]["Retry-After"]) > 0


def test_the_throttle_counts_the_views_writes_and_answers_drfs_429(counted):
    api = APIRequestFactory()
    view = Limited.as_view()

    reads = [view(api.get("/", REMOTE_ADDR=ADDRESS)).status_code for _ in range(3)]
    writes = [view(api.post("/", {}, format="json", REMOTE_ADDR=ADDRESS)) for _ in range(3)]

    assert reads == [200, 200, 200]
    assert [w.status_code for w in writes] == [201, 201, 429]
    refused = writes[2]
    refused.render()
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert refused.data["detail"].startswith("Request was throttled.")
    assert [bucket for _, bucket in counted] == ["test-bucket"] * 3


def test_a_page_and_the_api_with_one_limit_share_one_allowance():
    rf, api = RequestFactory(), APIRequestFactory()

    assert page(rf.post("/", REMOTE_ADDR=ADDRESS)).status_code == 200
    assert (
        Limited.as_view()(api.post("/", {}, format="json", REMOTE_ADDR=ADDRESS)).status_code == 201
    )
    assert page(rf.post("/", REMOTE_ADDR=ADDRESS)).status_code == 429
    # Another address has its own.
    assert page(rf.post("/", REMOTE_ADDR="203.0.113.78")).status_code == 200


def test_throttle_counts_where_the_view_asks():
    request = APIRequestFactory().post("/", REMOTE_ADDR=ADDRESS)
    request.user = AnonymousUser()
    throttle(request, LIMIT)
    throttle(request, LIMIT)

    with pytest.raises(Throttled) as refused:
        throttle(request, LIMIT)
    assert refused.value.wait and 0 < refused.value.wait <= 3600


def test_rate_limits_off_count_nothing(settings):
    settings.MAPIDEAS_RATE_LIMITS = False
    rf = RequestFactory()

    assert {page(rf.post("/", REMOTE_ADDR=ADDRESS)).status_code for _ in range(4)} == {200}
