"""manage.py add_member: people join district teams from the command line."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from neighborhoods.models import Team
from neighborhoods.roles import is_planner

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "lantern-harbor-quietly-87"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow on purpose; these tests hash a dozen passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def add_member(*args: str, stdin: io.StringIO | None = None) -> str:
    out = io.StringIO()
    options = {"stdout": out} if stdin is None else {"stdout": out, "stdin": stdin}
    call_command("add_member", *args, **options)
    return out.getvalue()


def test_it_creates_the_user_adds_them_to_the_team_and_shows_the_password_once(city):
    output = add_member("west-team", "nadia")

    user = get_user_model().objects.get(username="nadia")
    assert list(user.teams.all()) == [city.west_team]
    assert not is_planner(user)
    lines = output.splitlines()
    assert lines[0] == "Created user 'nadia' and added them to West Team."
    assert lines[1].startswith("Password for 'nadia': ")
    password = lines[1].removeprefix("Password for 'nadia': ")
    assert user.check_password(password)
    assert "change" in lines[2]
    assert output.count(password) == 1


def test_it_makes_the_user_a_planner_on_request(city):
    output = add_member("east-team", "pieter", "--planner")

    user = get_user_model().objects.get(username="pieter")
    assert is_planner(user)
    assert list(user.teams.all()) == [city.east_team]
    assert "'pieter' is a planner." in output


def test_it_adds_an_existing_user_without_touching_their_password(city, make_user):
    user = make_user("olga", teams=[city.west_team])

    output = add_member("east-team", "olga")

    assert output == "Added existing user 'olga' to East Team.\n"
    assert set(user.teams.all()) == {city.west_team, city.east_team}
    user.refresh_from_db()
    assert user.check_password("pw-for-tests")


def test_it_says_when_the_user_was_already_a_member(west_member, city):
    output = add_member("west-team", west_member.username)

    assert output == "'wendy' was already a member of West Team.\n"
    assert list(west_member.teams.all()) == [city.west_team]


def test_it_reads_the_password_from_stdin(city):
    output = add_member(
        "harbor-team", "hana", "--password-stdin", stdin=io.StringIO(f"{STRONG_PASSWORD}\n")
    )

    user = get_user_model().objects.get(username="hana")
    assert user.check_password(STRONG_PASSWORD)
    assert STRONG_PASSWORD not in output
    assert "Password for" not in output


def test_it_replaces_an_existing_users_password_from_stdin_and_says_so(city, make_user):
    user = make_user("olga")

    output = add_member("west-team", "olga", "--password-stdin", stdin=io.StringIO(STRONG_PASSWORD))

    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)
    assert "Replaced the password of 'olga'." in output


def test_it_refuses_an_empty_password_on_stdin(city):
    with pytest.raises(CommandError, match="empty"):
        add_member("west-team", "nadia", "--password-stdin", stdin=io.StringIO("\n"))
    assert not get_user_model().objects.filter(username="nadia").exists()


def test_it_refuses_a_weak_password_and_creates_nobody(city):
    with pytest.raises(CommandError, match="Password refused"):
        add_member("west-team", "nadia", "--password-stdin", stdin=io.StringIO("12345678\n"))
    assert not get_user_model().objects.filter(username="nadia").exists()


def test_it_lists_existing_team_slugs_for_an_unknown_team(city):
    with pytest.raises(CommandError) as error:
        add_member("north-team", "nadia")

    message = str(error.value)
    assert message.startswith("No team 'north-team'. Teams: ")
    for slug in ("east-team", "harbor-team", "west-team"):
        assert slug in message
    assert not get_user_model().objects.filter(username="nadia").exists()


def test_it_says_when_there_are_no_teams_at_all(db):
    Team.objects.all().delete()

    with pytest.raises(CommandError, match="no teams yet"):
        add_member("west-team", "nadia")


def test_it_refuses_an_invalid_username(city):
    with pytest.raises(CommandError, match="username"):
        add_member("west-team", "no spaces allowed")
