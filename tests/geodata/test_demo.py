"""load_demo_city: a real city from a registry package with its published figures, uneven
pins, the holidays, optional demo accounts. The pins' history: test_demo_history.py."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from mapideas.models import Idea
from neighborhoods.models import BoundaryVersion, Holiday, Neighborhood, Team
from neighborhoods.roles import is_planner
from neighborhoods.routing import route

pytestmark = pytest.mark.django_db


def load(*args: str, commit: bool = True) -> str:
    out = StringIO()
    call_command("load_demo_city", *args, *(["--commit"] if commit else []), stdout=out)
    return out.getvalue()


def counts() -> list[int]:
    return [
        model.objects.count()
        for model in (BoundaryVersion, Neighborhood, Team, Idea, get_user_model())
    ]


def test_without_commit_it_says_what_it_would_load_and_writes_nothing():
    before = counts()

    output = load("--ideas", "30", "--demo-users", commit=False)

    assert output.splitlines()[0] == (
        "The demo city would load: 77 neighborhoods, 9 teams, 30 pins."
    )
    assert "Demo accounts that would be created (password 'demo')" in output
    assert output.splitlines()[-1] == (
        "Dry run: nothing was written. Run again with --commit to apply."
    )
    assert counts() == before
    assert not Neighborhood.objects.exists()


def test_without_commit_and_with_if_empty_it_still_ends_with_the_dry_run_line():
    load("--ideas", "0")

    output = load("--if-empty", "--ideas", "5", commit=False)

    assert output.splitlines() == [
        "The database already holds neighborhoods: demo city not loaded.",
        "Dry run: nothing was written. Run again with --commit to apply.",
    ]
    assert not Idea.objects.exists()


def test_it_loads_chicagos_77_community_areas_as_nine_district_teams():
    output = load("--ideas", "60")
    assert Neighborhood.objects.count() == 77
    assert Team.objects.filter(is_triage=False).count() == 9
    assert "77 neighborhoods, 9 teams, 60 pins" in output
    loop = Neighborhood.objects.get(name="Loop")
    assert loop.team.name == "Central team"
    assert loop.team.name_translations == {"fr": "Équipe Centre", "nl": "Team Centrum"}
    # Reprojected from Illinois State Plane feet: the Loop lies around 41.88 N, 87.63 W.
    x0, y0, x1, y1 = loop.geometry.extent
    assert -87.65 < x0 < x1 < -87.60 and 41.86 < y0 < y1 < 41.90
    assert Neighborhood.objects.get(name="O'Hare").team.name == "Far North Side team"


def test_it_spreads_pins_unevenly_and_routes_each_one():
    load("--ideas", "300", "--seed", "5")
    per_team = dict(Idea.objects.values_list("team__name").annotate(n=Count("id")))
    # The far south is meant to be thin: the heatmap must have something to show.
    assert per_team.get("Far Southeast Side team", 0) * 5 < per_team["Central team"]
    for idea in Idea.objects.select_related("neighborhood", "team")[:40]:
        routed = route(idea.location)
        assert (routed.neighborhood, routed.team) == (idea.neighborhood, idea.team)


def test_it_does_nothing_with_if_empty_when_neighborhoods_exist():
    load("--ideas", "5")
    output = load("--if-empty", "--ideas", "5")
    assert "not loaded" in output
    assert Idea.objects.count() == 5


def test_it_creates_demo_accounts_only_when_asked():
    load("--ideas", "0")
    assert not get_user_model().objects.exists()
    load("--ideas", "0", "--demo-users")
    planner = get_user_model().objects.get(username="planner")
    assert is_planner(planner)
    assert planner.check_password("demo")
    member = get_user_model().objects.get(username="central-team")
    assert list(member.teams.values_list("name", flat=True)) == ["Central team"]


def test_each_community_area_has_its_2020_census_population_and_two_published_figures():
    load("--ideas", "0")
    areas = Neighborhood.objects.filter(version__is_active=True)
    # The 2020 census counted 2,746,388 people in Chicago: the 77 areas add up to it.
    assert sum(areas.values_list("population", flat=True)) == 2_746_388
    for area in areas:
        assert set(area.attributes) == {"per_capita_income", "households_below_poverty_pct"}
    rogers_park = areas.get(name="Rogers Park")
    assert rogers_park.population == 55_628
    assert rogers_park.attributes == {
        "per_capita_income": 23_939,
        "households_below_poverty_pct": 23.6,
    }
    assert areas.get(name="Loop").population == 42_298


def test_the_city_gets_the_federal_holidays_of_the_demo_months_and_one_team_a_saturday():
    load("--ideas", "0")
    today = timezone.localdate()
    holidays = list(Holiday.objects.all())
    assert holidays and all(h.team_id is None for h in holidays)
    # Nine months back and a quarter ahead: about eleven of the year's eleven.
    assert 8 <= len(holidays) <= 13
    assert all(
        today - timedelta(days=271) <= h.date <= today + timedelta(days=91) for h in holidays
    )
    weeks = dict(Team.objects.filter(is_triage=False).values_list("name", "working_weekdays"))
    assert weeks.pop("Central team") == "0111110"  # Tuesday to Saturday
    assert set(weeks.values()) == {"1111100"}


def test_running_it_again_adds_pins_and_leaves_figures_and_holidays_as_they_were():
    load("--ideas", "5")
    holidays = Holiday.objects.count()

    load("--ideas", "5")

    assert Idea.objects.count() == 10
    assert Holiday.objects.count() == holidays
    areas = Neighborhood.objects.filter(version__is_active=True)
    assert sum(areas.values_list("population", flat=True)) == 2_746_388
    assert areas.get(name="Loop").attributes["per_capita_income"] == 65_526
