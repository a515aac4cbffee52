"""How a bulk import writes its final pins: once, and on PostgreSQL in one statement.

PostgreSQL: each batch of routed pins goes into a temporary staging table shaped like
mapideas_idea, with ids taken from mapideas_idea's own sequence, and `publish()` copies them all
into mapideas_idea with one INSERT ... SELECT at the end of the import. The viewport counts'
statement triggers (mapideas.map.count_triggers) then run once per import: a summary row gets
one new version however many batches touched its cell (with an INSERT per batch, a cell every
batch touched kept one dead version per batch until a vacuum). The routing events and "also in
their area" rows can name the staged ids at once: Django's foreign keys on PostgreSQL are
DEFERRABLE INITIALLY DEFERRED, checked at commit, when the pins are there.

SQLite: each batch is inserted where it belongs at once (`bulk_create`). Its count triggers are
row triggers, which rewrite a summary row in place and leave no dead version: a staging table
would only copy every pin twice.
"""

# ruff: noqa: S608 - SQL assembled from the model's quoted table and column names.

from typing import Any

from django.db import connection, models

from mapideas.models import Idea

# The staging table: temporary (this session only, no WAL), dropped by publish() or, if the
# import fails or is a dry run, with its transaction.
STAGING_TABLE = "import_staged_ideas"


class PinWriter:
    """Writes an import's routed pins, batch by batch, as their final rows.

    `add()` gives every pin its primary key (what the routing events and "also in their
    area" rows name); `publish()` makes them all visible in mapideas_idea. Build one per
    import, inside its transaction, and call `publish()` before the transaction ends.
    """

    def __init__(self) -> None:
        self.staged = 0
        self.fields = [f for f in Idea._meta.concrete_fields]
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        self.table = connection.ops.quote_name(Idea._meta.db_table)
        self.staging = connection.vendor == "postgresql"
        if self.staging:
            with connection.cursor() as cursor:
                # Dropped at publish(); ON COMMIT DROP covers an import that fails or is
                # rolled back after its savepoint (no leftover in the session).
                cursor.execute(
                    f"CREATE TEMP TABLE {STAGING_TABLE} (LIKE {self.table} INCLUDING DEFAULTS)"
                    " ON COMMIT DROP"
                )
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Idea._meta.db_table])
                (self.sequence,) = cursor.fetchone()

    def add(self, ideas: list[Idea]) -> None:
        """Write these pins (their pk set on return): staged on PostgreSQL, inserted on
        SQLite."""
        if not ideas:
            return
        if not self.staging:
            Idea.objects.bulk_create(ideas, batch_size=len(ideas))
            self.staged += len(ideas)
            return
        with connection.cursor() as cursor:
            # The ids the pins will have in mapideas_idea, from its identity sequence.
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [self.sequence, len(ideas)],
            )
            for idea, (pk,) in zip(ideas, cursor.fetchall(), strict=True):
                idea.pk = pk
            placeholders: list[str] = []
            params: list[Any] = []
            for idea in ideas:
                row = []
                for f in self.fields:
                    # What Django's INSERT binds: pre_save() fills auto_now, get_db_prep_save()
                    # adapts (a geometry to PostGIS's adapter), get_placeholder() wraps.
                    value = f.get_db_prep_save(f.pre_save(idea, add=True), connection)
                    row.append(_placeholder(f, value))
                    params.append(value)
                placeholders.append(f"({', '.join(row)})")
            cursor.execute(
                f"INSERT INTO {STAGING_TABLE} ({self.columns}) VALUES {', '.join(placeholders)}",
                params,
            )
        for idea in ideas:
            idea._state.adding = False
            idea._state.db = connection.alias
        self.staged += len(ideas)

    def publish(self) -> None:
        """Move the staged pins into mapideas_idea: one INSERT ... SELECT, so the count
        triggers run once for the whole import (PostgreSQL; nothing to do on SQLite)."""
        if not self.staging:
            return
        with connection.cursor() as cursor:
            if self.staged:
                # In the staged order, which is the file's: ids ascending.
                cursor.execute(
                    f"INSERT INTO {self.table} ({self.columns})"
                    f" SELECT {self.columns} FROM {STAGING_TABLE}"
                )
                if cursor.rowcount != self.staged:
                    raise RuntimeError(f"{cursor.rowcount} pins published of {self.staged} staged")
            cursor.execute(f"DROP TABLE {STAGING_TABLE}")


def _placeholder(field: models.Field, value: object) -> str:
    get_placeholder = getattr(field, "get_placeholder", None)
    if get_placeholder is None:
        return "%s"
    return str(get_placeholder(value, None, connection))
