"""The pins' working-day groups (geodata.engagement.service.pin_times' GROUP BY), the planner
page's heaviest read, are kept in the answer cache for ENGAGEMENT_CACHE_SECONDS: read once a
window for the same selection, never served to another selection, and read at every call when
the setting is 0. The days are counted to each call's own `now`."""

from datetime import timedelta

import pandas as pd
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geodata.engagement import service as engagement_service
from geodata.engagement.query import parse_query
from mapideas.models import Idea
from tests.geodata.engagement import engagement_city as grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted(category):
    version = grid.grid_version()
    return grid.insert_pins(grid.planted_pins(), category, version)


def groups_read(params: dict, now=None) -> tuple[pd.DataFrame, int]:
    """pin_times of the selection `params` makes, and how many GROUP BYs of pins it ran."""
    selection, _ = parse_query("engagement-hexagons", params)
    with CaptureQueriesContext(connection) as queries:
        frame = engagement_service.pin_times(selection, now=now or timezone.now())
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if "GROUP BY" in q["sql"] and "mapideas_idea" in q["sql"]
    ]
    return frame, len(reads)


def test_the_groups_are_read_once_a_window(planted, settings):
    settings.ENGAGEMENT_CACHE_SECONDS = 60

    first, reads_first = groups_read({})
    again, reads_again = groups_read({})

    assert reads_first == 1
    assert reads_again == 0
    pd.testing.assert_frame_equal(again, first)


def test_another_selection_is_read_for_itself(planted, settings):
    settings.ENGAGEMENT_CACHE_SECONDS = 60
    everything, _ = groups_read({})

    ideas, reads = groups_read({"kind": "idea"})

    assert reads == 1
    assert ideas["pins"].sum() < everything["pins"].sum()
    assert ideas["pins"].sum() == Idea.objects.filter(kind="idea").count()


def test_a_new_pin_counts_once_the_window_is_over(planted, settings, category):
    settings.ENGAGEMENT_CACHE_SECONDS = 60
    before, _ = groups_read({})
    Idea.objects.filter(pk=planted[0].pk).delete()

    kept, _ = groups_read({})
    cache.clear()  # the window is over (or the cache evicted the groups)
    after, reads = groups_read({})

    assert kept["pins"].sum() == before["pins"].sum()
    assert reads == 1
    assert after["pins"].sum() == before["pins"].sum() - 1


def test_zero_reads_the_groups_every_time(planted, settings):
    settings.ENGAGEMENT_CACHE_SECONDS = 0

    _, first = groups_read({})
    _, again = groups_read({})

    assert (first, again) == (1, 1)


def test_the_days_are_counted_to_each_calls_own_moment(planted, settings):
    settings.ENGAGEMENT_CACHE_SECONDS = 60
    now = timezone.now()
    settings.ENGAGEMENT_CACHE_SECONDS = 0
    fresh_later, _ = groups_read({}, now=now + timedelta(days=30))
    settings.ENGAGEMENT_CACHE_SECONDS = 60
    groups_read({}, now=now)

    kept_later, reads = groups_read({}, now=now + timedelta(days=30))

    assert reads == 0
    pd.testing.assert_frame_equal(kept_later, fresh_later)
