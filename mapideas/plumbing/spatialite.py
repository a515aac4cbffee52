"""Keep SpatiaLite's spatial indexes alive.

SQLite cannot ALTER most columns, so Django rebuilds a table to change one (create a copy, move
the rows, drop the original). On SpatiaLite that drops the R*Tree triggers of the table's
geometry columns and leaves `spatial_index_enabled = 0`: the index silently stops being
maintained (seen after the migrations that made Idea.neighborhood nullable). After every
`migrate`, this re-creates any spatial index that is switched off and fills it from the rows.
PostGIS keeps its GiST indexes through ALTER TABLE; nothing to do there.
"""

from django.db import connections


def ensure_spatial_indexes(*, using: str = "default") -> list[str]:
    """Re-enable and rebuild disabled SpatiaLite spatial indexes; returns what was fixed."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return []
    fixed = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f_table_name, f_geometry_column FROM geometry_columns"
            " WHERE spatial_index_enabled = 0 AND f_table_name NOT LIKE 'iso_%'"
        )
        for table, column in cursor.fetchall():
            index_table = connection.ops.quote_name(f"idx_{table}_{column}")
            cursor.execute(f"DROP TABLE IF EXISTS {index_table}")
            cursor.execute("SELECT CreateSpatialIndex(%s, %s)", [table, column])
            fixed.append(f"{table}.{column}")
    return fixed


def ensure_spatial_indexes_after_migrate(sender, using: str = "default", **kwargs) -> None:
    ensure_spatial_indexes(using=using)
