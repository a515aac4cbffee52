"""POST /api/subscriptions/: anyone subscribes an email address to area alerts; the answer is
202 and the same whether or not the address was subscribed; a wrong field is a 400 naming
it; a well-formed request counts against the client's MAPIDEAS_RATE_ALERT."""

import json

import pytest
from rest_framework.test import APIClient

from mapideas.models import AreaAlert, EmailOutbox

pytestmark = pytest.mark.django_db
URL = "/api/subscriptions/"
ADDRESS = "zq-api-alerts-5120@mail.example"
POINT_IN_WEST = {"type": "Point", "coordinates": [4.001, 50.001]}


@pytest.fixture
def api() -> APIClient:
    # Anonymous, and checking CSRF as a browser session would be: none is needed anonymously.
    return APIClient(enforce_csrf_checks=True)


def post(api: APIClient, body: dict):
    return api.post(URL, body, format="json")


def test_it_subscribes_to_a_neighborhood_and_sends_only_the_link_to_confirm(api, city):
    response = post(api, {"email": ADDRESS, "neighborhood": "east-side", "frequency": "weekly"})

    assert response.status_code == 202
    assert "link" in response.json()["detail"]
    assert ADDRESS not in response.content.decode()
    alert = AreaAlert.objects.get()
    assert (alert.email, alert.neighborhood_slug, alert.frequency) == (
        ADDRESS,
        "east-side",
        "weekly",
    )
    assert alert.confirmed_at is None
    (email,) = EmailOutbox.objects.all()
    assert email.to == ADDRESS
    assert "/alerts/confirm/" in email.body


def test_it_subscribes_around_a_point_immediately_by_default(api, city):
    response = post(api, {"email": ADDRESS, "point": POINT_IN_WEST, "radius_m": 750})

    assert response.status_code == 202
    alert = AreaAlert.objects.get()
    assert (alert.center.x, alert.center.y, alert.radius_m) == (4.001, 50.001, 750)
    assert alert.frequency == "immediate"
    assert alert.neighborhood_slug == ""


def test_the_same_subscription_is_not_made_twice_and_the_answer_says_nothing(api, city):
    body = {"email": ADDRESS, "neighborhood": "east-side", "frequency": "immediate"}
    first = post(api, body)
    second = post(api, body)

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert AreaAlert.objects.count() == 1
    assert EmailOutbox.objects.count() == 1  # a new link at most once a day


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"neighborhood": "east-side"}, {"email"}),
        ({"email": "not-an-address", "neighborhood": "east-side"}, {"email"}),
        ({"email": ADDRESS}, {"neighborhood", "point"}),
        (
            {"email": ADDRESS, "neighborhood": "east-side", "point": POINT_IN_WEST, "radius_m": 9},
            {"radius_m"},
        ),
        (
            {"email": ADDRESS, "neighborhood": "east-side", "point": POINT_IN_WEST, "radius_m": 99},
            {"neighborhood", "point"},
        ),
        ({"email": ADDRESS, "neighborhood": "atlantis"}, {"neighborhood"}),
        ({"email": ADDRESS, "neighborhood": "no such\x00slug"}, {"neighborhood"}),
        ({"email": ADDRESS, "neighborhood": ""}, {"neighborhood"}),
        ({"email": ADDRESS, "neighborhood": "east-side", "radius_m": 100}, {"radius_m"}),
        ({"email": ADDRESS, "point": POINT_IN_WEST}, {"radius_m"}),
        ({"email": ADDRESS, "point": POINT_IN_WEST, "radius_m": 49}, {"radius_m"}),
        ({"email": ADDRESS, "point": POINT_IN_WEST, "radius_m": 5001}, {"radius_m"}),
        ({"email": ADDRESS, "point": POINT_IN_WEST, "radius_m": 10.5}, {"radius_m"}),
        ({"email": ADDRESS, "point": POINT_IN_WEST, "radius_m": "far"}, {"radius_m"}),
        (
            {
                "email": ADDRESS,
                "point": {"type": "Point", "coordinates": [4.040, 50.005]},
                "radius_m": 100,
            },
            {"point"},
        ),
        (
            {
                "email": ADDRESS,
                "point": {"type": "Point", "coordinates": [190, 50]},
                "radius_m": 100,
            },
            {"point"},
        ),
        (
            {"email": ADDRESS, "point": {"type": "Point", "coordinates": [4, 95]}, "radius_m": 100},
            {"point"},
        ),
        (
            {
                "email": ADDRESS,
                "point": {"type": "LineString", "coordinates": [[4.0, 50.0], [4.001, 50.001]]},
                "radius_m": 100,
            },
            {"point"},
        ),
        ({"email": ADDRESS, "point": "nowhere", "radius_m": 100}, {"point"}),
        # An empty point has no place (it was a 500: its x was read).
        ({"email": ADDRESS, "point": "POINT EMPTY", "radius_m": 100}, {"point"}),
        (
            {"email": ADDRESS, "point": {"type": "Point", "coordinates": []}, "radius_m": 100},
            {"point"},
        ),
        ({"email": ADDRESS, "neighborhood": "east-side", "frequency": "hourly"}, {"frequency"}),
    ],
)
def test_a_wrong_request_is_a_400_naming_the_field(api, city, body, fields):
    response = post(api, body)

    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert not AreaAlert.objects.exists()
    assert not EmailOutbox.objects.exists()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_coordinates_are_refused(api, city, number):
    body = (
        f'{{"email": "{ADDRESS}", "radius_m": 100, '
        f'"point": {{"type": "Point", "coordinates": [{number}, 50.0]}}}}'
    )
    response = api.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert not AreaAlert.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(api, city):
    response = api.post(URL, json.dumps(["email"]), content_type="application/json")
    assert response.status_code == 400


def test_well_formed_requests_are_rate_limited_per_client(api, city, settings):
    settings.MAPIDEAS_RATE_ALERT = (2, 3600)
    for number in range(2):
        body = {"email": f"zq-{number}-{ADDRESS}", "neighborhood": "east-side"}
        assert post(api, body).status_code == 202

    response = post(api, {"email": ADDRESS, "neighborhood": "east-side"})

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert AreaAlert.objects.count() == 2
    # Another client has its own allowance.
    other = APIClient(REMOTE_ADDR="192.0.2.44")
    assert post(other, {"email": ADDRESS, "neighborhood": "east-side"}).status_code == 202


def test_a_signed_in_session_needs_its_csrf_token(api, city, make_user):
    api.force_login(make_user("zq-api-5120"))
    response = post(api, {"email": ADDRESS, "neighborhood": "east-side"})
    assert response.status_code == 403
    assert not AreaAlert.objects.exists()


def test_the_schema_documents_the_endpoint(client, city):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/subscriptions/"]["post"]
    assert set(operation["responses"]) >= {"202", "400", "429"}
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    properties = schema["components"]["schemas"][request.rsplit("/", 1)[1]]["properties"]
    assert set(properties) == {"email", "neighborhood", "point", "radius_m", "frequency"}
