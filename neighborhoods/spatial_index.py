"""Rows whose geometry may meet a box, found through the spatial index, on both databases.

GeoDjango's lookups (`intersects`, `covers`, `distance_lte`, `bboverlaps`...) use PostGIS's
GiST index, but on SpatiaLite they are plain function calls: SQLite tests every row (a whole
table scan, 0.8 s for a zoom-13 map view of 100,000 pins). SpatiaLite keeps an R*Tree of each
indexed geometry column in a virtual table, `idx_<table>_<column>` (pkid, xmin, xmax, ymin,
ymax), which its planner never consults on its own: the rows must be asked of it, as here.

Both indexes hold boxes rounded outward (PostGIS to float4, SQLite's R*Tree to 32-bit floats):
the rows found are every row whose geometry's box meets the box, and possibly a few up to
about a metre outside it. Callers keep their exact test after this one. The index of a column
must be alive on SpatiaLite: mapideas.plumbing.spatialite re-creates any that a table rebuild
switched off.

Here, not in mapideas' plumbing, because routing (which knows no pin) needs it too.
"""

from typing import TypeVar

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import Polygon
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL

M = TypeVar("M", bound=Model)

Box = tuple[float, float, float, float]  # min x, min y, max x, max y, in the field's SRID


def in_spatial_index(
    rows: QuerySet[M], field: str, box: Box, *, gist_lookup_follows: bool = False
) -> QuerySet[M]:
    """`rows` narrowed by the spatial index of their geometry `field` to those whose box meets
    `box`, its edges included: a superset of the rows whose geometry meets it (above).

    `gist_lookup_follows`: the caller's exact test is a lookup PostGIS answers from its GiST
    index by itself (`intersects`, `covers`): on PostGIS `rows` are then left as they are,
    since a second `&&` would only skew the planner's estimate of the rows.

    On SpatiaLite the model's primary key must be its rowid (an integer key): the R*Tree's
    `pkid` is the rowid."""
    model = rows.model
    geometry = model._meta.get_field(field)
    if not isinstance(geometry, GeometryField):
        raise TypeError(f"{model.__name__}.{field} is not a geometry field")
    connection = connections[rows.db]
    min_x, min_y, max_x, max_y = box
    if connection.vendor == "sqlite":
        # An IN over the R*Tree, not a join: SQLite then reads the index first and each row
        # found by its rowid (EXPLAIN QUERY PLAN: SCAN of the idx table, then SEARCH of the
        # table USING INTEGER PRIMARY KEY).
        sql = rtree_ids_sql(rows, field)
        return rows.filter(pk__in=RawSQL(sql, (max_x, min_x, max_y, min_y)))  # noqa: S611
    if gist_lookup_follows:
        return rows
    # PostGIS: `&&` on the GiST index. A box with no area is still a box to `&&`.
    envelope = Polygon.from_bbox(box)
    envelope.srid = geometry.srid
    return rows.filter(**{f"{field}__bboverlaps": envelope})


def rtree_ids_sql(rows: QuerySet, field: str) -> str:
    """SpatiaLite: the SQL selecting the ids whose box in the R*Tree of `rows`' geometry `field`
    meets a box given as four parameters: max x, min x, max y, min y. For callers that ask
    several boxes at once (an OR of boxes is beyond SQLite's use of the R*Tree)."""
    model = rows.model
    geometry = model._meta.get_field(field)
    if not isinstance(geometry, GeometryField):
        raise TypeError(f"{model.__name__}.{field} is not a geometry field")
    quote = connections[rows.db].ops.quote_name
    index = quote(f"idx_{model._meta.db_table}_{geometry.column}")
    # The table name comes from the model's metadata, quoted: no user text. The numbers are
    # parameters.
    return (
        f"SELECT pkid FROM {index}"  # noqa: S608
        " WHERE xmin <= %s AND xmax >= %s AND ymin <= %s AND ymax >= %s"
    )
