"""A team's queue is counted from the counts kept on write (its public pins) plus its pins
that are not public, through their partial index: the same number as counting the queue,
for every filter those counts can answer, and no number for the others."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from mapideas.models import NOT_PUBLIC_PINS, PUBLIC_PINS, Category, Idea
from mapideas.submission.services import idea_create
from mapideas.workflow import selectors
from mapideas.workflow.selectors import QueueFilters
from tests.conftest import IN_EAST, IN_WEST, ON_SHARED_BORDER
from tests.query_plans import plan

pytestmark = pytest.mark.django_db
S = Idea.Status


@pytest.fixture
def pins(city, category):
    """East pins of two categories, kinds and statuses; one awaiting its author's
    confirmation, one hidden by moderators, one both; and West pins, which are not East's."""
    streets = Category.objects.get(slug="streets-sidewalks")
    made = []
    for i, (kind, cat, where, status) in enumerate(
        [
            ("issue", streets, IN_EAST, S.NEW),
            ("issue", streets, IN_EAST, S.DONE),
            ("idea", category, ON_SHARED_BORDER, S.NEW),
            ("idea", category, IN_EAST, S.IN_PROGRESS),
            ("issue", category, IN_EAST, S.NEW),  # awaiting confirmation
            ("issue", streets, IN_EAST, S.NEW),  # hidden by moderators
            ("idea", streets, IN_EAST, S.DONE),  # both
            ("issue", streets, IN_WEST, S.NEW),
            ("idea", category, IN_WEST, S.NEW),
        ]
    ):
        pin = idea_create(kind=kind, title=f"Pin {i}", category=cat, location=where)
        Idea.objects.filter(pk=pin.pk).update(status=status)
        made.append(pin)
    now = timezone.now()
    Idea.objects.filter(pk__in=[made[4].pk, made[6].pk]).update(awaiting_confirmation=True)
    Idea.objects.filter(pk__in=[made[5].pk, made[6].pk]).update(hidden_by_moderation_at=now)
    return made


ANSWERED = [
    QueueFilters(),
    QueueFilters(status=S.NEW),
    QueueFilters(status=S.DONE),
    QueueFilters(kind="idea"),
    QueueFilters(status=S.NEW, kind="issue"),
    QueueFilters(neighborhood="east-side"),
    QueueFilters(neighborhood="west-side"),
    QueueFilters(status=S.PLANNED),
    QueueFilters(sort=selectors.QueueSort.OLDEST),
]


@pytest.mark.parametrize("filters", ANSWERED)
@pytest.mark.parametrize("category_slug", [None, "streets-sidewalks", "parks-green-space"])
def test_the_total_is_the_number_of_pins_in_the_queue(city, pins, filters, category_slug):
    if category_slug is not None:
        filters = QueueFilters(
            **{**filters.__dict__, "category": Category.objects.get(slug=category_slug)}
        )

    total = selectors.team_queue_total(team=city.east_team, filters=filters)

    assert total == selectors.team_queue(team=city.east_team, filters=filters).count()


def test_the_pins_not_public_are_counted_too(city, pins):
    queue = selectors.team_queue(team=city.east_team)
    assert queue.filter(NOT_PUBLIC_PINS).count() == 3
    assert queue.filter(PUBLIC_PINS).count() == 4

    assert selectors.team_queue_total(team=city.east_team) == 7
    assert selectors.team_queue_total(team=city.west_team) == 2


def test_a_pin_that_moves_or_is_hidden_moves_its_count_at_once(city, pins):
    Idea.objects.filter(pk=pins[0].pk).update(team=city.west_team)
    Idea.objects.filter(pk=pins[3].pk).update(hidden_by_moderation_at=timezone.now())
    Idea.objects.filter(pk=pins[4].pk).update(awaiting_confirmation=False)

    assert selectors.team_queue_total(team=city.east_team) == 6
    assert selectors.team_queue_total(team=city.west_team) == 3
    assert selectors.team_queue_total(team=city.east_team, filters=QueueFilters(status=S.NEW)) == 3


@pytest.mark.parametrize(
    "filters",
    [
        QueueFilters(created_after=date.today() - timedelta(days=1)),
        QueueFilters(created_before=date.today()),
        QueueFilters(overdue=True),
        QueueFilters(disputed=True),
        QueueFilters(reopened=True),
        QueueFilters(q="pin"),
        QueueFilters(assignee="none"),
    ],
)
def test_filters_the_kept_counts_cannot_answer_give_no_total(city, pins, filters):
    assert selectors.team_queue_total(team=city.east_team, filters=filters) is None


def test_the_workspace_shows_the_total_and_pages_by_it(client, city, pins, east_member):
    client.force_login(east_member)

    response = client.get("/teams/east-team/")

    assert response.context["page"].paginator.count == 7
    assert len(response.context["page"].object_list) == 7


def test_the_pins_not_public_are_found_through_their_partial_index(city, pins):
    # A team with many public pins, as a city's: copies of one, in one statement.
    model = Idea.objects.get(pk=pins[0].pk)
    copies = []
    for _ in range(400):
        model.pk = None
        copies.append(
            Idea(**{f.attname: getattr(model, f.attname) for f in Idea._meta.concrete_fields})
        )
    Idea.objects.bulk_create(copies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    found = plan(
        Idea.objects.filter(team=city.east_team).filter(NOT_PUBLIC_PINS).order_by().values("id")
    )

    assert "idea_not_public" in found, found
