"""The viewport's cluster counts kept on write (issue 7): mapideas_viewportcount, maintained
by triggers on mapideas_idea in the transaction of every write, and filled from the pins
already stored.

PostgreSQL: one PL/pgSQL function run by statement-level triggers with transition tables,
so a bulk UPDATE of a million pins (a re-route, an import) costs one aggregated upsert of
the changes, not a million row triggers; rows are upserted in key order (no deadlock
between two writers). SQLite: row triggers (SQLite has no statement triggers), fired only
when a counted column changes.

SQLite drops a table's triggers when Django rebuilds the table (most ALTERs of
mapideas_idea on SQLite): mapideas.apps reinstalls them after every migrate, and
tests/mapideas/test_viewport_counts.py fails if they are missing.
"""

from django.db import migrations, models

TABLE = "mapideas_viewportcount"
KEY = "resolution, cell, category_id, status, kind, channel, team_id, neighborhood_id"
RESOLUTIONS = (7, 8, 9)
PUBLIC = "{p}.awaiting_confirmation = false AND {p}.hidden_by_moderation_at IS NULL"


def _pg_rows(alias: str, sign: int) -> str:
    cells = ", ".join(f"({r}, COALESCE({alias}.h3_res{r}, 0))" for r in RESOLUTIONS)
    return (
        f"SELECT r.resolution, r.cell, {alias}.category_id, {alias}.status, {alias}.kind,"
        f" {alias}.channel, {alias}.team_id, COALESCE({alias}.neighborhood_id, 0)"
        f" AS neighborhood_id, {sign} AS d FROM {alias}"
        f" CROSS JOIN LATERAL (VALUES {cells}) AS r(resolution, cell)"
        f" WHERE {PUBLIC.format(p=alias)}"
    )


def _pg_upsert(rows: str) -> str:
    return (
        f"INSERT INTO {TABLE} AS v ({KEY}, n) SELECT {KEY}, SUM(d) FROM ({rows}) AS x"
        f" GROUP BY {KEY} HAVING SUM(d) <> 0 ORDER BY {KEY}"
        f" ON CONFLICT ({KEY}) DO UPDATE SET n = v.n + EXCLUDED.n"
    )


POSTGRES_INSTALL = [
    f"""
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
""",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_insert ON mapideas_idea",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_update ON mapideas_idea",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_delete ON mapideas_idea",
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

POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_insert ON mapideas_idea",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_update ON mapideas_idea",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_delete ON mapideas_idea",
    "DROP FUNCTION IF EXISTS mapideas_viewportcount_sync()",
]

# The columns a count depends on: an UPDATE touching none of them changes no count.
COUNTED = (
    "h3_res7",
    "h3_res8",
    "h3_res9",
    "category_id",
    "status",
    "kind",
    "channel",
    "team_id",
    "neighborhood_id",
    "awaiting_confirmation",
    "hidden_by_moderation_at",
)


def _sqlite_match(p: str) -> str:
    """The summary rows of pin `p` (OLD or NEW), one per resolution."""
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


_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COUNTED)

SQLITE_INSTALL = [
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_insert AFTER INSERT ON mapideas_idea"
    f" BEGIN {_sqlite_add('NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_delete AFTER DELETE ON mapideas_idea"
    f" BEGIN {_sqlite_remove('OLD')} END",
    "CREATE TRIGGER IF NOT EXISTS mapideas_viewportcount_update AFTER UPDATE ON mapideas_idea"
    f" WHEN {_CHANGED} BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
]

SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_insert",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_delete",
    "DROP TRIGGER IF EXISTS mapideas_viewportcount_update",
]

_ALL_ROWS = " UNION ALL ".join(
    f"SELECT {r} AS resolution, COALESCE(h3_res{r}, 0) AS cell, category_id, status, kind,"
    f" channel, team_id, COALESCE(neighborhood_id, 0) AS neighborhood_id FROM mapideas_idea p"
    f" WHERE {PUBLIC.format(p='p')}"
    for r in RESOLUTIONS
)
# Every count from the pins themselves (the backfill, and a repair: rebuild_sql()).
REBUILD = [
    f"DELETE FROM {TABLE}",
    f"INSERT INTO {TABLE} ({KEY}, n) SELECT {KEY}, COUNT(*) FROM ({_ALL_ROWS}) AS x GROUP BY {KEY}",
]


def install_sql(vendor: str) -> list[str]:
    return POSTGRES_INSTALL if vendor == "postgresql" else SQLITE_INSTALL


def _install(apps, schema_editor) -> None:
    for sql in [*install_sql(schema_editor.connection.vendor), *REBUILD]:
        schema_editor.execute(sql, params=None)


def _uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in POSTGRES_UNINSTALL if vendor == "postgresql" else SQLITE_UNINSTALL:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("mapideas", "0012_idea_idempotency_key"),
    ]

    operations = [
        migrations.CreateModel(
            name="ViewportCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("resolution", models.PositiveSmallIntegerField()),
                ("cell", models.BigIntegerField()),
                ("category_id", models.BigIntegerField()),
                ("status", models.CharField(max_length=20)),
                ("kind", models.CharField(max_length=10)),
                ("channel", models.CharField(max_length=10)),
                ("team_id", models.BigIntegerField()),
                ("neighborhood_id", models.BigIntegerField()),
                ("n", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "resolution",
                            "cell",
                            "category_id",
                            "status",
                            "kind",
                            "channel",
                            "team_id",
                            "neighborhood_id",
                        ),
                        name="viewportcount_key",
                    )
                ],
            },
        ),
        migrations.RunPython(_install, _uninstall),
    ]
