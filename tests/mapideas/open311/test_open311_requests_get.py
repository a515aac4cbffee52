"""GET requests.{json,xml} and requests/{id}.{json,xml}: pins as service requests, filtered
as the spec says (ids, service codes, a window of at most 90 days, open/closed), at most 1000."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mapideas.models import Category, Idea
from mapideas.open311.serializers import MAX_REQUESTS
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, IN_WEST
from tests.mapideas.open311.open311_support import errors, get, xml

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def pin(category, point=IN_EAST, *, days_ago: float = 1, status=Idea.Status.NEW, **fields):
    idea = idea_create(
        kind="issue",
        title=fields.pop("title", "A pin"),
        category=category,
        location=point,
        created_at=NOW - timedelta(days=days_ago),
        **fields,
    )
    if status != Idea.Status.NEW:
        Idea.objects.filter(pk=idea.pk).update(status=status)
    return idea


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [request["service_request_id"] for request in response.json()]


def test_a_request_carries_the_spec_fields(city, category):
    idea = pin(category, description="Swings broken", media_url="https://img.example/s.jpg")

    [request] = get("requests").json()

    assert request == {
        "service_request_id": idea.pk,
        "status": "open",
        "status_notes": "New",
        "service_name": "Parks and green space",
        "service_code": "parks-green-space",
        "description": "Swings broken",
        "agency_responsible": "East Team",
        "service_notice": "Sent to East Team for East Side.",
        "requested_datetime": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_datetime": request["updated_datetime"],
        "expected_datetime": None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": 50.005,
        "long": 4.015,
        "media_url": "https://img.example/s.jpg",
    }
    assert request["updated_datetime"].endswith("Z")


def test_the_published_schema_lists_the_fields_a_request_has_in_their_order(city, category):
    from mapideas.open311.serializers import ServiceRequestSerializer

    pin(category)

    [request] = get("requests").json()

    assert list(request) == list(ServiceRequestSerializer().fields)


def test_one_request_is_the_same_as_in_a_list_in_both_formats(city, category):
    idea = pin(category, IN_WEST, description="Bench", status=Idea.Status.DONE)
    Idea.objects.filter(pk=idea.pk).update(
        answer="Fixed.", dispute_count=1, fix_confirmed_count=3, reopened_at=NOW
    )

    [listed] = get("requests").json()
    [alone] = get(f"requests/{idea.pk}").json()

    assert alone == listed
    assert listed["status"] == "closed"
    assert listed["status_notes"].startswith("Done: Fixed. Reopened on ")
    assert listed["status_notes"].endswith(
        "1 resident said the problem is still there. 3 residents confirmed the fix."
    )
    one = xml(get(f"requests/{idea.pk}", "xml")).find("request")
    assert one.findtext("status_notes") == listed["status_notes"]
    assert one.findtext("lat") == str(listed["lat"])


def test_a_pin_in_a_gap_goes_to_the_triage_team_and_says_so(city, category):
    pin(category, IN_EMPTY_HOLE)

    [request] = get("requests").json()

    assert request["service_notice"] == f"Sent to {request['agency_responsible']}."


@pytest.mark.parametrize(
    ("status", "open311"),
    [
        (Idea.Status.NEW, "open"),
        (Idea.Status.ACKNOWLEDGED, "open"),
        (Idea.Status.UNDER_REVIEW, "open"),
        (Idea.Status.PLANNED, "open"),
        (Idea.Status.IN_PROGRESS, "open"),
        (Idea.Status.DONE, "closed"),
        (Idea.Status.DECLINED, "closed"),
        (Idea.Status.DUPLICATE, "closed"),
    ],
)
def test_our_workflow_maps_to_open_and_closed(city, category, status, open311):
    pin(category, status=status)

    [request] = get("requests").json()

    assert request["status"] == open311
    assert request["status_notes"] == Idea.Status(status).label


def test_status_notes_carry_the_teams_public_answer(city, category):
    idea = pin(category, status=Idea.Status.DECLINED)
    Idea.objects.filter(pk=idea.pk).update(answer="Private land: we passed it to the owner.")

    [request] = get(f"requests/{idea.pk}").json()

    assert request["status"] == "closed"
    assert request["status_notes"] == "Declined: Private land: we passed it to the owner."


def test_it_filters_by_status(city, category):
    new = pin(category)
    done = pin(category, status=Idea.Status.DONE)
    declined = pin(category, status=Idea.Status.DECLINED)

    assert ids(get("requests", status="open")) == [new.pk]
    assert set(ids(get("requests", status="closed"))) == {done.pk, declined.pk}
    assert len(ids(get("requests", status="open,closed"))) == 3
    # "can be declared multiple times": status=open&status=closed
    assert len(ids(get("requests", status=["open", "closed"]))) == 3


def test_it_filters_by_service_codes(city, category):
    parks = pin(category)
    lights = pin(Category.objects.get(slug="lighting-safety"))
    pin(Category.objects.get(slug="other"))

    assert ids(get("requests", service_code="parks-green-space")) == [parks.pk]
    assert set(ids(get("requests", service_code="parks-green-space,lighting-safety"))) == {
        parks.pk,
        lights.pk,
    }
    assert ids(get("requests", service_code="no-such-service")) == []


def test_ids_override_every_other_filter(city, category):
    old_done = pin(category, days_ago=400, status=Idea.Status.DONE)
    recent = pin(category, IN_WEST)
    pin(category)

    response = get(
        "requests", service_request_id=f"{old_done.pk}, {recent.pk},999999", status="open"
    )

    assert ids(response) == [recent.pk, old_done.pk]  # newest first


def test_it_shows_the_last_90_days_by_default(city, category):
    recent = pin(category, days_ago=89)
    pin(category, days_ago=91)

    assert ids(get("requests")) == [recent.pk]


def test_a_window_takes_both_ends_and_the_missing_end_is_90_days_away(city, category):
    pin(category, days_ago=250)
    a = pin(category, days_ago=200)
    b = pin(category, days_ago=150)
    pin(category, days_ago=100)
    start = (NOW - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (NOW - timedelta(days=150)).isoformat()

    assert ids(get("requests", start_date=start, end_date=end)) == [b.pk, a.pk]
    assert ids(get("requests", start_date=start)) == [b.pk, a.pk]  # +90 days: not 100 days ago
    assert ids(get("requests", end_date=end)) == [b.pk, a.pk]  # -90 days: not 250 days ago


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
        ({"start_date": "0001-01-01T00:00:00+05:00"}, "start_date"),
        ({"end_date": "9999-12-31T23:59:59-05:00"}, "end_date"),
        ({"status": "pending"}, "status"),
        ({"service_request_id": "12,abc"}, "service_request_id"),
        ({"service_request_id": "99999999999999999999999"}, "service_request_id"),
        ({"service_request_id": "-1"}, "service_request_id"),
        ({"service_code": "a\x00b"}, "service_code"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_parameter(city, params, field):
    for fmt in ("json", "xml"):
        [description] = errors(get("requests", fmt, **params), 400)
        assert description.startswith(f"{field}: "), description


@pytest.mark.parametrize(
    "params",
    [
        {"end_date": "0001-01-01T00:00:00Z"},
        {"start_date": "0001-01-01T00:00:00Z"},
        {"start_date": "9999-12-31T00:00:00Z"},
    ],
)
def test_a_window_at_the_ends_of_the_calendar_is_empty_not_an_error(city, category, params):
    pin(category)

    assert ids(get("requests", **params)) == []


def test_it_returns_at_most_1000_requests_newest_first(city, category):
    template = pin(category)
    Idea.objects.bulk_create(
        Idea(
            kind="issue",
            title=f"Pin {n}",
            category=category,
            location=template.location,
            neighborhood=template.neighborhood,
            team=template.team,
            created_at=NOW - timedelta(minutes=n + 1),
        )
        for n in range(MAX_REQUESTS + 5)
    )

    requests = get("requests").json()

    assert len(requests) == MAX_REQUESTS == 1000
    created = [r["requested_datetime"] for r in requests]
    assert created == sorted(created, reverse=True)


def test_the_list_in_the_spec_xml_shape(city, category):
    idea = pin(category, description="Café <b>&</b> ✓")

    root = xml(get("requests", "xml"))

    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request"
    assert request.findtext("service_request_id") == str(idea.pk)
    assert request.findtext("status") == "open"
    assert request.findtext("description") == "Café <b>&</b> ✓"
    assert request.findtext("agency_responsible") == "East Team"
    assert float(request.findtext("lat")) == 50.005
    assert float(request.findtext("long")) == 4.015
    assert request.find("media_url").text is None
    assert request.find("expected_datetime").text is None


def test_text_xml_cannot_carry_is_replaced_not_left_to_break_the_document(city, category):
    pin(category, description="bell \x07 rang")

    root = xml(get("requests", "xml"))

    assert root.findtext("request/description") == "bell \ufffd rang"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_is_a_list_of_one(city, category, fmt):
    idea = pin(category)

    response = get(f"requests/{idea.pk}", fmt)

    assert response.status_code == 200
    if fmt == "json":
        [request] = response.json()
        assert request["service_request_id"] == idea.pk
    else:
        root = xml(response)
        assert root.tag == "service_requests"
        assert [r.findtext("service_request_id") for r in root] == [str(idea.pk)]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("given", ["999999", "abc", "0", "99999999999999999999999", "1.5", "-3"])
def test_an_unknown_request_is_a_404_in_the_spec_format(city, fmt, given):
    [description] = errors(get(f"requests/{given}", fmt), 404)

    assert description.startswith("service_request_id: ")


def test_another_jurisdiction_is_a_404(city, category, settings):
    settings.MAPIDEAS_OPEN311_JURISDICTION = "city.example"
    idea = pin(category)

    errors(get("requests", jurisdiction_id="x.example"), 404)
    errors(get(f"requests/{idea.pk}", "xml", jurisdiction_id="x.example"), 404)
    assert ids(get("requests", jurisdiction_id="city.example")) == [idea.pk]


def test_a_list_reads_its_pins_in_one_query_whatever_their_number(city, category):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    answered = pin(category, IN_WEST, description="Bench", status=Idea.Status.DONE)
    Idea.objects.filter(pk=answered.pk).update(answer="Fixed.", dispute_count=2)
    for day in range(5):
        pin(category, days_ago=day + 1, media_url="https://img.example/a.jpg")

    with CaptureQueriesContext(connection) as queries:
        listed = get("requests").json()
    reads = [q["sql"] for q in queries.captured_queries if "mapideas_idea" in q["sql"]]

    assert len(listed) == 6
    assert len(reads) == 1, reads  # every field from the one query (serializers.REQUEST_READS)
    done = next(r for r in listed if r["service_request_id"] == answered.pk)
    assert done["status_notes"].startswith("Done: Fixed.")
    assert "2 residents said the problem is still there." in done["status_notes"]
    assert done["service_notice"] == "Sent to West Team for West Side."
