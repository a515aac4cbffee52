"""The viewport's per-cell totals kept on write (issue 7): mapideas_viewportcellcount, one row
per H3 cell and resolution, for the map without filters. Kept by the triggers of migration
0013, which this one extends so that one write updates both summaries in its transaction.

PostgreSQL: the statement-level trigger function now aggregates the transition tables once
into the changes of mapideas_viewportcount (as before) and sums those changes by cell into
mapideas_viewportcellcount, in one statement (a data-modifying WITH). A re-route, which moves
pins between teams and neighborhoods but not between cells, changes no total. Both upserts
go in key order, and every writer does them in the same order: no deadlock between writers.

SQLite: the three row triggers are replaced by ones that update both tables.

mapideas.viewport_counts reads INSTALL/REBUILD from here, the latest state of the triggers
(SQLite drops them when Django rebuilds mapideas_idea: they are put back after migrate).
"""

import importlib

from django.db import migrations, models

counts = importlib.import_module("mapideas.migrations.0013_viewport_counts")

TABLE = counts.TABLE
CELLS = "mapideas_viewportcellcount"
KEY = counts.KEY
RESOLUTIONS = counts.RESOLUTIONS
PUBLIC = counts.PUBLIC


def _pg_upsert(rows: str) -> str:
    return (
        f"WITH delta AS (SELECT {KEY}, SUM(d) AS d FROM ({rows}) AS x"
        f" GROUP BY {KEY} HAVING SUM(d) <> 0),"
        f" counted AS (INSERT INTO {TABLE} AS v ({KEY}, n) SELECT {KEY}, d FROM delta"
        f" ORDER BY {KEY} ON CONFLICT ({KEY}) DO UPDATE SET n = v.n + EXCLUDED.n)"
        f" INSERT INTO {CELLS} AS c (resolution, cell, n) SELECT resolution, cell, SUM(d)"
        f" FROM delta GROUP BY resolution, cell HAVING SUM(d) <> 0 ORDER BY resolution, cell"
        f" ON CONFLICT (resolution, cell) DO UPDATE SET n = c.n + EXCLUDED.n"
    )


_rows = counts._pg_rows

POSTGRES_INSTALL = [
    f"""
CREATE OR REPLACE FUNCTION mapideas_viewportcount_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_pg_upsert(_rows("new_pins", 1))};
    ELSIF TG_OP = 'DELETE' THEN
        {_pg_upsert(_rows("old_pins", -1))};
    ELSE
        {_pg_upsert(_rows("old_pins", -1) + " UNION ALL " + _rows("new_pins", 1))};
    END IF;
    RETURN NULL;
END
$$
""",
    # The triggers themselves are migration 0013's (statement-level, transition tables).
    *counts.POSTGRES_INSTALL[1:],
]


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


# What a cell's total depends on (the other counted columns only move a pin between the
# filtered rows of the same cell).
_CELL_CHANGED = " OR ".join(
    f"OLD.{c} IS NOT NEW.{c}"
    for c in ("h3_res7", "h3_res8", "h3_res9", "awaiting_confirmation", "hidden_by_moderation_at")
)

SQLITE_INSTALL = [
    *counts.SQLITE_UNINSTALL,
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_insert AFTER INSERT ON mapideas_idea"
    f" BEGIN {counts._sqlite_add('NEW')} {_sqlite_cells_add('NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_delete AFTER DELETE ON mapideas_idea"
    f" BEGIN {counts._sqlite_remove('OLD')} {_sqlite_cells_remove('OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_update AFTER UPDATE ON mapideas_idea"
    f" WHEN {counts._CHANGED} BEGIN {counts._sqlite_remove('OLD')} {counts._sqlite_add('NEW')}"
    f" END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcellcount_update AFTER UPDATE ON"
    f" mapideas_idea WHEN {_CELL_CHANGED}"
    f" BEGIN {_sqlite_cells_remove('OLD')} {_sqlite_cells_add('NEW')} END",
]

SQLITE_UNINSTALL = [
    *counts.SQLITE_UNINSTALL,
    "DROP TRIGGER IF EXISTS mapideas_viewportcellcount_update",
]

_ALL_CELLS = " UNION ALL ".join(
    f"SELECT {r} AS resolution, COALESCE(h3_res{r}, 0) AS cell FROM mapideas_idea p"
    f" WHERE {PUBLIC.format(p='p')}"
    for r in RESOLUTIONS
)
# Every count of both summaries from the pins themselves (the backfill, and a repair).
REBUILD = [
    *counts.REBUILD,
    f"DELETE FROM {CELLS}",
    f"INSERT INTO {CELLS} (resolution, cell, n) SELECT resolution, cell, COUNT(*)"
    f" FROM ({_ALL_CELLS}) AS x GROUP BY resolution, cell",
]


def install_sql(vendor: str) -> list[str]:
    return POSTGRES_INSTALL if vendor == "postgresql" else SQLITE_INSTALL


def _install(apps, schema_editor) -> None:
    for sql in [*install_sql(schema_editor.connection.vendor), *REBUILD]:
        schema_editor.execute(sql, params=None)


def _back_to_0013(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_UNINSTALL if vendor == "sqlite" else []:
        schema_editor.execute(sql, params=None)
    for sql in counts.install_sql(vendor):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0014_category_name_translations"),
    ]

    operations = [
        migrations.CreateModel(
            name="ViewportCellCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("resolution", models.PositiveSmallIntegerField()),
                ("cell", models.BigIntegerField()),
                ("n", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("resolution", "cell"), name="viewportcellcount_key"
                    )
                ],
            },
        ),
        migrations.RunPython(_install, _back_to_0013),
    ]
