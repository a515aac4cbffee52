"""Staff single sign-on, without a provider: the groups claim made into teams and the planner
role (services.single_sign_on_account), local passwords off for staff (backends), the
bounded lifetime of staff sessions (middleware), and the pages while it is not configured.
The whole sign-in against a real provider: tests/browser/test_single_sign_on.py."""

import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import Client

from mapideas.accounts.middleware import SIGNED_IN_AT
from mapideas.accounts.selectors import single_sign_on_username
from mapideas.accounts.services import single_sign_on_account, staff_roles_of
from mapideas.accounts.single_sign_on import groups_of
from neighborhoods.roles import is_planner, planners_group

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"


@pytest.fixture
def sso(settings):
    settings.MAPIDEAS_OIDC_TEAM_PREFIX = "mapideas-team-"
    settings.MAPIDEAS_OIDC_PLANNER_GROUP = "mapideas-planners"
    return settings


def test_it_names_teams_by_prefix_and_slug_and_the_planner_group(sso):
    roles = staff_roles_of(["mapideas-team-east-team", "mapideas-planners", "payroll", "x"])
    assert roles.team_slugs == ("east-team",)
    assert roles.planner is True
    assert staff_roles_of(["mapideas-team-", "east-team"]).team_slugs == ()
    sso.MAPIDEAS_OIDC_TEAM_PREFIX = ""
    assert staff_roles_of(["east-team"]).team_slugs == ("east-team",)
    sso.MAPIDEAS_OIDC_PLANNER_GROUP = ""
    assert staff_roles_of(["mapideas-planners"]).planner is None


def test_it_reads_a_groups_claim_that_is_a_list_or_one_name():
    assert groups_of(["a", 3, "b"]) == ["a", "b"]
    assert groups_of("a") == ["a"]
    assert groups_of(None) == []
    assert groups_of({"a": 1}) == []


def test_it_makes_the_account_a_member_of_exactly_the_teams_named(sso, city):
    user = single_sign_on_account(
        sub="abc-123",
        groups=["mapideas-team-east-team", "mapideas-team-no-such-team"],
        email="e.staff@city.example",
        first_name="Eva",
    )
    assert user.username == single_sign_on_username("abc-123")
    assert "@" not in user.username and "abc" not in user.username
    assert not user.has_usable_password()
    assert list(user.teams.all()) == [city.east_team]
    assert not is_planner(user)

    # A team staff added by hand is not named by the provider: the next sign-in ends it.
    city.harbor_team.members.add(user)
    again = single_sign_on_account(
        sub="abc-123", groups=["mapideas-team-west-team", "mapideas-planners"]
    )
    assert again.pk == user.pk
    assert list(again.teams.all()) == [city.west_team]
    assert is_planner(again)

    last = single_sign_on_account(sub="abc-123", groups=[])
    assert last.pk == user.pk
    assert list(last.teams.all()) == []
    assert not is_planner(last)
    assert get_user_model().objects.filter(username__startswith="oidc-").count() == 1


def test_it_leaves_the_planner_role_alone_without_a_planner_group(sso, city, make_user):
    sso.MAPIDEAS_OIDC_PLANNER_GROUP = ""
    user = single_sign_on_account(sub="p-1", groups=[])
    user.groups.add(planners_group())
    assert is_planner(single_sign_on_account(sub="p-1", groups=["mapideas-planners"]))


def test_it_finds_the_account_by_sub_never_by_email(sso, city, make_user):
    local = make_user("eddie", teams=[city.east_team])
    local.email = "same@city.example"
    local.save()
    user = single_sign_on_account(sub="s-9", groups=[], email="same@city.example")
    assert user.pk != local.pk
    assert list(local.teams.all()) == [city.east_team]


def test_staff_passwords_off_refuses_staff_and_keeps_citizens(settings, city, make_user):
    citizen = make_user("carla", password=PASSWORD)
    member = make_user("eddie", teams=[city.east_team], password=PASSWORD)
    planner = make_user("paula", planner=True, password=PASSWORD)
    admin = make_user("ada", password=PASSWORD)
    admin.is_staff = True
    admin.save()
    for user in (citizen, member, planner, admin):
        assert authenticate(username=user.username, password=PASSWORD) == user

    settings.MAPIDEAS_STAFF_PASSWORDS = False
    assert authenticate(username="carla", password=PASSWORD) == citizen
    for user in (member, planner, admin):
        assert authenticate(username=user.username, password=PASSWORD) is None

    # Through the login page too: the form says the usual "not correct", nothing more.
    response = Client().post("/accounts/login/", {"username": "eddie", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session
    response = Client().post("/accounts/login/", {"username": "carla", "password": PASSWORD})
    assert response.status_code == 302


def test_a_staff_session_opened_with_a_password_ends_when_passwords_go_off(
    settings, city, make_user
):
    member = make_user("eddie", teams=[city.east_team], password=PASSWORD)
    client = Client()
    assert client.login(username="eddie", password=PASSWORD)
    assert client.get(f"/teams/{city.east_team.slug}/").status_code == 200
    settings.MAPIDEAS_STAFF_PASSWORDS = False
    response = client.get(f"/teams/{city.east_team.slug}/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")
    assert member.is_active


def _age_session(client: Client, seconds: float) -> None:
    session = client.session
    session[SIGNED_IN_AT] = time.time() - seconds
    session.save()


def test_a_staff_session_ends_after_its_lifetime_a_citizens_does_not(settings, city, make_user):
    settings.MAPIDEAS_OIDC_STAFF_SESSION_SECONDS = 60
    make_user("eddie", teams=[city.east_team], password=PASSWORD)
    make_user("carla", password=PASSWORD)
    staff, citizen = Client(), Client()
    assert staff.post("/accounts/login/", {"username": "eddie", "password": PASSWORD}).status_code
    assert citizen.post("/accounts/login/", {"username": "carla", "password": PASSWORD})
    assert isinstance(staff.session[SIGNED_IN_AT], float)
    team_page = f"/teams/{city.east_team.slug}/"
    assert staff.get(team_page).status_code == 200

    _age_session(staff, 59)
    assert staff.get(team_page).status_code == 200
    _age_session(staff, 61)
    response = staff.get(team_page)
    assert response.status_code == 302
    assert "_auth_user_id" not in staff.session

    _age_session(citizen, 10 * 24 * 3600)
    assert citizen.get("/accounts/delete/").status_code == 200


def test_a_session_without_a_sign_in_time_counts_from_its_first_request(city, make_user):
    member = make_user("eddie", teams=[city.east_team])
    client = Client()
    client.force_login(member)  # as the admin's login page does: no sign-in time
    assert SIGNED_IN_AT not in client.session
    assert client.get(f"/teams/{city.east_team.slug}/").status_code == 200
    assert time.time() - client.session[SIGNED_IN_AT] < 60


def test_no_session_cookie_no_session_read():
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies


def test_single_sign_on_pages_are_404_and_the_button_absent_until_configured(settings):
    assert settings.MAPIDEAS_OIDC_ENABLED is False
    client = Client()
    assert client.get("/accounts/oidc/login/").status_code == 404
    assert client.get("/accounts/oidc/callback/?code=x&state=y").status_code == 404
    assert b"/accounts/oidc/login/" not in client.get("/accounts/login/").content


def test_the_login_page_offers_the_provider_when_configured(settings):
    settings.MAPIDEAS_OIDC_ENABLED = True
    settings.MAPIDEAS_OIDC_NAME = "CityID"
    page = Client().get("/accounts/login/?next=/teams/").content.decode()
    assert 'href="/accounts/oidc/login/?next=/teams/"' in page
    assert "Sign in with CityID" in page


def test_a_provider_that_cannot_be_reached_sends_back_to_the_login_page(settings):
    # Discovery of a provider on a private address, not allowed: refused before any call.
    settings.MAPIDEAS_OIDC_ENABLED = True
    settings.MAPIDEAS_OIDC_ISSUER = "http://10.255.255.1"
    settings.OUTBOUND_ALLOWED_NETWORKS = ()
    response = Client().get("/accounts/oidc/login/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/"
