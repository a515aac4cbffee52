"""The staff's back-office pages: site staff set up a back office (its key never shown again,
a private address refused next to its field), read its services from a real GeoReport v2
server and map the categories to them; a team's members see the team's forwards that need
someone and say what they did on the back office; the pin's page tells its team where the
pin went, never the public; planners export the request numbers with no personal data."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mapideas.backoffice import services as backoffice
from mapideas.backoffice.forms import attribute_field
from mapideas.models import AuditEvent, BackofficeEndpoint, BackofficeForward, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST
from tests.mapideas.backoffice.services_stub import ServicesStub

pytestmark = pytest.mark.django_db

State = BackofficeForward.State
KEY = "k3y-of-the-works-orders-0123456789"


@pytest.fixture
def stub(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    running = ServicesStub()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def staff(make_user):
    user = make_user("sam")
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def settings_form(base_url: str, **more) -> dict:
    return {
        "team": "east-team",
        "category": "",
        "name": "Works orders",
        "base_url": base_url,
        "jurisdiction_id": "city.example",
        "api_key": KEY,
        "api_key_env": "",
        "searchable": "on",
        "listing_delay": "600",
        **more,
    }


# --- site staff set up a back office --------------------------------------------------------------


def test_staff_add_a_back_office_whose_key_is_never_shown_again(staff_client, city, stub):
    response = staff_client.post("/staff/backoffice/", settings_form(stub.url))

    endpoint = BackofficeEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/backoffice/{endpoint.pk}/"
    assert (endpoint.team, endpoint.category, endpoint.name) == (
        city.east_team,
        None,
        "Works orders",
    )
    assert endpoint.api_key_encrypted and KEY not in endpoint.api_key_encrypted
    assert backoffice.api_key(endpoint) == KEY
    page = staff_client.get(f"/staff/backoffice/{endpoint.pk}/").content.decode()
    assert "A key is stored" in page
    assert KEY not in page
    listing = staff_client.get("/staff/backoffice/").content.decode()
    assert "Works orders" in listing and "East Team" in listing and KEY not in listing
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BACKOFFICE).count() == 1


def test_an_empty_key_keeps_the_key_stored_and_a_variable_replaces_it(staff_client, city, stub):
    endpoint = backoffice.endpoint_create(
        team=city.east_team, name="Works orders", base_url=stub.url, api_key_value=KEY
    )
    form = settings_form(stub.url, api_key="", name="Works orders (new)", active="on")
    del form["team"], form["category"]

    assert staff_client.post(f"/staff/backoffice/{endpoint.pk}/", form).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, backoffice.api_key(endpoint)) == ("Works orders (new)", KEY)

    form["api_key_env"] = "WORKS_ORDERS_KEY"
    staff_client.post(f"/staff/backoffice/{endpoint.pk}/", form)
    endpoint.refresh_from_db()
    assert (endpoint.api_key_env, endpoint.api_key_encrypted) == ("WORKS_ORDERS_KEY", "")
    page = staff_client.get(f"/staff/backoffice/{endpoint.pk}/").content.decode()
    assert "environment variable WORKS_ORDERS_KEY" in page


def test_a_private_address_is_refused_next_to_the_url(staff_client, city):
    response = staff_client.post("/staff/backoffice/", settings_form("http://127.0.0.1:9/"))

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="backoffice_base_url_error"' in page
    assert "loopback" in page
    assert not BackofficeEndpoint.objects.exists()


def test_a_team_has_one_back_office_for_its_pins(staff_client, city, stub):
    staff_client.post("/staff/backoffice/", settings_form(stub.url))

    response = staff_client.post("/staff/backoffice/", settings_form(stub.url, name="Again"))

    assert response.status_code == 400
    assert 'id="backoffice_category_error"' in response.content.decode()
    assert BackofficeEndpoint.objects.count() == 1


def test_read_the_services_then_map_the_categories(staff_client, city, category, stub):
    endpoint = backoffice.endpoint_create(team=city.east_team, name="Works", base_url=stub.url)

    response = staff_client.post(f"/staff/backoffice/{endpoint.pk}/services/")

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert [s["service_code"] for s in endpoint.services] == ["POT", "TREE"]
    page = staff_client.get(response["Location"]).content.decode()
    assert "Fallen tree (TREE)" in page
    assert f'name="service_{category.slug}"' in page

    # A service whose definition requires a value: asked for, next to its field.
    crew = attribute_field("TREE", "crew")
    mapping = {f"service_{category.slug}": "TREE", "status_open": "", "status_closed": "done"}
    response = staff_client.post(f"/staff/backoffice/{endpoint.pk}/mapping/", mapping)
    assert response.status_code == 400
    assert f'id="mapping_{crew}_error"' in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.service_codes == {}

    mapping |= {
        crew: "North crew",
        "other_status_1": "In_Progress",
        "other_pin_status_1": "in_progress",
    }
    response = staff_client.post(f"/staff/backoffice/{endpoint.pk}/mapping/", mapping)
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.service_codes == {category.slug: "TREE"}
    assert endpoint.attribute_values == {"TREE": {"crew": "North crew"}}
    assert endpoint.status_map == {"closed": "done", "in_progress": "in_progress"}
    # The form comes back as saved.
    page = staff_client.get(f"/staff/backoffice/{endpoint.pk}/").content.decode()
    assert 'value="North crew"' in page and 'value="in_progress"' in page


def test_an_unknown_service_is_refused_next_to_its_category(staff_client, city, category, stub):
    endpoint = backoffice.endpoint_create(team=city.east_team, name="Works", base_url=stub.url)
    backoffice.services_read(endpoint)

    response = staff_client.post(
        f"/staff/backoffice/{endpoint.pk}/mapping/",
        {f"service_{category.slug}": "NOPE", "status_closed": "done"},
    )

    assert response.status_code == 400
    assert f'id="mapping_service_{category.slug}_error"' in response.content.decode()


def test_a_back_office_that_fails_says_what_it_answered(staff_client, city, stub):
    endpoint = backoffice.endpoint_create(team=city.east_team, name="Works", base_url=stub.url)
    stub.failing = True

    response = staff_client.post(f"/staff/backoffice/{endpoint.pk}/services/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="services-error"' in page
    assert "HTTP 500: Down for maintenance until 18:00" in page
    endpoint.refresh_from_db()
    assert endpoint.services == [] and endpoint.services_read_at is None


def test_a_key_that_cannot_be_had_is_said_without_calling(staff_client, city, stub, monkeypatch):
    monkeypatch.delenv("WORKS_ORDERS_KEY", raising=False)
    endpoint = backoffice.endpoint_create(
        team=city.east_team, name="Works", base_url=stub.url, api_key_env="WORKS_ORDERS_KEY"
    )

    response = staff_client.post(f"/staff/backoffice/{endpoint.pk}/services/")

    assert "the environment variable WORKS_ORDERS_KEY is not set" in response.content.decode()
    assert stub.paths == []


def test_only_site_staff_set_up_back_offices(client, city, planner, east_member):
    for person in (planner, east_member):
        client.force_login(person)
        assert client.get("/staff/backoffice/").status_code == 403
        response = client.post("/staff/backoffice/", settings_form("https://8.8.8.8/"))
        assert response.status_code == 403
    assert not BackofficeEndpoint.objects.exists()


def test_an_unknown_back_office_is_a_404(staff_client, city):
    assert staff_client.get("/staff/backoffice/999/").status_code == 404
    assert staff_client.post("/staff/backoffice/999/services/").status_code == 404
    assert staff_client.post("/staff/backoffice/999/mapping/").status_code == 404


# --- a team's forwards that need someone ----------------------------------------------------------


def make_pin(category, title: str, **more) -> Idea:
    return idea_create(kind="issue", title=title, category=category, location=IN_EAST, **more)


@pytest.fixture
def forwards(city, category) -> dict[str, BackofficeForward]:
    """East Team's back office (a documentation address: never called here) with a forward
    in each state a person has to look at, and one that needs nobody."""
    pins = {
        name: make_pin(category, f"Pin {name}")
        for name in ("held", "failing", "pending", "left", "erasure", "fine")
    }
    endpoint = BackofficeEndpoint.objects.create(
        team=city.east_team, name="City works orders", base_url="https://192.0.2.1/open311/"
    )
    now = timezone.now()
    rows: dict[str, dict] = {
        "held": {
            "state": State.HELD,
            "posted_at": now,
            "held_reason": "It may have reached the back office, which cannot be searched: "
            "check there.",
        },
        "failing": {
            "state": State.QUEUED,
            "failing_since": now - timedelta(hours=2),
            "last_error": "HTTP 400: unknown service",
            "attempts": 3,
        },
        "pending": {"state": State.QUEUED},
        "left": {"state": State.LEFT, "remote_id": "WO-7", "left_at": now},
        "erasure": {
            "state": State.FORWARDED,
            "remote_id": "WO-9",
            "sent_contact": True,
            "erasure_requested_at": now,
        },
        "fine": {"state": State.FORWARDED, "remote_id": "WO-10", "last_exchange_at": now},
    }
    return {
        name: BackofficeForward.objects.create(endpoint=endpoint, idea=pins[name], **fields)
        for name, fields in rows.items()
    }


def test_the_team_sees_its_forwards_that_need_someone(client, east_member, forwards):
    client.force_login(east_member)

    response = client.get("/staff/backoffice/teams/east-team/")

    assert response.status_code == 200
    page = response.content.decode()
    for why in ("held", "failing", "pending", "left", "erasure"):
        assert f'id="forward-{why}-{forwards[why].pk}"' in page, why
    assert f'-{forwards["fine"].pk}"' not in page
    assert "HTTP 400: unknown service" in page
    assert "which cannot be searched" in page
    assert page.count("Try again") == 3  # failing, held, waiting
    assert "Closed it there" in page and "Erased it there" in page
    # The list of teams, and the back offices' counts for staff.
    teams = client.get("/staff/backoffice/teams/").content.decode()
    assert "East Team" in teams and "5 forwards need someone" in teams


def test_planners_read_the_list_and_other_teams_do_not(client, planner, west_member, forwards):
    client.force_login(planner)
    page = client.get("/staff/backoffice/teams/east-team/").content.decode()
    assert "Pin held" in page and "Try again" not in page

    client.force_login(west_member)
    assert client.get("/staff/backoffice/teams/east-team/").status_code == 403
    teams = client.get("/staff/backoffice/teams/").content.decode()
    assert "East Team" not in teams


def test_staff_see_the_counts_of_each_back_office(staff_client, forwards):
    page = staff_client.get("/staff/backoffice/").content.decode()

    for said in (
        "1 waiting to be sent",
        "1 failing",
        "1 held for staff to check",
        "1 left behind, to close there",
        "1 contact to erase there",
    ):
        assert said in page, said


def test_try_again_sends_a_held_pin_again(client, east_member, forwards):
    client.force_login(east_member)
    held = forwards["held"]

    response = client.post(f"/staff/backoffice/forwards/{held.pk}/retry/")

    assert response.status_code == 302
    assert response["Location"] == "/staff/backoffice/teams/east-team/"
    held.refresh_from_db()
    assert (held.state, held.held_reason) == (State.QUEUED, "")


def test_found_it_records_the_request_number(client, east_member, forwards):
    client.force_login(east_member)
    held = forwards["held"]

    response = client.post(f"/staff/backoffice/forwards/{held.pk}/found/", {"remote_id": "WO-42"})

    assert response.status_code == 302
    held.refresh_from_db()
    assert (held.state, held.remote_id) == (State.FORWARDED, "WO-42")
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKOFFICE)
    assert (event.idea_number, event.actor) == (held.idea_id, east_member)


def test_found_it_without_a_number_says_so_next_to_the_field(client, east_member, forwards):
    client.force_login(east_member)
    held = forwards["held"]

    response = client.post(f"/staff/backoffice/forwards/{held.pk}/found/", {"remote_id": " "})

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="found_remote_id_{held.pk}_error"' in page
    field = re.search(rf'<input[^>]*id="found_remote_id_{held.pk}"[^>]*>', page).group()
    assert 'aria-invalid="true"' in field and f"found_remote_id_{held.pk}_error" in field
    held.refresh_from_db()
    assert held.state == State.HELD


def test_a_number_for_a_pin_already_forwarded_is_refused(client, east_member, forwards):
    client.force_login(east_member)
    fine = forwards["fine"]

    response = client.post(f"/staff/backoffice/forwards/{fine.pk}/found/", {"remote_id": "X"})

    assert response.status_code == 302
    fine.refresh_from_db()
    assert fine.remote_id == "WO-10"
    assert "already known" in client.get(response["Location"]).content.decode()


def test_closed_it_there_and_erased_it_there_take_them_off_the_list(client, east_member, forwards):
    client.force_login(east_member)
    left, erasure = forwards["left"], forwards["erasure"]

    assert client.post(f"/staff/backoffice/forwards/{left.pk}/closed-there/").status_code == 302
    assert client.post(f"/staff/backoffice/forwards/{erasure.pk}/erased-there/").status_code == 302

    left.refresh_from_db()
    erasure.refresh_from_db()
    assert left.left_closed_at is not None and erasure.erasure_done_at is not None
    page = client.get("/staff/backoffice/teams/east-team/").content.decode()
    assert f'-{left.pk}"' not in page and f'-{erasure.pk}"' not in page


def test_only_the_back_offices_team_and_staff_act(client, west_member, planner, staff, forwards):
    held = forwards["held"]
    for person in (west_member, planner):
        client.force_login(person)
        response = client.post(f"/staff/backoffice/forwards/{held.pk}/retry/")
        assert response.status_code == 403
    held.refresh_from_db()
    assert held.state == State.HELD

    client.force_login(staff)
    assert client.post("/staff/backoffice/forwards/99999/retry/").status_code == 404
    assert client.get(f"/staff/backoffice/forwards/{held.pk}/retry/").status_code == 405
    assert client.post(f"/staff/backoffice/forwards/{held.pk}/retry/").status_code == 302


def test_people_in_no_team_see_no_forwards(client, make_user, forwards):
    client.force_login(make_user("cindy"))

    assert client.get("/staff/backoffice/teams/").status_code == 403
    assert client.get("/staff/backoffice/teams/east-team/").status_code == 403


# --- the pin's page, and the export -------------------------------------------------------------


def test_the_pin_page_tells_its_team_where_it_went_and_not_the_public(
    client, east_member, forwards
):
    failing = forwards["failing"]
    url = f"/ideas/{failing.idea_id}/"

    public = client.get(url).content.decode()
    client.force_login(east_member)
    team = client.get(url).content.decode()

    assert 'id="backoffice-forwards"' in team
    assert "City works orders" in team and "HTTP 400: unknown service" in team
    for said in ('id="backoffice-forwards"', "City works orders", "HTTP 400"):
        assert said not in public


def test_the_pin_page_shows_the_request_number_there(client, east_member, forwards):
    client.force_login(east_member)

    page = client.get(f"/ideas/{forwards['fine'].idea_id}/").content.decode()

    assert "request WO-10" in page and "Last exchange:" in page


def test_planners_export_the_request_numbers_without_personal_data(
    client, planner, east_member, forwards, settings
):
    settings.MAPIDEAS_SITE_URL = "https://ideas.city.example"
    Idea.objects.filter(pk=forwards["fine"].idea_id).update(
        contact_email="ann@mail.example", contact_name="Ann Example"
    )
    BackofficeForward.objects.filter(pk=forwards["fine"].pk).update(
        remote_id='=HYPERLINK("http://evil.example")',
        last_error="HTTP 400: ann@mail.example is not a valid email",
    )
    client.force_login(east_member)
    assert client.get("/staff/backoffice/forwards.csv").status_code == 403

    client.force_login(planner)
    response = client.get("/staff/backoffice/forwards.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    assert "ann@mail.example" not in text and "Ann Example" not in text
    rows = {row["pin"]: row for row in csv.DictReader(io.StringIO(text))}
    fine = rows[str(forwards["fine"].idea_id)]
    assert fine["pin_url"] == f"https://ideas.city.example/ideas/{forwards['fine'].idea_id}/"
    assert (fine["team"], fine["back_office"], fine["state"]) == (
        "east-team",
        "City works orders",
        "forwarded",
    )
    assert fine["remote_id"] == '\'=HYPERLINK("http://evil.example")'
    assert fine["last_error"] == "HTTP 400: [email] is not a valid email"
    assert fine["last_exchange"]
    assert len(rows) == len(forwards)


def test_citizens_and_anonymous_cannot_export(client, make_user, forwards):
    assert client.get("/staff/backoffice/forwards.csv").status_code == 302  # to the login
    client.force_login(make_user("cindy"))
    assert client.get("/staff/backoffice/forwards.csv").status_code == 403
    admin = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(admin)
    assert client.get("/staff/backoffice/forwards.csv").status_code == 200
