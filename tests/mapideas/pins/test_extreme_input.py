"""The pins' date filters, as every reader of them takes them (the ideas API, the viewport,
the exports, the OGC items, the engagement layers): a day that is no day is a 400 naming the
parameter the client sent, `created_after` or `created_before`, and the calendar's first and
last days answer."""

import pytest
from django.test import Client

from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

READERS = [
    "/api/ideas/",
    "/api/ideas/viewport/?bbox=3.9,49.9,4.1,50.1&zoom=14",
    "/export/ideas.geojson",
    "/export/ideas.csv",
]
NOT_DAYS = ["10000-01-01", "2015-02-30", "-1", "0000-00-00", "99999999-12-31"]


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.mark.parametrize("url", READERS)
@pytest.mark.parametrize("parameter", ["created_after", "created_before"])
@pytest.mark.parametrize("day", NOT_DAYS)
def test_a_day_that_is_no_day_is_refused_naming_the_parameter_sent(city, url, parameter, day):
    response = Client().get(with_query(url, f"{parameter}={day}"))

    assert response.status_code == 400, response.content
    errors = response.json()
    assert parameter in errors, errors
    assert "created" not in errors, errors


@pytest.mark.parametrize("url", READERS)
def test_both_bad_days_are_named_each(city, url):
    response = Client().get(with_query(url, "created_after=2015-02-30&created_before=junk"))

    assert response.status_code == 400
    assert {"created_after", "created_before"} <= set(response.json())


@pytest.mark.parametrize("url", READERS)
@pytest.mark.parametrize(
    "query",
    [
        "created_after=0001-01-01",
        "created_before=0001-01-01",
        "created_after=9999-12-31",
        "created_before=9999-12-31",
        "created_after=0001-01-01&created_before=9999-12-31",
    ],
)
def test_the_calendars_first_and_last_days_answer(city, category, url, query):
    idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)

    response = Client().get(with_query(url, query))

    assert response.status_code == 200, response.content


def test_the_whole_calendar_holds_every_pin_and_its_last_day_none_before(city, category):
    idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)

    every = Client().get("/api/ideas/?created_after=0001-01-01&created_before=9999-12-31")
    after_the_last_day = Client().get("/api/ideas/?created_after=9999-12-31")

    assert every.json()["count"] == 1
    assert after_the_last_day.json()["count"] == 0
