"""The benchmark city: the demo city's 77 community areas, two boundary versions, N open ideas.

The polygons go through the real importer path (geodata.demo.demo_neighborhoods, then
neighborhoods.services.boundary_version_create and mapideas.rerouting.services.boundaries_activate):

- version A groups the areas into the nine demo teams (Chicago's "sides");
- version B has the same polygons, but every third area (by name) is redistricted to the next
  side's team, so switching A <-> B sends about a third of the pins to another team, and every
  open pin to another polygon row (the new version's).

The ideas are not created one by one through idea_create (1M of them would take hours): they
are generated in SQL on PostGIS (random points in the city's extent, each kept only where a
neighborhood of version A covers it, routed like route() would), and in Python with shapely
on SpatiaLite, then written in batches. All are open (status "new"), routed by version A, and
each has its "created" routing event, as a real pin would.
"""

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

import numpy as np
import shapely
from django.db import connection, transaction
from django.utils import timezone

from geodata.demo import SIDES, demo_neighborhoods
from mapideas.cells import CELL_FIELDS, many_pin_cells
from mapideas.models import Category
from mapideas.rerouting.services import boundaries_activate
from neighborhoods.models import BoundaryVersion, Neighborhood
from neighborhoods.routing import OWNER_ORDER
from neighborhoods.services import NeighborhoodInput, boundary_version_create

SEED = 77
SPATIALITE_BATCH = 20_000
CELL_BATCH = 100_000
# The ORDER BY of the owner lookups below spells out OWNER_ORDER.
assert OWNER_ORDER == ("-priority", "area_m2", "slug"), "keep the owner ORDER BY in step"

Log = Callable[[str], None]


@dataclass(frozen=True)
class City:
    version_a: BoundaryVersion
    version_b: BoundaryVersion
    neighborhoods: int  # per version
    ideas: int
    # Ideas whose team differs between A and B: what every switch moves.
    team_changes: int
    seconds: float


def redistricted(items: list[NeighborhoodInput]) -> list[NeighborhoodInput]:
    """The same neighborhoods with every third one (by name) given to the next side's team."""
    teams = [f"{side} team" for side in SIDES]
    changed = {}
    for index, item in enumerate(sorted(items, key=lambda i: i.name)):
        if index % 3 == 0 and item.team_name in teams:
            following = teams[(teams.index(item.team_name) + 1) % len(teams)]
            changed[item.name] = dataclasses.replace(item, team_name=following)
    return [changed.get(item.name, item) for item in items]


def build_city(*, ideas: int, log: Log, seed: int = SEED) -> City:
    """Load both boundary versions (A active), then `ideas` open ideas routed by A."""
    started = time.perf_counter()
    items = demo_neighborhoods()
    version_a, _ = boundary_version_create(label="bench A: the nine sides", items=items)
    boundaries_activate(version=version_a, reason="Benchmark city loaded.")
    version_b, changes = boundary_version_create(
        label="bench B: every third area redistricted", items=redistricted(items)
    )
    log(
        f"boundaries: {len(items)} neighborhoods per version; B gives "
        f"{len(changes.changed)} of them to another team"
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _ideas_postgis(version_a, ideas, seed, log)
        else:
            _ideas_spatialite(version_a, ideas, seed, log)
        _pin_cells(log)
        _created_events()
        log("ideas: each has its 'created' routing event")
        _first_answers(version_a)
        log("ideas: about 4 in 5 have their first answer, one side's slower than the rest")
    _vacuum_analyze()
    log("VACUUM ANALYZE done")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM mapideas_idea i"
            " JOIN neighborhoods_neighborhood na ON na.id = i.neighborhood_id"
            " JOIN neighborhoods_neighborhood nb ON nb.version_id = %s AND nb.slug = na.slug"
            " WHERE nb.team_id <> na.team_id",
            [version_b.pk],
        )
        team_changes = cursor.fetchone()[0]
    return City(
        version_a=version_a,
        version_b=version_b,
        neighborhoods=len(items),
        ideas=ideas,
        team_changes=team_changes,
        seconds=time.perf_counter() - started,
    )


def _categories() -> list[int]:
    ids = list(Category.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        ids = [Category.objects.create(slug="other", name="Something else").pk]
    return ids


def _quotas(count: int, weights: list[float]) -> list[int]:
    """`count` split in proportion to `weights` (largest remainders), summing to `count`."""
    total = sum(weights)
    exact = [count * w / total for w in weights]
    quotas = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(exact)), key=lambda k: quotas[k] - exact[k])
    for k in by_remainder[: count - sum(quotas)]:
        quotas[k] += 1
    return quotas


def _ideas_postgis(version: BoundaryVersion, count: int, seed: int, log: Log) -> None:
    """Points drawn polygon by polygon: each neighborhood gets a share of `count` in proportion
    to its area, drawn uniformly in its bounding box and kept where the polygon covers them
    (one polygon at a time, so PostGIS prepares each polygon once). The bench city has no
    overlapping neighborhoods, so the polygon a point was drawn in is its owner under
    OWNER_ORDER too. Rows are inserted in creation-time order, so ids follow time and not
    place, as in a real city."""
    if version.overlap_area_m2 > 0:
        raise RuntimeError("the bench city must have no overlapping neighborhoods")
    neighborhoods = list(Neighborhood.objects.filter(version=version).order_by("pk"))
    shapes = [shapely.from_wkb(bytes(n.geometry.wkb)) for n in neighborhoods]
    bounds = [shape.bounds for shape in shapes]
    # Points to draw per kept point: the box's area over the polygon's, with a margin.
    misses = [
        (b[2] - b[0]) * (b[3] - b[1]) / shape.area for b, shape in zip(bounds, shapes, strict=True)
    ]
    wanted = _quotas(count, [n.area_m2 for n in neighborhoods])
    params = {
        "ids": [n.pk for n in neighborhoods],
        "x": [b[0] for b in bounds],
        "y": [b[1] for b in bounds],
        "w": [b[2] - b[0] for b in bounds],
        "h": [b[3] - b[1] for b in bounds],
        "categories": _categories(),
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        while sum(wanted):
            params["quotas"] = wanted
            params["draws"] = [
                math.ceil(q * m * 1.2) + 50 for q, m in zip(wanted, misses, strict=True)
            ]
            cursor.execute(
                "INSERT INTO mapideas_idea (kind, title, description, category_id, location,"
                " neighborhood_id, team_id, status, channel, author_id, created_at, updated_at)"
                " SELECT kind, 'Benchmark pin', '', category_id, geom, neighborhood_id, team_id,"
                " 'new', 'web', NULL, created_at, %(now)s FROM ("
                " SELECT CASE WHEN random() < 0.6 THEN 'issue' ELSE 'idea' END AS kind,"
                " (%(categories)s::bigint[])[1 + floor(random()"
                " * cardinality(%(categories)s::bigint[]))::int] AS category_id,"
                " p.geom, n.id AS neighborhood_id, n.team_id,"
                " %(now)s - random() * interval '180 days' AS created_at"
                " FROM unnest(%(ids)s::bigint[], %(quotas)s::int[], %(draws)s::int[],"
                " %(x)s::float8[], %(y)s::float8[], %(w)s::float8[], %(h)s::float8[])"
                " AS q(id, quota, draws, x, y, w, h)"
                " JOIN neighborhoods_neighborhood n ON n.id = q.id"
                " CROSS JOIN LATERAL (SELECT d.geom FROM (SELECT ST_SetSRID(ST_MakePoint("
                " q.x + random() * q.w, q.y + random() * q.h), 4326) AS geom"
                " FROM generate_series(1, q.draws)) d"
                " WHERE ST_Covers(n.geometry, d.geom) LIMIT q.quota) p"
                " WHERE q.quota > 0) drawn"
                " ORDER BY created_at",
                params,
            )
            cursor.execute(
                "SELECT neighborhood_id, COUNT(*) FROM mapideas_idea GROUP BY neighborhood_id"
            )
            have = dict(cursor.fetchall())
            total = _quotas(count, [n.area_m2 for n in neighborhoods])
            wanted = [
                max(0, q - have.get(n.pk, 0)) for q, n in zip(total, neighborhoods, strict=True)
            ]
            log(f"ideas: {count - sum(wanted):,} of {count:,} inserted")


def _ideas_spatialite(version: BoundaryVersion, count: int, seed: int, log: Log) -> None:
    """Random points in the city's extent, routed with a shapely STRtree (owner by
    OWNER_ORDER, like route()), written in batches."""
    owners = list(Neighborhood.objects.filter(version=version).order_by(*OWNER_ORDER))
    polygons = [shapely.from_wkb(bytes(n.geometry.wkb)) for n in owners]
    tree = shapely.STRtree(polygons)
    min_x, min_y, max_x, max_y = shapely.union_all(polygons).bounds
    categories = np.array(_categories())
    rng = np.random.default_rng(seed)
    now = timezone.now().astimezone(UTC).replace(tzinfo=None)
    inserted = 0
    with connection.cursor() as cursor:
        while inserted < count:
            xs = rng.uniform(min_x, max_x, SPATIALITE_BATCH * 2)
            ys = rng.uniform(min_y, max_y, SPATIALITE_BATCH * 2)
            point_index, owner_index = tree.query(shapely.points(xs, ys), predicate="covered_by")
            # The first owner (in OWNER_ORDER, which is the tree's order) of each point.
            order = np.lexsort((owner_index, point_index))
            points, first = np.unique(point_index[order], return_index=True)
            chosen = owner_index[order][first][: count - inserted]
            points = points[: len(chosen)]
            kinds = rng.random(len(points)) < 0.6
            cats = categories[rng.integers(0, len(categories), len(points))]
            ages = rng.random(len(points)) * 180
            rows = [
                (
                    "issue" if kinds[k] else "idea",
                    int(cats[k]),
                    float(xs[p]),
                    float(ys[p]),
                    owners[o].pk,
                    owners[o].team_id,
                    (now - timedelta(days=float(ages[k]))).isoformat(" "),
                    now.isoformat(" "),
                )
                for k, (p, o) in enumerate(zip(points, chosen, strict=True))
            ]
            cursor.executemany(
                "INSERT INTO mapideas_idea (kind, title, description, category_id, location,"
                " neighborhood_id, team_id, status, channel, author_id, created_at, updated_at)"
                " VALUES (%s, 'Benchmark pin', '', %s, MakePoint(%s, %s, 4326), %s, %s,"
                " 'new', 'web', NULL, %s, %s)",
                rows,
            )
            inserted += len(rows)
            log(f"ideas: {inserted:,} of {count:,} inserted")


def _pin_cells(log: Log) -> None:
    """Each pin's H3 cells, which Idea.save() and the imports write with the location: here
    computed by mapideas.cells for every pin the SQL above inserted without them."""
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id, ST_X(location), ST_Y(location) FROM mapideas_idea"
                " WHERE h3_res9 IS NULL AND id > %s ORDER BY id LIMIT %s",
                [last, CELL_BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            ids = [row[0] for row in rows]
            cells = many_pin_cells((row[1], row[2]) for row in rows)
            by_field = {field: [c[field] for c in cells] for field in CELL_FIELDS.values()}
            if connection.vendor == "postgresql":
                cursor.execute(
                    "UPDATE mapideas_idea i SET h3_res7 = c.r7, h3_res8 = c.r8, h3_res9 = c.r9"
                    " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
                    " AS c(id, r7, r8, r9) WHERE i.id = c.id",
                    [ids, *by_field.values()],
                )
            else:
                cursor.executemany(
                    "UPDATE mapideas_idea SET h3_res7 = %s, h3_res8 = %s, h3_res9 = %s"
                    " WHERE id = %s",
                    [(*c.values(), pk) for c, pk in zip(cells, ids, strict=True)],
                )
            last = ids[-1]
    log("ideas: each has its H3 cells")


def _created_events() -> None:
    """Each idea's 'created' routing event, as idea_create writes it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mapideas_routingevent (idea_id, cause, from_neighborhood_id,"
            " to_neighborhood_id, from_team_id, to_team_id, boundary_version_id, reason,"
            " actor_id, created_at)"
            " SELECT i.id, 'created', NULL, i.neighborhood_id, NULL, i.team_id, n.version_id,"
            " 'Inside ' || n.name || '.', NULL, i.created_at"
            " FROM mapideas_idea i JOIN neighborhoods_neighborhood n ON n.id = i.neighborhood_id"
        )


# The share of pins answered, and the slow side: what the service-equity rows read. Pins stay
# open (status "new" with a public answer), so every re-route row moves all of them as before.
ANSWERED_SHARE = 0.8
SLOW_SIDE = "South Side"


def _first_answers(version: BoundaryVersion) -> None:
    """A first answer for about 4 in 5 pins, 0 to 20 days after the pin (skewed to a few
    days), three times slower for the slow side's team: the city that the service-equity
    layers and their slow spots are measured on."""
    slow_team = (
        Neighborhood.objects.filter(version=version, team__name=f"{SLOW_SIDE} team")
        .values_list("team_id", flat=True)
        .first()
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE mapideas_idea SET first_response_at = LEAST(%(now)s, created_at"
                " + random() * random() * CASE WHEN team_id = %(slow)s THEN 60 ELSE 20 END"
                " * interval '1 day') WHERE random() < %(share)s",
                {"now": timezone.now(), "slow": slow_team, "share": ANSWERED_SHARE},
            )
        else:
            # Django keeps SQLite datetimes as naive UTC text; abs(random()) % n is uniform
            # enough here. Seconds: 20 (60) days at most, skewed by the product of two draws.
            cursor.execute(
                "UPDATE mapideas_idea SET first_response_at = MIN(%s, strftime("
                "'%%Y-%%m-%%d %%H:%%M:%%f', created_at, '+' || CAST((abs(random()) %% 1000000)"
                " / 1e6 * (abs(random()) %% 1000000) / 1e6 * CASE WHEN team_id = %s THEN 60"
                " ELSE 20 END * 86400 AS INTEGER) || ' seconds'))"
                " WHERE abs(random()) %% 1000 < %s",
                [
                    timezone.now().astimezone(UTC).replace(tzinfo=None).isoformat(" "),
                    slow_team,
                    int(ANSWERED_SHARE * 1000),
                ],
            )


def _vacuum_analyze() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # FULL: the cells were written by an UPDATE of every row (see _pin_cells), which
            # leaves a dead copy of each; scans must not pay for them.
            cursor.execute("VACUUM FULL ANALYZE")
        else:
            cursor.execute("VACUUM")
            cursor.execute("ANALYZE")
