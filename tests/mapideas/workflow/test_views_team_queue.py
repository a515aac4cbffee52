"""`/teams/<slug>/` as a work queue: filters, sorting, search, overdue pins, the map drawn
from the same filtered set, bulk changes, and the response-time figures."""

import html
import re
from datetime import datetime, timedelta
from urllib.parse import quote, quote_plus, unquote_plus
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.map import maps
from mapideas.models import Category, Idea, IdeaUpdate
from mapideas.submission.services import idea_create
from mapideas.workflow import views
from mapideas.workflow.services import idea_assign, idea_status_change
from tests.conftest import IN_EAST, IN_WEST, ON_SHARED_BORDER

pytestmark = pytest.mark.django_db
S = Idea.Status


@pytest.fixture
def queue(city, category):
    """East pins of every sort: ages, kinds, categories, statuses."""
    now = timezone.now()
    streets = Category.objects.get(slug="streets-sidewalks")
    made = {}
    for title, kind, cat, where, age in [
        ("Old pothole", "issue", streets, IN_EAST, timedelta(days=20)),
        ("Bench idea", "idea", category, ON_SHARED_BORDER, timedelta(days=2)),
        ("Fresh pothole", "issue", streets, IN_EAST, timedelta(hours=2)),
    ]:
        made[title] = idea_create(
            kind=kind,
            title=title,
            description=f"About the {title.lower()}.",
            category=cat,
            location=where,
            created_at=now - age,
        )
    made["West"] = idea_create(kind="idea", title="West pin", category=category, location=IN_WEST)
    return made


def titles(response) -> list[str]:
    return [idea.title for idea in response.context["page"].object_list]


def get(client, **params):
    return client.get("/teams/east-team/", params)


@pytest.fixture
def member(client, east_member):
    client.force_login(east_member)
    return east_member


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, ["Fresh pothole", "Bench idea", "Old pothole"]),
        ({"sort": "oldest"}, ["Old pothole", "Bench idea", "Fresh pothole"]),
        ({"kind": "idea"}, ["Bench idea"]),
        ({"category": "streets-sidewalks"}, ["Fresh pothole", "Old pothole"]),
        ({"neighborhood": "east-side"}, ["Fresh pothole", "Bench idea", "Old pothole"]),
        ({"q": "POTHOLE"}, ["Fresh pothole", "Old pothole"]),
        ({"q": "about the bench"}, ["Bench idea"]),  # the description too
        ({"overdue": "on"}, ["Old pothole"]),
        ({"status": "acknowledged"}, []),
        ({"assignee": "none"}, ["Fresh pothole", "Bench idea", "Old pothole"]),
    ],
)
def test_it_filters_and_sorts_the_queue(client, member, queue, params, expected):
    assert titles(get(client, **params)) == expected


def test_it_filters_by_the_days_pinned(client, member, queue):
    today = timezone.localdate()

    recent = get(client, created_after=(today - timedelta(days=3)).isoformat())
    old = get(client, created_before=(today - timedelta(days=10)).isoformat())

    assert titles(recent) == ["Fresh pothole", "Bench idea"]
    assert titles(old) == ["Old pothole"]


def test_the_last_and_first_days_there_are_filter_without_an_error(client, member, queue):
    """The calendar's ends are days like any other (the day after the last one was a 500)."""
    everything = ["Fresh pothole", "Bench idea", "Old pothole"]

    assert sorted(titles(get(client, created_before="9999-12-31"))) == sorted(everything)
    assert sorted(titles(get(client, created_after="0001-01-01"))) == sorted(everything)
    assert titles(get(client, created_after="9999-12-31")) == []


def test_it_ignores_a_bad_filter_and_says_so(client, member, queue):
    response = get(client, created_after="yesterday", kind="idea")

    assert titles(response) == ["Bench idea"]
    assertContains(response, "Some filters were left out")


def test_it_filters_by_status_and_assignee(client, member, queue):
    idea_status_change(idea=queue["Bench idea"], status=S.ACKNOWLEDGED, actor=member)
    idea_assign(idea=queue["Old pothole"], assignee=member, actor=member)

    assert titles(get(client, status="acknowledged")) == ["Bench idea"]
    assert titles(get(client, assignee=str(member.pk))) == ["Old pothole"]


# A member whose username is an email address: no URL the queue serves or redirects to may
# carry it, whether plain or percent-encoded.
ADDRESS_USERNAME = "ana.lopez@mail.example"


def urls_in(response) -> list[str]:
    """Every URL the page links to or submits to, and the query its bulk form sends back."""
    body = response.content.decode()
    urls = re.findall(r'(?:href|action|src)="([^"]*)"', body)
    urls += re.findall(r'name="query" value="([^"]*)"', body)
    return [html.unescape(url) for url in urls]


def carries(urls: list[str], text: str) -> list[str]:
    forms = {text, quote(text), quote_plus(text), quote(text, safe="")}
    return [url for url in urls if any(form in unquote_plus(url) or form in url for form in forms)]


@pytest.fixture
def ana(city, make_user):
    return make_user(ADDRESS_USERNAME, teams=[city.east_team])


def test_the_assignee_filter_names_members_by_number(client, member, queue, ana, monkeypatch):
    monkeypatch.setattr(views, "TEAM_PAGE_SIZE", 1)
    for title in ("Old pothole", "Fresh pothole"):
        idea_assign(idea=queue[title], assignee=ana, actor=member)

    response = get(client, assignee=str(ana.pk))

    assert titles(response) == ["Fresh pothole"]
    choices = [
        value for value, _label in response.context["filter_form"].fields["assignee"].choices
    ]
    assert choices == ["", "none", str(ana.pk), str(member.pk)]  # by username: "ana..." first
    urls = urls_in(response)
    assert f"?assignee={ana.pk}&page=2" in urls
    assert carries(urls, ADDRESS_USERNAME) == []
    assert carries(urls, "ana.lopez") == []


def test_the_bulk_redirect_keeps_the_assignee_filter_by_number(client, member, queue, ana):
    idea_assign(idea=queue["Old pothole"], assignee=ana, actor=member)
    page = get(client, assignee=str(ana.pk))

    response = client.post(
        "/teams/east-team/bulk/",
        {
            "ideas": [queue["Old pothole"].pk],
            "action": "status",
            "status": "acknowledged",
            "query": page.context["query"],
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/teams/east-team/?assignee={ana.pk}"


def test_an_old_link_naming_the_assignee_is_ignored_with_a_message(client, member, queue, ana):
    """Links saved before members were named by number: the filter is left out, and said so;
    the page links on without the name."""
    idea_assign(idea=queue["Old pothole"], assignee=ana, actor=member)

    response = get(client, assignee=ADDRESS_USERNAME, kind="issue")

    assert response.status_code == 200
    assert titles(response) == ["Fresh pothole", "Old pothole"]  # kind kept, assignee left out
    assertContains(response, "Some filters were left out")
    assert "assignee" in response.context["filter_form"].errors
    assert response.context["query"] == "kind=issue"
    assert carries(urls_in(response), ADDRESS_USERNAME) == []


def test_the_bulk_redirect_carries_no_name_it_is_sent(client, member, queue, ana):
    response = client.post(
        "/teams/east-team/bulk/",
        {
            "ideas": [queue["Old pothole"].pk],
            "action": "status",
            "status": "acknowledged",
            "query": f"assignee={quote_plus(ADDRESS_USERNAME)}&kind=issue&next=/elsewhere",
        },
    )

    assert response.status_code == 302
    # Only the filters the queue knows, with values it accepts.
    assert response["Location"] == "/teams/east-team/?kind=issue"


def test_the_map_draws_the_same_filtered_pins_as_the_list(client, member, queue, monkeypatch):
    drawn = {}
    real = maps.add_pins

    def spy(fmap, ideas, **kwargs):
        drawn[kwargs.get("name")] = [idea.title for idea in ideas]
        return real(fmap, ideas, **kwargs)

    monkeypatch.setattr(maps, "add_pins", spy)

    response = get(client, category="streets-sidewalks")

    assert drawn["Routed to this team"] == titles(response) == ["Fresh pothole", "Old pothole"]
    script = response.context["map"].script
    assert '"title": "Fresh pothole"' in script
    assert '"title": "Bench idea"' not in script


def test_the_map_escapes_titles(client, member, city, category):
    idea_create(kind="idea", title="<b>bold</b>", category=category, location=IN_EAST)

    script = get(client).context["map"].script

    assert "<b>bold</b>" not in script
    # Escaped for HTML (Leaflet's tooltips are HTML), then for JSON by folium.
    assert "\\u0026lt;b\\u0026gt;bold" in script


def test_it_flags_overdue_pins_until_they_are_answered(client, member, queue):
    flagged = get(client)
    idea_status_change(idea=queue["Old pothole"], status=S.ACKNOWLEDGED, actor=member)
    answered = get(client)

    overdue = {i.title for i in flagged.context["page"].object_list if i.is_overdue}
    assert overdue == {"Old pothole"}
    assertContains(flagged, '<strong class="overdue-flag">Overdue</strong>', count=1)
    assert not any(i.is_overdue for i in answered.context["page"].object_list)
    assertNotContains(answered, '<strong class="overdue-flag">')


def test_the_target_is_the_teams_own(client, member, queue, city):
    city.east_team.response_target_days = 1
    city.east_team.save()

    late = {i.title for i in get(client, overdue="on").context["page"].object_list}

    # Two days ago is more than one working day ago, unless it spans a weekend.
    assert "Old pothole" in late
    assert "Fresh pothole" not in late


def test_it_pages_with_the_filters_kept(client, member, queue, monkeypatch):
    monkeypatch.setattr(views, "TEAM_PAGE_SIZE", 1)

    first = get(client, category="streets-sidewalks")
    second = get(client, category="streets-sidewalks", page=2)

    assert titles(first) == ["Fresh pothole"]
    assertContains(first, '<a href="?category=streets-sidewalks&amp;page=2">Older</a>', html=True)
    assert titles(second) == ["Old pothole"]


def test_it_says_when_no_pin_matches(client, member, queue):
    assertContains(get(client, q="zzz-nothing"), "No pin matches these filters.")


def test_it_escapes_the_search_text(client, member, queue):
    response = get(client, q='"><script>alert(1)</script>')

    assert "<script>alert(1)" not in response.content.decode()


# --- bulk -------------------------------------------------------------------------------


def test_a_member_changes_a_selection_from_the_queue(client, member, queue):
    picked = [queue["Old pothole"].pk, queue["Fresh pothole"].pk]

    response = client.post(
        "/teams/east-team/bulk/",
        {
            "ideas": picked,
            "action": "status",
            "status": "planned",
            "answer": "Resurfacing in May.",
            "query": "category=streets-sidewalks",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/teams/east-team/?category=streets-sidewalks"
    assert set(Idea.objects.filter(pk__in=picked).values_list("status", "answer")) == {
        (S.PLANNED, "Resurfacing in May.")
    }


def test_a_bulk_assignment(client, member, queue):
    picked = [queue["Old pothole"].pk, queue["Bench idea"].pk]

    response = client.post(
        "/teams/east-team/bulk/", {"ideas": picked, "action": "assign", "assignee": "eddie"}
    )
    unassign = client.post("/teams/east-team/bulk/", {"ideas": picked, "action": "unassign"})

    assert (response.status_code, unassign.status_code) == (302, 302)
    assert not Idea.objects.filter(assignee__isnull=False).exists()


def test_a_refused_bulk_change_writes_nothing_and_names_the_pin(client, member, queue):
    done = queue["Bench idea"]
    idea_status_change(idea=done, status=S.DONE, answer="Bench placed.", actor=member)
    before = IdeaUpdate.objects.count()

    response = client.post(
        "/teams/east-team/bulk/",
        {"ideas": [queue["Old pothole"].pk, done.pk], "action": "status", "status": "planned"},
    )

    assert response.status_code == 400
    assertContains(
        response, f"#{done.pk}: A pin that is done cannot become planned", status_code=400
    )
    assert IdeaUpdate.objects.count() == before
    assert Idea.objects.get(pk=queue["Old pothole"].pk).status == S.NEW


@pytest.mark.parametrize("pin_id", [2**63, 2**64 + 7, 10**30])
def test_a_pin_id_beyond_any_database_is_no_such_pin(client, member, queue, pin_id):
    """An id no primary key can hold is a pin that does not exist (it was a 500 on SQLite,
    whose integers stop at 2**63 - 1)."""
    before = IdeaUpdate.objects.count()

    response = client.post(
        "/teams/east-team/bulk/",
        {"ideas": [queue["Old pothole"].pk, pin_id], "action": "status", "status": "planned"},
    )

    assertContains(response, f"No such pin: #{pin_id}.", status_code=400)
    assert IdeaUpdate.objects.count() == before


def test_a_bulk_form_needs_a_status_for_a_status_change(client, member, queue):
    response = client.post(
        "/teams/east-team/bulk/", {"ideas": [queue["Old pothole"].pk], "action": "status"}
    )

    assert response.status_code == 400
    assertContains(response, "Choose the new status.", status_code=400)


def test_planners_read_the_queue_without_the_bulk_form(client, planner, queue):
    client.force_login(planner)

    response = get(client)

    assert response.status_code == 200
    assert response.context["bulk_form"] is None
    assertNotContains(response, 'id="bulk-form"')


# --- response-time figures ----------------------------------------------------------------


def test_the_team_page_shows_the_response_figures(client, member, city, category, monkeypatch):
    utc = ZoneInfo("UTC")
    now = datetime(2026, 3, 18, 12, 0, tzinfo=utc)  # a Wednesday

    def pin_at(created: datetime, answered: datetime | None):
        idea = idea_create(
            kind="idea", title="p", category=category, location=IN_EAST, created_at=created
        )
        if answered is not None:
            monkeypatch.setattr(timezone, "now", lambda: answered)
            idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=member)
        return idea

    pin_at(datetime(2026, 3, 2, 9, tzinfo=utc), datetime(2026, 3, 3, 9, tzinfo=utc))  # 1 day
    pin_at(datetime(2026, 3, 6, 12, tzinfo=utc), datetime(2026, 3, 9, 12, tzinfo=utc))  # 3 days
    pin_at(datetime(2026, 3, 2, 12, tzinfo=utc), datetime(2026, 3, 10, 12, tzinfo=utc))  # 8, late
    monkeypatch.setattr(timezone, "now", lambda: now)

    response = get(client)

    assertContains(response, '<dd id="stats-median">3 days</dd>', html=True)
    assertContains(response, '<dd id="stats-within">67% (2 of 3)</dd>', html=True)


def _answered_pin(category, member):
    idea = idea_create(kind="idea", title="p", category=category, location=IN_EAST)
    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=member)


def test_the_response_figures_are_kept_for_a_minute(client, member, city, category, settings):
    settings.TEAM_STATS_CACHE_SECONDS = 60
    _answered_pin(category, member)
    assertContains(get(client), '<dd id="stats-within">100% (1 of 1)</dd>', html=True)

    _answered_pin(category, member)

    # Counted once per window: the second answer shows when the kept figures expire.
    assertContains(get(client), '<dd id="stats-within">100% (1 of 1)</dd>', html=True)
    # The queue itself is never kept: both pins are in it.
    assert len(titles(get(client))) == 2


def test_a_new_target_is_counted_at_once(client, member, city, category, settings):
    settings.TEAM_STATS_CACHE_SECONDS = 60
    _answered_pin(category, member)
    get(client)
    city.east_team.response_target_days = 9
    city.east_team.save()

    assertContains(get(client), "<strong>9</strong> working days")
    assert get(client).context["stats"].target_days == 9


def test_figures_kept_for_no_time_are_counted_for_every_page(
    client, member, city, category, settings
):
    settings.TEAM_STATS_CACHE_SECONDS = 0
    _answered_pin(category, member)
    get(client)
    _answered_pin(category, member)

    assertContains(get(client), '<dd id="stats-within">100% (2 of 2)</dd>', html=True)


def test_the_admin_edits_the_response_target(client, city):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(root)

    page = client.get(f"/admin/neighborhoods/team/{city.east_team.pk}/change/")

    assertContains(page, 'name="response_target_days"')
    assertContains(page, 'value="5"')
