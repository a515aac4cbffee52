"""Covering indexes for counting the pins of a few H3 cells (issue 7), PostgreSQL only.

When the viewport's edge cuts a cell, mapideas.viewport counts that cell's pins in view.
Through the spatial index that meant one heap page per pin (pins are stored in the order they
came, so a cell's pins are scattered): about 3,300 pages for a zoom-13 view of a 1M-pin city,
100 to 150 ms whenever they were not in PostgreSQL's buffers. These indexes hold the public
pins by cell with their location, so the same count reads a cell's pins from a few adjacent
index pages (an index-only scan). Partial (public pins only), as every public read is.

Built CONCURRENTLY, so a city's pins can still be written while the migration runs. SQLite
counts the cut cells through its own path (no covering index is needed there).
"""

from django.db import migrations

RESOLUTIONS = (7, 8, 9)
PUBLIC = "NOT awaiting_confirmation AND hidden_by_moderation_at IS NULL"


def index_name(resolution: int) -> str:
    return f"mapideas_idea_public_h3_res{resolution}"


def _create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for r in RESOLUTIONS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index_name(r)} ON mapideas_idea"
            f" (h3_res{r}) INCLUDE (location) WHERE {PUBLIC}"
        )


def _drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for r in RESOLUTIONS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index_name(r)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("mapideas", "0015_viewport_cell_counts"),
    ]

    operations = [migrations.RunPython(_create, _drop)]
