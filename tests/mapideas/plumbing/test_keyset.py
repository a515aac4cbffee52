"""Keyset paging's cursors and bounded counts, apart from any API."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mapideas.models import Category, Idea
from mapideas.plumbing import keyset
from neighborhoods.models import Neighborhood

pytestmark = pytest.mark.django_db

ORDER = ("-created_at", "-id")


def test_a_cursor_reads_back_as_it_was_written():
    at = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)

    for backwards in (False, True):
        token = keyset.encode((at, 42), backwards=backwards)
        cursor = keyset.decode(token, model=Idea, ordering=ORDER)
        assert cursor == keyset.Cursor(values=(at, 42), backwards=backwards)
        # URL-safe as it is: no padding, no + or /.
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_text_key_reads_back():
    token = keyset.encode(("Harbor «quai»", 7))

    assert keyset.decode(token, model=Neighborhood, ordering=("name", "id")).values == (
        "Harbor «quai»",
        7,
    )


def test_an_order_that_does_not_end_with_the_id_is_refused():
    with pytest.raises(ValueError, match="id"):
        keyset.ordering_of(Category.objects.order_by("slug"))


def test_a_count_is_exact_up_to_the_bound_and_flagged_past_it():
    total = Category.objects.count()
    assert total > 3

    assert keyset.bounded_count(Category.objects.all(), bound=total) == keyset.Count(
        total, exact=True
    )
    past = keyset.bounded_count(Category.objects.all(), bound=3)
    assert past.exact is False and past.value >= 4


def test_a_first_page_that_is_the_whole_list_is_its_own_count():
    total = Category.objects.count()
    whole = keyset.page(Category.objects.order_by("-id"), size=total)
    assert whole.next is None and whole.exact_count == total
    first = keyset.page(Category.objects.order_by("-id"), size=total - 1)
    assert first.next is not None and first.exact_count is None
    later = keyset.page(Category.objects.order_by("-id"), size=total, offset=1)
    assert later.exact_count is None


def test_an_estimate_far_past_the_bound_is_given_without_counting(monkeypatch):
    monkeypatch.setattr(keyset, "planner_estimate", lambda queryset: 50_000)
    with CaptureQueriesContext(connection) as queries:
        count = keyset.bounded_count(Category.objects.all(), bound=1000)
    assert count == keyset.Count(50_000, exact=False)
    assert queries.captured_queries == []
    # Within reach of the bound, the matches are counted: exact when they are few.
    monkeypatch.setattr(keyset, "planner_estimate", lambda queryset: 9_000)
    assert keyset.bounded_count(Category.objects.all(), bound=1000).exact is True
