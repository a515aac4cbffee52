"""The `reads` row: every GET that a citizen, a team member, a planner or a GIS tool issues,
over HTTP against gunicorn as `make run` serves it, each against its own floor measured in the
same run: /healthz's p95 plus the p95 of the bare SQL that read must at least run, both at the
same concurrency (READ_CLIENTS).

Each read is a set of seeded parameters (bboxes, categories, a pin, a team), requested
`requests` times by READ_CLIENTS clients at once, with the answer cache cleared before each
parameter set (its first request is answered cold, as after an eviction). Pages behind a
sign-in (the team workspace, the planner page) are asked with a session of a member of the
team, or of a planner, made in the database as a sign-in makes it.

The floors are plain SQL on the same tables, written once per backend below: the rows a
read must return (a page of pins, the pin and its timeline) or the groups it must count
(per neighborhood, per cell), with the visibility rule of public outputs. A floor is what no
implementation can skip, so the ratio is the cost of everything else: Python, the answer's
encoding, HTTP. Reads with a date range have their own target (the kept totals have no time
dimension, so a dated read counts its pins).

The service-equity reads have their own row (service_equity_1m, the same method); they are
not repeated here.
"""

import os
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import numpy as np
from django.db import connection

from bench.rows import (
    HTTP_FLOOR_PATH,
    READ_CLIENTS,
    READ_REQUESTS,
    VIEWPORT_FLOOR_SQL,
    Context,
    Measurement,
    _close_connections,
    _gunicorn,
    _http_get_times,
    _median,
    _p95,
    _sql_times,
    _viewports,
    row,
)

READS_TARGET = 2.0  # p95 <= 2x (/healthz p95 + the bare SQL's p95)
READS_DATED_TARGET = 3.0  # with a date range
READS_SPATIALITE_TARGET = 3.0  # every read on the embedded default
PAGE_SIZE = 500  # the pin list's default page (mapideas.pins.api.IdeaPagination)
OGC_LIMIT = 10  # OGC API's default page (geodata.ogc.query.DEFAULT_LIMIT)

# The visibility rule of every public output (mapideas.models.PUBLIC_PINS), in SQL.
PUBLIC = "NOT awaiting_confirmation AND hidden_by_moderation_at IS NULL"

# The pins in a bbox, by backend: PostGIS's `&&` on the GiST index, SpatiaLite's R*Tree
# (its rows read by rowid). Numbers: min x, min y, max x, max y.
IN_BBOX = {
    "postgresql": "location && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
    "sqlite": (
        "id IN (SELECT pkid FROM idx_mapideas_idea_location"
        " WHERE xmax >= %s AND ymax >= %s AND xmin <= %s AND ymin <= %s)"
    ),
}
# Pins within a distance of a point (the similar pins' search), by backend: metres on the
# spheroid, through the spatial index.
NEAR = {
    "postgresql": (
        "location && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND ST_DWithin(location::geography,"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s)"
    ),
    "sqlite": (
        "id IN (SELECT pkid FROM idx_mapideas_idea_location WHERE xmax >= %s AND ymax >= %s"
        " AND xmin <= %s AND ymin <= %s)"
    ),
}


@dataclass(frozen=True)
class Read:
    """One GET and what it must at least run: `floor` is a list of (SQL, parameters)."""

    name: str
    who: str  # citizen, team, planner, gis
    path: str
    floor: list[tuple[str, list]]
    dated: bool = False
    details: dict = field(default_factory=dict)


def _bbox_sql(vendor: str, box: tuple[float, float, float, float]) -> tuple[str, list]:
    return IN_BBOX[vendor], list(box)


def _near_sql(vendor: str, x: float, y: float, metres: float) -> tuple[str, list]:
    # A box holding the circle, through the spatial index (on PostGIS, the exact distance
    # is then tested on the handful of rows in it).
    dy = metres / 111_320
    dx = dy / max(0.1, float(np.cos(np.radians(y))))
    box = [x - dx, y - dy, x + dx, y + dy]
    return NEAR[vendor], box + ([x, y, metres] if vendor == "postgresql" else [])


def _pin_page_sql(where: str) -> str:
    return (
        f"SELECT * FROM mapideas_idea WHERE {PUBLIC} AND {where}"  # noqa: S608 (constants)
        f" ORDER BY created_at DESC, id DESC LIMIT {PAGE_SIZE + 1}"
    )


def _counts_sql(key: str, where: str = "TRUE") -> str:
    return (
        f"SELECT {key}, COUNT(*) FROM mapideas_idea"  # noqa: S608 (constants)
        f" WHERE {PUBLIC} AND {where} GROUP BY {key}"
    )


NEIGHBORHOOD_SHAPES = (
    "SELECT n.id, n.name, n.slug, n.geometry FROM neighborhoods_neighborhood n"
    " JOIN neighborhoods_boundaryversion v ON v.id = n.version_id WHERE v.is_active"
)


def _reads(vendor: str, seed: int = 22) -> list[Read]:
    """Every read, with seeded parameters: the same every run."""
    from django.utils import timezone

    from mapideas.map.maps import extent
    from mapideas.models import Category, Idea

    rng = np.random.default_rng(seed)
    city = extent(Idea.objects.all(), field="location")
    if city is None:
        raise RuntimeError("the bench city has no pins")
    categories = list(Category.objects.order_by("pk").values_list("pk", "slug"))
    category_pk, category_slug = categories[int(rng.integers(0, len(categories)))]
    today = timezone.localdate()
    start = today - timedelta(days=int(rng.integers(60, 150)))
    end = start + timedelta(days=45)
    dated_params = {"created_after": start.isoformat(), "created_before": end.isoformat()}
    dated_where = "created_at >= %s AND created_at < %s"
    dated_values = [start.isoformat(), (end + timedelta(days=1)).isoformat()]
    reads: list[Read] = []

    # The front door: the city's neighborhoods on a map beside the form to drop a pin.
    reads.append(
        Read(
            "home page, the map and the form to drop a pin",
            "citizen",
            "/",
            [
                (NEIGHBORHOOD_SHAPES, []),
                ("SELECT id, slug, name, name_translations FROM mapideas_category", []),
            ],
        )
    )
    # The citizen's map: the pin list in a zoom-13 view, with and without a filter.
    for box in _viewports(13, city, 2, seed=seed):
        bbox = ",".join(f"{n:.6f}" for n in box)
        where, values = _bbox_sql(vendor, box)
        reads.append(
            Read(
                "pin list, zoom-13 bbox",
                "citizen",
                f"/api/ideas/?bbox={bbox}",
                [(_pin_page_sql(where), values)],
            )
        )
        reads.append(
            Read(
                "pin list, zoom-13 bbox and a category",
                "citizen",
                f"/api/ideas/?bbox={bbox}&category={category_slug}",
                [(_pin_page_sql(f"{where} AND category_id = %s"), [*values, category_pk])],
            )
        )
    reads.append(
        Read(
            "pin list, a date range",
            "citizen",
            "/api/ideas/?" + urlencode(dated_params),
            [(_pin_page_sql(dated_where), dated_values)],
            dated=True,
        )
    )
    # The viewport at three zooms: its floor is the viewport row's (the clusters' GROUP BY,
    # or the newest pins in view), chosen by the answer's mode.
    for zoom in (10, 13, 16):
        for box in _viewports(zoom, city, 2, seed=seed):
            bbox = ",".join(f"{n:.6f}" for n in box)
            reads.append(
                Read(
                    f"viewport, zoom {zoom}",
                    "citizen",
                    f"/api/ideas/viewport/?bbox={bbox}&zoom={zoom}",
                    [],  # set once the answer's mode is known (_viewport_floor)
                    details={"zoom": zoom, "box": box},
                )
            )
    # The neighborhoods with their counts.
    reads.append(
        Read(
            "neighborhoods",
            "citizen",
            "/api/neighborhoods/",
            [(NEIGHBORHOOD_SHAPES, []), (_counts_sql("neighborhood_id"), [])],
        )
    )
    # A pin's page and its similar pins (as the form asks while a pin is placed).
    public = Idea.objects.filter(awaiting_confirmation=False, hidden_by_moderation_at=None)
    last = public.order_by("-pk").values_list("pk", flat=True).first() or 0
    pin = public.filter(pk__gte=int(rng.integers(1, max(2, last)))).order_by("pk").first()
    if pin is not None:
        reads.append(
            Read(
                "pin page",
                "citizen",
                f"/ideas/{pin.pk}/",
                [
                    (
                        "SELECT i.*, c.slug, t.name, n.name FROM mapideas_idea i"
                        " JOIN mapideas_category c ON c.id = i.category_id"
                        " JOIN neighborhoods_team t ON t.id = i.team_id"
                        " LEFT JOIN neighborhoods_neighborhood n ON n.id = i.neighborhood_id"
                        " WHERE i.id = %s",
                        [pin.pk],
                    ),
                    ("SELECT * FROM mapideas_routingevent WHERE idea_id = %s", [pin.pk]),
                ],
            )
        )
        x, y = pin.location.x, pin.location.y
        where, values = _near_sql(vendor, x, y, 200)
        reads.append(
            Read(
                "similar pins, 200 m",
                "citizen",
                "/api/ideas/similar/?"
                + urlencode(
                    {
                        "lon": f"{x:.6f}",
                        "lat": f"{y:.6f}",
                        "zoom": 15,
                        "title": "Broken streetlight",
                        "category": category_slug,
                    }
                ),
                [
                    (
                        f"SELECT id, title, location FROM mapideas_idea WHERE {PUBLIC}"  # noqa: S608
                        f" AND {where} AND status NOT IN ('done', 'declined', 'duplicate')",
                        values,
                    )
                ],
            )
        )
    # The planner's layers, without and with a date range.
    reads.append(
        Read(
            "engagement neighborhoods",
            "planner",
            "/api/engagement/neighborhoods/",
            [(NEIGHBORHOOD_SHAPES, []), (_counts_sql("neighborhood_id"), [])],
        )
    )
    reads.append(
        Read(
            "engagement neighborhoods, a date range",
            "planner",
            "/api/engagement/neighborhoods/?" + urlencode(dated_params),
            [
                (NEIGHBORHOOD_SHAPES, []),
                (_counts_sql("neighborhood_id", dated_where), dated_values),
            ],
            dated=True,
        )
    )
    for resolution in (7, 8, 9):
        reads.append(
            Read(
                f"engagement hexagons, resolution {resolution}",
                "planner",
                f"/api/engagement/hexagons/?resolution={resolution}",
                [(_counts_sql(f"h3_res{resolution}"), [])],
            )
        )
    reads.append(
        Read(
            "engagement hexagons, resolution 8, a date range",
            "planner",
            "/api/engagement/hexagons/?resolution=8&" + urlencode(dated_params),
            [(_counts_sql("h3_res8", dated_where), dated_values)],
            dated=True,
        )
    )
    for layer in ("coldspots", "outreach"):
        reads.append(
            Read(
                f"engagement {layer}",
                "planner",
                f"/api/engagement/{layer}/",
                [(NEIGHBORHOOD_SHAPES, []), (_counts_sql("neighborhood_id"), [])],
            )
        )
    # GIS tools: OGC API items, the first page and one at 90% depth; Open311's list.
    total = public.count()
    reads.append(
        Read(
            "OGC API items, first page",
            "gis",
            "/ogc/collections/ideas/items?f=json",
            [(_ogc_page_sql(), [])],
        )
    )
    deep = int(total * 0.9)
    cursor_path, cursor_floor = _ogc_deep_page(deep)
    reads.append(
        Read(
            f"OGC API items, page at 90% depth by its next link (pin {deep:,})",
            "gis",
            cursor_path,
            [cursor_floor],
            details={"depth": deep, "of": total},
        )
    )
    reads.append(
        Read(
            f"OGC API items, page at 90% depth by offset (pin {deep:,})",
            "gis",
            f"/ogc/collections/ideas/items?f=json&offset={deep}",
            [(_ogc_page_sql() + f" OFFSET {deep}", [])],
            details={"depth": deep, "of": total},
        )
    )
    reads.append(
        Read(
            "Open311 requests.json",
            "gis",
            "/open311/v2/requests.json",
            [
                (
                    f"SELECT * FROM mapideas_idea WHERE {PUBLIC} AND created_at >= %s"  # noqa: S608
                    " ORDER BY created_at DESC, id DESC LIMIT 1000",
                    [(timezone.now() - timedelta(days=90)).isoformat()],
                )
            ],
        )
    )
    # Signed in: a team's workspace, the planner page.
    team_id = (Idea.objects.values("team_id").order_by("team_id").first() or {"team_id": None})[
        "team_id"
    ]
    if team_id is not None:
        from neighborhoods.models import Team

        team = Team.objects.get(pk=team_id)
        reads.append(
            Read(
                "team workspace",
                "team",
                f"/teams/{team.slug}/",
                [
                    (
                        "SELECT * FROM mapideas_idea WHERE team_id = %s"
                        " AND status NOT IN ('done', 'declined', 'duplicate')"
                        " ORDER BY created_at DESC, id DESC LIMIT 51",
                        [team_id],
                    ),
                    (
                        "SELECT status, COUNT(*) FROM mapideas_idea WHERE team_id = %s"
                        " GROUP BY status",
                        [team_id],
                    ),
                ],
                details={"team": team.slug},
            )
        )
    reads.append(
        Read(
            "planner page",
            "planner",
            "/planner/",
            [
                (NEIGHBORHOOD_SHAPES, []),
                (_counts_sql("neighborhood_id"), []),
                (_counts_sql("h3_res8"), []),
            ],
        )
    )
    return reads


def _ogc_page_sql(offset_where: str = "TRUE") -> str:
    return (
        f"SELECT * FROM mapideas_idea WHERE {PUBLIC} AND {offset_where}"  # noqa: S608
        f" ORDER BY created_at DESC, id DESC LIMIT {OGC_LIMIT + 1}"
    )


def _ogc_deep_page(depth: int) -> tuple[str, tuple[str, list]]:
    """The path of the items page that starts `depth` pins in, as a client reaches it by
    following `next` links (the link of the page before it, asked once, untimed), and its
    floor: the same page read by key (the row where it starts found once, untimed, as the
    client's previous page found it).

    Asked by `offset` instead, the same page has another floor: the SQL must at least skip
    `depth` rows of the index (the read by offset, in _reads)."""
    import json

    from django.test import Client

    from mapideas.models import Idea

    before = Client(HTTP_HOST="127.0.0.1").get(
        "/ogc/collections/ideas/items",
        {"f": "json", "limit": OGC_LIMIT, "offset": max(0, depth - OGC_LIMIT)},
    )
    links = json.loads(before.content)["links"]
    following = next(link["href"] for link in links if link["rel"] == "next")
    parts = urlsplit(following)
    path = f"{parts.path}?{parts.query}"

    start = (
        Idea.objects.filter(awaiting_confirmation=False, hidden_by_moderation_at=None)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[depth : depth + 1]
    )
    created_at, pk = start[0]
    floor = (
        _ogc_page_sql("(created_at, id) <= (%s, %s)"),
        [created_at.isoformat() if connection.vendor == "sqlite" else created_at, pk],
    )
    return path, floor


def _session_cookie(who: str, team_slug: str | None) -> str:
    """A session of a team member (of `team_slug`) or a planner, as a sign-in makes it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User

    from neighborhoods.models import Team
    from neighborhoods.roles import planners_group

    user, _ = User.objects.get_or_create(username=f"bench-{who}")
    if who == "planner":
        user.groups.add(planners_group())
    elif team_slug is not None:
        Team.objects.get(slug=team_slug).members.add(user)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def _viewport_floor(vendor: str, read: Read, answer: dict) -> list[tuple[str, list]]:
    from mapideas.map import viewport

    zoom, box = read.details["zoom"], read.details["box"]
    mode = answer["mode"]
    start = next((r for up_to, r in viewport.RESOLUTION_BY_ZOOM if zoom <= up_to), 9)
    sql = VIEWPORT_FLOOR_SQL[mode][vendor].format(column=f"h3_res{start}")
    numbers = list(box) if vendor == "postgresql" else [box[2], box[0], box[3], box[1]]
    return [(sql, numbers)]


@row(
    "reads",
    unit="ms",
    target=READS_TARGET,
    spatialite_target=READS_SPATIALITE_TARGET,
    value=(
        "every GET of citizens, teams, planners and GIS tools (pin list, viewport at zooms "
        "10/13/16, neighborhoods, pin page, similar pins, engagement layers, OGC API items "
        "first and 90%-deep pages, Open311 requests.json, team workspace, planner page) over "
        f"HTTP against gunicorn as make run serves it, {READ_CLIENTS} clients, seeded "
        "parameters, answer cache cleared per parameter set: p95 of the worst read"
    ),
    floor="/healthz p95 + the p95 of the bare SQL that read must run, same clients",
)
def reads(context: Context) -> Measurement:
    import json
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import cache
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)
    vendor = connection.vendor
    target = READS_TARGET if vendor == "postgresql" else READS_SPATIALITE_TARGET
    requests = max(8, min(READ_REQUESTS, 10 * context.runs))
    all_reads = _reads(vendor)
    cookies = {
        "team": _session_cookie(
            "team", next((r.details["team"] for r in all_reads if r.who == "team"), None)
        ),
        "planner": _session_cookie("planner", None),
    }
    per_read: dict[str, dict] = {}
    worst = {"plain": (0.0, 1.0, ""), "dated": (0.0, 1.0, "")}
    with (
        tempfile.TemporaryDirectory(prefix="mapideas-bench-reads-") as tmp,
        _gunicorn(os.path.join(tmp, "gunicorn.log")) as url,
        ThreadPoolExecutor(max_workers=READ_CLIENTS) as pool,
    ):
        _http_get_times(pool, url, [HTTP_FLOOR_PATH] * READ_CLIENTS * 2)
        healthz = _p95(_http_get_times(pool, url, [HTTP_FLOOR_PATH] * requests * 4))
        for read in all_reads:
            cookie = cookies.get(read.who)
            headers = {"Cookie": cookie} if cookie else None
            floor_sql = read.floor
            if read.path.startswith("/api/ideas/viewport/"):
                with urllib.request.urlopen(url + read.path, timeout=300) as answer:  # noqa: S310
                    floor_sql = _viewport_floor(vendor, read, json.loads(answer.read()))
            cache.clear()
            product = _http_get_times(pool, url, [read.path] * requests, headers)
            _sql_times(pool, [floor_sql] * READ_CLIENTS)  # untimed: each thread connected
            bare = _sql_times(pool, [floor_sql] * requests)
            floor = healthz + _p95(bare)
            label = f"{read.name} ({read.who}) {read.path}"
            ratio = _p95(product) / floor
            per_read[label] = {
                "p50_ms": round(_median(product), 1),
                "p95_ms": round(_p95(product), 1),
                "floor_p95_ms": round(floor, 1),
                "sql_p95_ms": round(_p95(bare), 1),
                "ratio": round(ratio, 3),
                "target": READS_DATED_TARGET if read.dated else target,
                "met": ratio <= (READS_DATED_TARGET if read.dated else target),
            }
            context.log(f"  {label}: {per_read[label]}")
            which = "dated" if read.dated else "plain"
            if ratio > worst[which][0] / worst[which][1]:
                worst[which] = (_p95(product), floor, label)
        _close_connections(pool)
    dated_ratio = worst["dated"][0] / worst["dated"][1]
    return Measurement(
        value=worst["plain"][0],
        floor=worst["plain"][1],
        details={
            "worst_read": worst["plain"][2],
            "healthz_p95_ms": round(healthz, 1),
            "reads": per_read,
            "missed": [label for label, figures in per_read.items() if not figures["met"]],
            "requests_per_read": requests,
            "clients": READ_CLIENTS,
            "worst_dated_read": worst["dated"][2],
            "dated_ratio": round(dated_ratio, 3),
            "also_target": f"dated reads p95 <= {READS_DATED_TARGET:g}x their floor",
            "also_met": dated_ratio <= READS_DATED_TARGET,
        },
    )
