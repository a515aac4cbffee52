"""Paging by key (keyset, or "seek", pagination) and counts that say whether they are exact.

A page is read from where the last one ended, by the values of the list's total order in its
last row (`created_at, id` for the pins, newest first): an index range scan, as fast at the
millionth row as at the first. OFFSET paging reads and throws away every row before the page,
so a deep page cost a scan of the city (docs/decisions, keyset pagination).

The cursor a `next` or `previous` link carries is those values, as URL-safe base64 of JSON:
opaque to clients (they follow links, they do not build cursors), but not secret (every value
in it is in the page itself). A cursor that is not one this API gives is a BadCursor saying
why, which the APIs answer with a 400 naming the parameter.

Counting every match cost more than the page: `bounded_count` counts up to a bound, which
most filtered lists stay within (exact), and past it gives PostgreSQL's planner estimate (on
SQLite, which has none, the bound: a lower bound), flagged as not exact. When the planner
expects far more rows than the bound (ESTIMATE_TRUSTED_ABOVE times), its estimate is given
without counting: counting the first thousand matches of a dense map view cost as much as
the page itself (52 ms at 1M pins). A first page with no next one is its own exact count
(`Page.exact_count`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import DateTimeField, IntegerField, Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

# Longer than any cursor this module writes (a date-time, an id, a neighborhood's name).
MAX_CURSOR_LENGTH = 1000
# Counted exactly up to this many matches; past it, estimated.
COUNT_BOUND = 1000
# An estimate this many times the bound, and of at least ESTIMATE_TRUSTED_FROM rows, is not
# checked by counting: planners' misestimates of a bbox or a filter stay well within it, and
# the answer says it is an estimate. (Below that, or without statistics yet, counting is cheap.)
ESTIMATE_TRUSTED_ABOVE = 10
ESTIMATE_TRUSTED_FROM = 10_000

_FORWARD = "after"
_BACKWARD = "before"


class BadCursor(ValueError):
    """A cursor this API did not give (or not for this list); the message says why, in the
    request's language."""


@dataclass(frozen=True)
class Cursor:
    """A position in a list: the order's values of a row, and which side of it to read."""

    values: tuple[Any, ...]
    backwards: bool = False


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    # Cursors for the next and the previous page; None: there is none.
    next: str | None
    previous: str | None
    # Every row of the list, when this page is all of it (the first, with no next): no count
    # needed. None otherwise.
    exact_count: int | None = None


@dataclass(frozen=True)
class Count:
    value: int
    exact: bool


def encode(values: tuple[Any, ...], *, backwards: bool = False) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    text = json.dumps({_BACKWARD if backwards else _FORWARD: plain}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(token: str, *, model: type[Model], ordering: tuple[str, ...]) -> Cursor:
    """The cursor in `token`, its values checked against the fields of `ordering`."""
    if len(token) > MAX_CURSOR_LENGTH:
        raise BadCursor(_("too long to be a cursor: use the next and previous links as given."))
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        given = json.loads(text)
    except (binascii.Error, ValueError):
        raise BadCursor(_("not a cursor: use the next and previous links as given.")) from None
    if not (isinstance(given, dict) and len(given) == 1 and set(given) <= {_FORWARD, _BACKWARD}):
        raise BadCursor(_("not a cursor: use the next and previous links as given."))
    ((side, values),) = given.items()
    if not isinstance(values, list) or len(values) != len(ordering):
        raise BadCursor(_("not a cursor of this list: use the next and previous links as given."))
    checked = tuple(
        _value(model, name.lstrip("-"), v) for name, v in zip(ordering, values, strict=True)
    )
    return Cursor(values=checked, backwards=side == _BACKWARD)


def _value(model: type[Model], name: str, value: object) -> Any:
    """A cursor's value for field `name`, of the field's type (never one the database could
    refuse: a 500)."""
    wrong = BadCursor(_("not a cursor of this list: use the next and previous links as given."))
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL refuses NUL in text: it must never get that far.
        raise wrong
    try:
        field = model._meta.get_field("id" if name == "pk" else name)
    except FieldDoesNotExist:
        raise wrong from None
    if isinstance(field, DateTimeField):
        if not isinstance(value, str):
            raise wrong
        try:
            moment = field.to_python(value)
        except ValidationError:
            raise wrong from None
        if moment is None or timezone.is_naive(moment):
            raise wrong
        return moment
    if isinstance(field, IntegerField) or getattr(field, "primary_key", False):
        # bool is an int to Python, not to JSON; 64 bits is every id column.
        if type(value) is not int or not -(2**63) <= value < 2**63:
            raise wrong
        return value
    if not isinstance(value, str):
        raise wrong
    return value


def _beyond(ordering: tuple[str, ...], values: tuple[Any, ...], *, backwards: bool) -> Q:
    """The rows after `values` in `ordering` (before them, `backwards`): a row comparison
    written out, with the first column's bound alone first, so the database scans an index
    range of it."""
    condition = Q()
    equal: dict[str, Any] = {}
    for field, value in zip(ordering, values, strict=True):
        name = field.lstrip("-")
        smaller = field.startswith("-") != backwards
        condition |= Q(**equal, **{f"{name}__{'lt' if smaller else 'gt'}": value})
        equal[name] = value
    first = ordering[0]
    first_smaller = first.startswith("-") != backwards
    bound = Q(**{f"{first.lstrip('-')}__{'lte' if first_smaller else 'gte'}": values[0]})
    return bound & condition


def _reverse(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f[1:] if f.startswith("-") else f"-{f}" for f in ordering)


def _key(row: Model | dict, ordering: tuple[str, ...]) -> tuple[Any, ...]:
    """The row's position: a model instance's attributes, or a `.values()` row's keys (the
    lists that read plain rows: they must ask for the ordering's fields)."""
    if isinstance(row, dict):
        return tuple(row[field.lstrip("-")] for field in ordering)
    return tuple(getattr(row, field.lstrip("-")) for field in ordering)


def ordering_of(queryset: QuerySet) -> tuple[str, ...]:
    """The queryset's order, which must be a total one on its own fields: non-null columns,
    the last one unique (the id), so no two rows share a position."""
    ordering = tuple(str(f) for f in queryset.query.order_by)
    if not ordering or ordering[-1].lstrip("-") not in ("id", "pk"):
        raise ValueError(f"keyset paging needs an order ending with the id, not {ordering}")
    return ordering


def page(queryset: QuerySet, *, size: int, cursor: Cursor | None = None, offset: int = 0) -> Page:
    """One page of `queryset` (in its own order, ordering_of): from the start, at `offset`
    rows from it, or beside `cursor`. One query, of size + 1 rows: the extra row says whether
    there is more, no count needed."""
    ordering = ordering_of(queryset)
    if cursor is None and offset > 0:
        # The row before the page, found by skipping only the ordering's columns (an index
        # scan, no joins, no wide rows), then the page read by key from it as a cursor
        # would: the database skipped the page's joins for every row before it otherwise
        # (2.6 s for offset=900000 of a 1M-pin city, against 0.53 s for the bare OFFSET).
        names = [field.lstrip("-") for field in ordering]
        before = list(queryset.values_list(*names)[offset - 1 : offset])
        if not before:
            return Page(rows=[], next=None, previous=None)
        cursor = Cursor(values=tuple(before[0]))
    if cursor is None:
        rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return Page(
            rows=rows,
            next=encode(_key(rows[-1], ordering)) if more else None,
            previous=None,
            exact_count=None if more else len(rows),
        )
    beyond = _beyond(ordering, cursor.values, backwards=cursor.backwards)
    if not cursor.backwards:
        rows = list(queryset.filter(beyond)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return Page(
            rows=rows,
            next=encode(_key(rows[-1], ordering)) if more else None,
            # The rows before it: at least the one the cursor was read from.
            previous=encode(_key(rows[0], ordering), backwards=True) if rows else None,
        )
    rows = list(queryset.filter(beyond).order_by(*_reverse(ordering))[: size + 1])
    more = len(rows) > size
    rows = rows[:size][::-1]
    return Page(
        rows=rows,
        next=encode(_key(rows[-1], ordering)) if rows else None,
        previous=encode(_key(rows[0], ordering), backwards=True) if more else None,
    )


def bounded_count(queryset: QuerySet, *, bound: int | None = None) -> Count:
    """How many rows `queryset` has: exact up to `bound` (COUNT_BOUND); past it an estimate,
    never below bound + 1 (PostgreSQL's planner's; on SQLite, bound + 1 itself: at least
    that many)."""
    bound = COUNT_BOUND if bound is None else bound
    estimate = planner_estimate(queryset)
    if estimate > max(ESTIMATE_TRUSTED_ABOVE * bound, ESTIMATE_TRUSTED_FROM):
        return Count(estimate, exact=False)
    counted = queryset.order_by().values("pk")[: bound + 1].count()
    if counted <= bound:
        return Count(counted, exact=True)
    return Count(max(counted, estimate), exact=False)


def planner_estimate(queryset: QuerySet) -> int:
    """The rows PostgreSQL's planner expects `queryset` to return (its statistics, no scan);
    0 where there is no planner to ask (SQLite)."""
    if connections[queryset.db].vendor != "postgresql":
        return 0
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    if isinstance(plan, list):
        plan = plan[0]
    return int(plan["Plan"]["Plan Rows"])
