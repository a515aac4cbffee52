"""The demo pins' history (geodata.demo_history): answers, closures, disputes and reopenings
written by the workflow's and outcomes' own writers, backdated, teams at different paces."""

from collections import defaultdict
from datetime import date
from io import StringIO
from statistics import median

import pytest
from django.core.management import call_command
from django.utils import timezone

from geodata.demo import DEMO_PINS
from geodata.demo_history import us_federal_holidays
from mapideas.models import FixFeedback, Idea, IdeaUpdate, Reopening
from neighborhoods.calendars import local_date, team_calendars
from neighborhoods.models import Team


def test_the_federal_holidays_fall_on_the_days_offices_close():
    holidays = dict(us_federal_holidays(2026))
    assert len(holidays) == 11
    assert holidays[date(2026, 1, 19)] == "Birthday of Martin Luther King, Jr."
    assert holidays[date(2026, 5, 25)] == "Memorial Day"
    # July 4th, 2026 is a Saturday: observed the Friday before.
    assert holidays[date(2026, 7, 3)] == "Independence Day"
    assert holidays[date(2026, 11, 26)] == "Thanksgiving Day"
    # November 11th, 2028 is a Saturday too; Christmas 2022 a Sunday: the Monday after.
    assert date(2028, 11, 10) in dict(us_federal_holidays(2028))
    assert date(2022, 12, 26) in dict(us_federal_holidays(2022))


@pytest.mark.django_db
def test_the_demo_pins_have_months_of_answers_closures_and_disputes():
    call_command("load_demo_city", "--commit", stdout=StringIO())
    ideas = list(Idea.objects.all())
    assert len(ideas) == DEMO_PINS
    now = timezone.now()

    # Most pins were answered; some wait, a few of them long past their team's target.
    answered = [i for i in ideas if i.first_response_at is not None]
    assert 0.8 < len(answered) / len(ideas) < 0.97
    calendars = team_calendars()
    targets = dict(Team.objects.values_list("pk", "response_target_days"))
    overdue = [
        i
        for i in ideas
        if i.first_response_at is None
        and calendars[i.team_id].working_days(local_date(i.created_at), local_date(now))
        > targets[i.team_id]
    ]
    assert len(overdue) >= 5
    for idea in answered:
        assert idea.created_at < idea.first_response_at <= now
        first = IdeaUpdate.objects.filter(idea=idea).order_by("created_at", "pk").first()
        assert first.created_at == idea.first_response_at

    # Closures are spread over the months, each with its answer.
    closed = [i for i in ideas if i.closed_at is not None]
    assert len(closed) > len(ideas) / 3
    assert len({i.closed_at.strftime("%Y-%m") for i in closed}) >= 3
    assert all(i.first_response_at <= i.closed_at <= now for i in closed)
    assert all(i.answer for i in ideas if i.status in (Idea.Status.DONE, Idea.Status.DECLINED))

    # The Northwest Side team answers slowly, past its 5-day target; downtown's in a day.
    days = defaultdict(list)
    for idea in answered:
        days[idea.team.name].append(
            calendars[idea.team_id].working_days(
                local_date(idea.created_at), local_date(idea.first_response_at)
            )
        )
    assert median(days["Central team"]) <= 2
    assert median(days["Northwest Side team"]) > 5
    assert median(days["Northwest Side team"]) >= 4 * median(days["North Side team"])

    # Residents confirmed some fixes and disputed others; three disputes reopened a pin.
    verdicts = FixFeedback.objects.filter(confirmed_at__isnull=False)
    assert verdicts.filter(verdict=FixFeedback.Verdict.FIXED).count() >= 5
    disputes = verdicts.filter(verdict=FixFeedback.Verdict.STILL_THERE)
    assert disputes.filter(decision=FixFeedback.Decision.PENDING).exists()
    reopened = Idea.objects.filter(reopen_count__gt=0)
    assert reopened.exists()
    assert Reopening.objects.filter(cause=Reopening.Cause.DISPUTES).count() == sum(
        reopened.values_list("reopen_count", flat=True)
    )
    for idea in Idea.objects.filter(dispute_count__gt=0):
        assert idea.dispute_count == disputes.filter(idea=idea).count()
        assert all(f.created_at > f.closed_at for f in disputes.filter(idea=idea))


@pytest.mark.django_db
def test_the_same_seed_writes_the_same_history():
    def history() -> list[tuple]:
        # Times are counted back from the moment of the load: the steps are what repeats.
        return sorted(Idea.objects.values_list("title", "status", "dispute_count", "reopen_count"))

    call_command("load_demo_city", "--commit", "--ideas", "60", stdout=StringIO())
    first = history()
    Idea.objects.all().delete()

    call_command("load_demo_city", "--commit", "--ideas", "60", stdout=StringIO())

    assert history() == first


@pytest.mark.django_db
def test_the_demo_city_shows_a_slow_spot_and_who_is_heard():
    """What a newcomer opening /planner/ must see without importing anything: the slow side's
    answers stand out as a slow spot after the false discovery rate, and both area figures
    cut the residents into five fifths."""
    from geodata.engagement.layers import engagement_layer
    from geodata.engagement.query import parse_query

    call_command("load_demo_city", "--commit", stdout=StringIO())

    slow = engagement_layer("slowspots", *parse_query("slowspots", {}))
    spots = slow.frame[slow.frame["significance"] == "slow"]
    assert len(spots) >= 1
    assert set(spots["team"]) == {"Northwest Side team"}
    assert (~slow.frame["too_few"]).sum() >= 20

    heard = engagement_layer("representativeness", *parse_query("representativeness", {}))
    fifths = heard.frame.groupby("attribute")["quintile"].nunique()
    assert fifths.to_dict() == {"households_below_poverty_pct": 5, "per_capita_income": 5}
