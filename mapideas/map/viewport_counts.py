"""The viewport's cluster counts kept on write (mapideas.models.ViewportCount): reading them,
and keeping their triggers installed.

The counts are written by database triggers only (their current SQL: mapideas.map.
count_triggers), so every write path is covered: services, admin, queryset.update(),
bulk_create, raw SQL, re-routing, moderation, erasure. Reads are here, as a selector:
mapideas.map.viewport asks for the counts of whole H3 cells and counts the pins of the cells cut
by the viewport's edge itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from mapideas.map import count_triggers
from mapideas.models import ViewportCellCount, ViewportCount
from neighborhoods.models import Neighborhood

# The triggers SQLite must have (it drops them when Django rebuilds mapideas_idea).
TRIGGERS = count_triggers.SQLITE_TRIGGERS


@dataclass(frozen=True)
class CountFilters:
    """The filters the summary can answer: equality on its columns. Each None: any. Other
    filters (the `created` date range) cannot be answered by it: the viewport then counts
    the pins themselves (mapideas.map.viewport, the GROUP BY path)."""

    category_id: int | None = None
    status: str | None = None
    kind: str | None = None
    channel: str | None = None
    team_id: int | None = None
    # By slug, as the API's filter: the pins routed by an earlier boundary version match too.
    neighborhood_slug: str | None = None


def count_filters_of(cleaned: Mapping[str, Any]) -> CountFilters | None:
    """IdeaFilter's cleaned filters as the counts kept on write can answer them, or None when
    one of them cannot be (a `created_after` or `created_before` day: the pins are counted
    instead). Filters it does not name (a bbox) are the caller's to rule out."""
    if cleaned.get("created_after") is not None or cleaned.get("created_before") is not None:
        return None

    def pk(name: str) -> int | None:
        value = cleaned.get(name)
        return value.pk if value is not None else None

    neighborhood = cleaned.get("neighborhood")
    return CountFilters(
        category_id=pk("category"),
        status=cleaned.get("status") or None,
        kind=cleaned.get("kind") or None,
        channel=cleaned.get("channel") or None,
        team_id=pk("team"),
        neighborhood_slug=neighborhood.slug if neighborhood is not None else None,
    )


def _filter_sql(filters: CountFilters) -> tuple[list[str], list]:
    """The WHERE terms (on the summary aliased `v`) and parameters of `filters`."""
    where: list[str] = []
    params: list = []
    for column in ("category_id", "status", "kind", "channel", "team_id"):
        value = getattr(filters, column)
        if value is not None:
            where.append(f"v.{column} = %s")
            params.append(value)
    if filters.neighborhood_slug is not None:
        where.append(
            "v.neighborhood_id IN (SELECT id FROM neighborhoods_neighborhood WHERE slug = %s)"
        )
        params.append(filters.neighborhood_slug)
    return where, params


def cell_counts(
    *, using: str, resolution: int, cells: list[int] | None, filters: CountFilters
) -> tuple[dict[int, int], int]:
    """The public pins of each of `cells` (None: of every cell) with the filters (cells with
    none left out), and how many such pins have no stored cell at all (anywhere)."""
    connection = connections[using]
    if filters == CountFilters():
        return _cell_totals(connection, resolution, cells)
    table = connection.ops.quote_name(ViewportCount._meta.db_table)
    where = ["v.resolution = %s"]
    params: list = [resolution]
    if cells is not None:
        listed, cells_param = _cells_listed(connection, "v.cell", cells)
        where.append(listed)
        params.append(cells_param)
    filtered, filter_params = _filter_sql(filters)
    where += filtered
    params += filter_params
    sql = (
        f"SELECT v.cell, SUM(v.n) FROM {table} AS v"
        f" WHERE {' AND '.join(where)} GROUP BY v.cell HAVING SUM(v.n) > 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = {int(cell): int(n) for cell, n in cursor.fetchall()}
    return counts, counts.pop(0, 0)


# Every public pin is counted once at each resolution: the coarsest has the fewest rows.
_NEIGHBORHOOD_RESOLUTION = 7


def public_pin_total(*, using: str, filters: CountFilters) -> int:
    """The public pins of the whole city with `filters`, from the counts kept on write (exact
    as of the last commit): a few thousand summary rows, where counting the pins themselves
    read every one of them. Every pin is in one row of each resolution, those without a
    stored cell in cell 0."""
    if filters == CountFilters():
        cells = ViewportCellCount.objects.using(using).filter(resolution=_NEIGHBORHOOD_RESOLUTION)
        return int(cells.aggregate(total=Sum("n"))["total"] or 0)
    exact = {
        column: value
        for column in ("category_id", "status", "kind", "channel", "team_id")
        if (value := getattr(filters, column)) is not None
    }
    totals = ViewportCount.objects.using(using).filter(resolution=_NEIGHBORHOOD_RESOLUTION, **exact)
    if filters.neighborhood_slug is not None:
        # The neighborhood's id in every boundary version (as the API's filter by slug).
        totals = totals.filter(
            neighborhood_id__in=Neighborhood.objects.using(using)
            .filter(slug=filters.neighborhood_slug)
            .values("id")
        )
    return int(totals.aggregate(total=Sum("n"))["total"] or 0)


def neighborhood_counts(
    *, using: str, filters: CountFilters, offline_channels: tuple[str, ...]
) -> list[tuple[int, int, int]]:
    """(neighborhood id, public pins, of which sent through `offline_channels`) for every
    neighborhood pins with `filters` were routed to (0: outside every neighborhood), from
    the counts kept on write: a few thousand summary rows, where the GROUP BY of the pins
    read every one. A neighborhood of an earlier boundary version keeps its own id."""
    table = connections[using].ops.quote_name(ViewportCount._meta.db_table)
    where = ["v.resolution = %s"]
    params: list = [_NEIGHBORHOOD_RESOLUTION]
    filtered, filter_params = _filter_sql(filters)
    where += filtered
    params += filter_params
    offline = ", ".join(["%s"] * len(offline_channels)) or "NULL"
    sql = (
        f"SELECT v.neighborhood_id, SUM(v.n),"  # noqa: S608 (placeholders and constants)
        f" SUM(CASE WHEN v.channel IN ({offline}) THEN v.n ELSE 0 END)"
        f" FROM {table} AS v WHERE {' AND '.join(where)}"
        " GROUP BY v.neighborhood_id HAVING SUM(v.n) > 0"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [*offline_channels, *params])
        return [(int(nid), int(n), int(offline_n)) for nid, n, offline_n in cursor.fetchall()]


def neighborhood_pin_count() -> Coalesce:
    """An expression for a query of neighborhoods: the public pins routed to each, read
    from the counts kept on write (exact as of the last commit). Counting the pins
    themselves took 1.5 s for the 77 neighborhoods of a 1M-pin city; this reads a few
    thousand summary rows."""
    counted = (
        ViewportCount.objects.filter(
            resolution=_NEIGHBORHOOD_RESOLUTION, neighborhood_id=OuterRef("pk")
        )
        .order_by()
        .values("neighborhood_id")
        .annotate(total=Sum("n"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _cell_totals(
    connection, resolution: int, cells: list[int] | None
) -> tuple[dict[int, int], int]:
    """cell_counts() without filters: one row a cell (ViewportCellCount), not one per
    combination of the filters' values."""
    table = connection.ops.quote_name(ViewportCellCount._meta.db_table)
    sql = f"SELECT cell, n FROM {table} WHERE resolution = %s AND n > 0"  # noqa: S608
    params: list = [resolution]
    if cells is not None:
        listed, cells_param = _cells_listed(connection, "cell", cells)
        sql += f" AND {listed}"
        params.append(cells_param)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = {int(cell): int(n) for cell, n in cursor.fetchall()}
    return counts, counts.pop(0, 0)


def _cells_listed(connection, column: str, cells: list[int]) -> tuple[str, object]:
    """`column` is one of `cells` or 0 (the pins without a stored cell): one list, not an OR,
    as SQL and its one parameter."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [*cells, 0]
    return f"{column} IN (SELECT value FROM json_each(%s))", json.dumps([*cells, 0])


def rebuild(*, using: str = "default") -> None:
    """Every count again from the pins (a repair; the triggers keep them exact)."""
    with connections[using].cursor() as cursor:
        for sql in count_triggers.REBUILD:
            cursor.execute(sql)


def ensure_triggers(*, using: str = "default") -> bool:
    """Put the triggers' current definition (mapideas.map.count_triggers) in place, once the
    database is migrated that far (both summary tables exist). Returns whether it did.

    SQLite drops a table's triggers when Django rebuilds it (most ALTERs on SQLite): when one
    is missing, put them back and recount (writes made without them were not counted).
    PostgreSQL keeps its triggers: its function and triggers are defined again as they are
    now (idempotent, in one transaction), without a recount (a million pins would make every
    migrate slow)."""
    connection = connections[using]
    tables = [ViewportCount._meta.db_table, ViewportCellCount._meta.db_table]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # Not migrated this far yet (or at all): nothing to put in place.
        if not set(tables) <= set(connection.introspection.table_names(cursor)):
            return False
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                f" AND name IN ({', '.join(['%s'] * len(TRIGGERS))})",
                list(TRIGGERS),
            )
            if {row[0] for row in cursor.fetchall()} >= set(TRIGGERS):
                return False
            for sql in [*count_triggers.install_sql("sqlite"), *count_triggers.REBUILD]:
                cursor.execute(sql)
            return True
        for sql in count_triggers.install_sql(connection.vendor):
            cursor.execute(sql)
    return True


def ensure_triggers_after_migrate(sender, using: str = "default", **kwargs) -> None:
    # Only where migrations run (not on a read replica, which gets them from its primary).
    if router.allow_migrate_model(using, ViewportCount):
        ensure_triggers(using=using)
