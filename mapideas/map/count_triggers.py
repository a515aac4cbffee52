"""The current SQL of the triggers that keep the viewport's counts on write, on both backends.

Two summaries of the public pins, both written only by these triggers on mapideas_idea, in the
transaction of every write (services, admin, queryset.update(), bulk_create, raw SQL):
- mapideas_viewportcount (ViewportCount): one row per H3 cell, resolution and combination of
  the filters' columns (category, status, kind, channel, team, neighborhood);
- mapideas_viewportcellcount (ViewportCellCount): one row per H3 cell and resolution, the
  cell's total, for the map without filters.

PostgreSQL: one PL/pgSQL function run by statement-level triggers with transition tables, so
a bulk UPDATE of a million pins (a re-route, an import) costs one aggregated upsert of the
changes, not a million row triggers. It sums the changes of the filtered rows once (`delta`)
and those changes by cell into the totals, in one statement (a data-modifying WITH). Both
upserts go in key order, and every writer does them in the same order: no deadlock between
writers. A re-route moves pins between teams and neighborhoods, not between cells: it changes
no total.

SQLite: row triggers (SQLite has no statement triggers), fired only when a counted column
changes, and for the totals only when a cell's total can change.

Migrations 0013 (the filtered counts) and 0015 (the totals) installed these triggers; each
keeps its own frozen copy of what it ran. This module is the current definition:
mapideas.map.viewport_counts applies it after every migrate (SQLite drops a table's triggers
when Django rebuilds it) and recounts with REBUILD. A change to the triggers goes here, and
into a new migration holding a literal copy of the new SQL.
"""

# ruff: noqa: S608 - SQL assembled from this module's constants and column names only.

from __future__ import annotations

from mapideas.models import VIEWPORT_COUNT_FILTERS

TABLE = "mapideas_viewportcount"
CELLS = "mapideas_viewportcellcount"
KEY = ", ".join(("resolution", "cell", *VIEWPORT_COUNT_FILTERS))
RESOLUTIONS = (7, 8, 9)
PUBLIC = "{p}.awaiting_confirmation = false AND {p}.hidden_by_moderation_at IS NULL"

# The triggers' names on each backend (mapideas_viewportcellcount_update: SQLite only, a
# cell's total when it can change; PostgreSQL's function keeps both summaries).
POSTGRES_TRIGGERS = (
    "mapideas_viewportcount_insert",
    "mapideas_viewportcount_update",
    "mapideas_viewportcount_delete",
)
SQLITE_TRIGGERS = (*POSTGRES_TRIGGERS, "mapideas_viewportcellcount_update")


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_rows(alias: str, sign: int) -> str:
    """The filtered rows of the pins of transition table `alias`, one per resolution, each
    counting `sign`."""
    cells = ", ".join(f"({r}, COALESCE({alias}.h3_res{r}, 0))" for r in RESOLUTIONS)
    return (
        f"SELECT r.resolution, r.cell, {alias}.category_id, {alias}.status, {alias}.kind,"
        f" {alias}.channel, {alias}.team_id, COALESCE({alias}.neighborhood_id, 0)"
        f" AS neighborhood_id, {sign} AS d FROM {alias}"
        f" CROSS JOIN LATERAL (VALUES {cells}) AS r(resolution, cell)"
        f" WHERE {PUBLIC.format(p=alias)}"
    )


def _pg_upsert(rows: str) -> str:
    """Add the changes `rows` to both summaries: the filtered rows, then the cells' totals."""
    return (
        f"WITH delta AS (SELECT {KEY}, SUM(d) AS d FROM ({rows}) AS x"
        f" GROUP BY {KEY} HAVING SUM(d) <> 0),"
        f" counted AS (INSERT INTO {TABLE} AS v ({KEY}, n) SELECT {KEY}, d FROM delta"
        f" ORDER BY {KEY} ON CONFLICT ({KEY}) DO UPDATE SET n = v.n + EXCLUDED.n)"
        f" INSERT INTO {CELLS} AS c (resolution, cell, n) SELECT resolution, cell, SUM(d)"
        f" FROM delta GROUP BY resolution, cell HAVING SUM(d) <> 0 ORDER BY resolution, cell"
        f" ON CONFLICT (resolution, cell) DO UPDATE SET n = c.n + EXCLUDED.n"
    )


POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION mapideas_viewportcount_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_pg_upsert(_pg_rows("new_pins", 1))};
    ELSIF TG_OP = 'DELETE' THEN
        {_pg_upsert(_pg_rows("old_pins", -1))};
    ELSE
        {_pg_upsert(_pg_rows("old_pins", -1) + " UNION ALL " + _pg_rows("new_pins", 1))};
    END IF;
    RETURN NULL;
END
$$
"""

# Idempotent: the function replaced, each trigger dropped (if there) and created again.
POSTGRES_INSTALL = [
    POSTGRES_FUNCTION,
    *(f"DROP TRIGGER IF EXISTS {name} ON mapideas_idea" for name in POSTGRES_TRIGGERS),
    "CREATE TRIGGER mapideas_viewportcount_insert AFTER INSERT ON mapideas_idea"
    " REFERENCING NEW TABLE AS new_pins"
    " FOR EACH STATEMENT EXECUTE FUNCTION mapideas_viewportcount_sync()",
    "CREATE TRIGGER mapideas_viewportcount_update AFTER UPDATE ON mapideas_idea"
    " REFERENCING OLD TABLE AS old_pins NEW TABLE AS new_pins"
    " FOR EACH STATEMENT EXECUTE FUNCTION mapideas_viewportcount_sync()",
    "CREATE TRIGGER mapideas_viewportcount_delete AFTER DELETE ON mapideas_idea"
    " REFERENCING OLD TABLE AS old_pins"
    " FOR EACH STATEMENT EXECUTE FUNCTION mapideas_viewportcount_sync()",
]


# --- SQLite ----------------------------------------------------------------------------------

# The columns a filtered count depends on: an UPDATE touching none of them changes no count.
COUNTED = (
    "h3_res7",
    "h3_res8",
    "h3_res9",
    *VIEWPORT_COUNT_FILTERS,
    "awaiting_confirmation",
    "hidden_by_moderation_at",
)
# What a cell's total depends on (the other counted columns only move a pin between the
# filtered rows of the same cell).
CELL_COUNTED = ("h3_res7", "h3_res8", "h3_res9", "awaiting_confirmation", "hidden_by_moderation_at")


def _sqlite_match(p: str) -> str:
    """The filtered rows of pin `p` (OLD or NEW), one per resolution."""
    cells = " OR ".join(
        f"(resolution = {r} AND cell = COALESCE({p}.h3_res{r}, 0))" for r in RESOLUTIONS
    )
    return (
        f"({cells}) AND category_id = {p}.category_id AND status = {p}.status"
        f" AND kind = {p}.kind AND channel = {p}.channel AND team_id = {p}.team_id"
        f" AND neighborhood_id = COALESCE({p}.neighborhood_id, 0)"
    )


def _sqlite_add(p: str) -> str:
    values = ", ".join(
        f"({r}, COALESCE({p}.h3_res{r}, 0), {p}.category_id, {p}.status, {p}.kind,"
        f" {p}.channel, {p}.team_id, COALESCE({p}.neighborhood_id, 0), 1)"
        for r in RESOLUTIONS
    )
    # INSERT ... SELECT with an upsert needs a WHERE (SQLite's parsing rule).
    return (
        f"INSERT INTO {TABLE} ({KEY}, n) SELECT * FROM (VALUES {values})"
        f" WHERE {PUBLIC.format(p=p)} ON CONFLICT ({KEY}) DO UPDATE SET n = n + 1;"
    )


def _sqlite_remove(p: str) -> str:
    return f"UPDATE {TABLE} SET n = n - 1 WHERE {PUBLIC.format(p=p)} AND {_sqlite_match(p)};"


def _sqlite_cells_add(p: str) -> str:
    values = ", ".join(f"({r}, COALESCE({p}.h3_res{r}, 0), 1)" for r in RESOLUTIONS)
    return (
        f"INSERT INTO {CELLS} (resolution, cell, n) SELECT * FROM (VALUES {values})"
        f" WHERE {PUBLIC.format(p=p)} ON CONFLICT (resolution, cell) DO UPDATE SET n = n + 1;"
    )


def _sqlite_cells_remove(p: str) -> str:
    cells = " OR ".join(
        f"(resolution = {r} AND cell = COALESCE({p}.h3_res{r}, 0))" for r in RESOLUTIONS
    )
    return f"UPDATE {CELLS} SET n = n - 1 WHERE {PUBLIC.format(p=p)} AND ({cells});"


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_insert",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_delete",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_update",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_insert AFTER INSERT ON mapideas_idea"
    f" BEGIN {_sqlite_add('NEW')} {_sqlite_cells_add('NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_delete AFTER DELETE ON mapideas_idea"
    f" BEGIN {_sqlite_remove('OLD')} {_sqlite_cells_remove('OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_update AFTER UPDATE ON mapideas_idea"
    f" WHEN {_changed(COUNTED)} BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcellcount_update AFTER UPDATE ON"
    f" mapideas_idea WHEN {_changed(CELL_COUNTED)}"
    f" BEGIN {_sqlite_cells_remove('OLD')} {_sqlite_cells_add('NEW')} END",
]


# --- Both ------------------------------------------------------------------------------------

_ALL_ROWS = " UNION ALL ".join(
    f"SELECT {r} AS resolution, COALESCE(h3_res{r}, 0) AS cell, category_id, status, kind,"
    f" channel, team_id, COALESCE(neighborhood_id, 0) AS neighborhood_id FROM mapideas_idea p"
    f" WHERE {PUBLIC.format(p='p')}"
    for r in RESOLUTIONS
)
_ALL_CELLS = " UNION ALL ".join(
    f"SELECT {r} AS resolution, COALESCE(h3_res{r}, 0) AS cell FROM mapideas_idea p"
    f" WHERE {PUBLIC.format(p='p')}"
    for r in RESOLUTIONS
)
# Every count of both summaries from the pins themselves (a repair; the triggers keep them).
REBUILD = [
    f"DELETE FROM {TABLE}",
    f"INSERT INTO {TABLE} ({KEY}, n) SELECT {KEY}, COUNT(*) FROM ({_ALL_ROWS}) AS x GROUP BY {KEY}",
    f"DELETE FROM {CELLS}",
    f"INSERT INTO {CELLS} (resolution, cell, n) SELECT resolution, cell, COUNT(*)"
    f" FROM ({_ALL_CELLS}) AS x GROUP BY resolution, cell",
]


def install_sql(vendor: str) -> list[str]:
    """The statements putting the current triggers in place (idempotent on both backends)."""
    return POSTGRES_INSTALL if vendor == "postgresql" else SQLITE_INSTALL
