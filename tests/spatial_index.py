"""Pins on the edges of a bbox and just outside them, and a check that SQLite's plan reads a
geometry filter through the R*Tree (neighborhoods.spatial_index) instead of a full scan.

The R*Tree stores 32-bit floats rounded outward: a pin a few 1e-7 degrees outside an edge can
share the edge's float32 box, so the index finds it and only the exact test leaves it out.
"""

from dataclasses import dataclass

from django.contrib.gis.geos import Point, Polygon
from django.db import connection

from mapideas.models import Category, Idea
from mapideas.submission.services import idea_create

# In the test city's West Side (tests.conftest), clear of its holes' edges.
BBOX = (4.0, 50.0, 4.012, 50.004)
# Less than one float32 step (4.8e-7 at 4°, 3.8e-6 at 50°) outside each edge.
DX, DY = 1e-7, 1e-6


@dataclass(frozen=True)
class EdgePins:
    bbox: Polygon
    inside: list[Idea]  # on the four edges and corners, and one well inside
    outside: list[Idea]  # just outside each edge


def edge_pins(category: Category) -> EdgePins:
    x0, y0, x1, y1 = BBOX
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    on = [(x0, my), (x1, my), (mx, y0), (mx, y1), (x0, y0), (x1, y1), (mx, my)]
    off = [(x0 - DX, my), (x1 + DX, my), (mx, y0 - DY), (mx, y1 + DY), (x1 + DX, y1 + DY)]

    def pins(points: list[tuple[float, float]], title: str) -> list[Idea]:
        return [
            idea_create(
                kind="idea",
                title=f"{title} {i}",
                category=category,
                location=Point(x, y, srid=4326),
            )
            for i, (x, y) in enumerate(points)
        ]

    bbox = Polygon.from_bbox(BBOX)
    bbox.srid = 4326
    return EdgePins(bbox=bbox, inside=pins(on, "on the edge"), outside=pins(off, "just outside"))


def bbox_param() -> str:
    return ",".join(repr(n) for n in BBOX)


def assert_read_through_rtree(captured: list[dict], table: str, column: str) -> None:
    """On SpatiaLite: a captured query asks `table`'s R*Tree of `column`, and SQLite's plan
    for each such query scans the R*Tree's virtual table and reads the rows of `table` by
    rowid (SEARCH ... USING INTEGER PRIMARY KEY (rowid=?), or USING INDEX ... (version_id=?
    AND rowid=?)), never a full scan of `table`. On PostGIS nothing to check here: its lookups
    use the GiST index by themselves."""
    if connection.vendor != "sqlite":
        return
    index = f"idx_{table}_{column}"
    asking = [q["sql"] for q in captured if index in q["sql"]]
    assert asking, f"no query asked {index}"
    for sql in asking:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = [row[-1] for row in cursor.fetchall()]
        assert any(step.startswith(f"SCAN {index} VIRTUAL TABLE") for step in plan), plan
        # By rowid alone, or by an index on a column the query also filters on and the rowid.
        assert any(
            step.startswith(f"SEARCH {table} USING") and "rowid=?" in step for step in plan
        ), plan
        assert f"SCAN {table}" not in plan, plan
