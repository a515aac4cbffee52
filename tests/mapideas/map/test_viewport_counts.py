"""The viewport's counts kept on write: mapideas_viewportcount, kept by database
triggers, equals a fresh GROUP BY of the public pins after every kind of write, and the
clusters read from it equal the clusters counted from the pins."""

import random
from collections import Counter

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection

from mapideas.cells import pin_cells
from mapideas.map import viewport as viewport_module
from mapideas.map import viewport_counts
from mapideas.map.viewport import viewport
from mapideas.map.viewport_counts import CountFilters
from mapideas.models import PUBLIC_PINS, Category, Idea, ViewportCellCount, ViewportCount
from mapideas.moderation.services import idea_flag, idea_moderate
from mapideas.pins.selectors import public_ideas
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change, ideas_bulk_update
from neighborhoods.services import NeighborhoodInput, boundary_version_create
from tests.conftest import IN_EAST, IN_WEST, square

pytestmark = pytest.mark.django_db

CITY_BBOX = Polygon.from_bbox((3.99, 49.99, 4.07, 50.02))


def kept() -> Counter:
    """The summary as the triggers left it (rows whose count fell to 0 left out)."""
    return Counter(
        {
            (r.resolution, r.cell, r.category_id, r.status, r.kind, r.channel, r.team_id,
             r.neighborhood_id): r.n
            for r in ViewportCount.objects.all()
            if r.n
        }
    )  # fmt: skip


def recounted() -> Counter:
    """The same counts, from the public pins themselves."""
    counts: Counter = Counter()
    for pin in Idea.objects.filter(PUBLIC_PINS):
        for resolution in (7, 8, 9):
            cell = getattr(pin, f"h3_res{resolution}") or 0
            key = (
                resolution,
                cell,
                pin.category_id,
                pin.status,
                pin.kind,
                pin.channel,
                pin.team_id,
                pin.neighborhood_id or 0,
            )
            counts[key] += 1
    return counts


def kept_totals() -> Counter:
    """The per-cell totals (ViewportCellCount) as the triggers left them."""
    return Counter({(r.resolution, r.cell): r.n for r in ViewportCellCount.objects.all() if r.n})


def recounted_totals() -> Counter:
    """The same totals, from the per-filter counts recounted from the pins."""
    totals: Counter = Counter()
    for key, n in recounted().items():
        totals[key[:2]] += n
    return totals


def assert_exact() -> None:
    assert kept() == recounted()
    assert kept_totals() == recounted_totals()


@pytest.fixture
def pins(city, category) -> list[Idea]:
    other = Category.objects.get(slug="lighting-safety")
    rng = random.Random(7)
    made = []
    for i in range(60):
        lon = rng.uniform(3.9985, 4.0295) if i % 6 else rng.uniform(4.0505, 4.0595)
        made.append(
            idea_create(
                kind="idea" if i % 3 else "issue",
                title=f"pin {i}",
                category=category if i % 2 else other,
                location=Point(lon, rng.uniform(50.0005, 50.0095), srid=4326),
            )
        )
    return made


def test_the_migration_filled_and_the_triggers_keep_the_counts(pins):
    assert recounted()  # something to count
    assert_exact()


def test_create_counts_public_pins_only(pins, category):
    idea_create(kind="idea", title="new", category=category, location=IN_EAST)
    idea_create(
        kind="idea",
        title="waits",
        category=category,
        location=IN_WEST,
        contact_email="a@b.org",
        awaiting_confirmation=True,
    )
    assert Idea.objects.filter(awaiting_confirmation=True).exists()
    assert_exact()

    Idea.objects.filter(awaiting_confirmation=True).update(awaiting_confirmation=False)
    assert_exact()


def test_status_change(pins, city, west_member):
    pin = next(p for p in pins if p.team_id == city.west_team.pk)
    idea_status_change(idea=pin, status="acknowledged", actor=west_member)
    assert_exact()


def test_move(pins):
    pin = pins[3]
    pin.location = Point(4.0152, 50.0071, srid=4326)
    pin.save()
    assert_exact()


def test_reroute_after_a_boundary_change(pins, city):
    # East Side goes to the West Team, in a new boundary version: its open pins follow.
    version, _changes = boundary_version_create(
        label="redistricted",
        items=[
            NeighborhoodInput(
                name="West Side",
                geometry=MultiPolygon(square(3.998, 50.000, 4.010, 50.010), srid=4326),
                team_name="West Team",
            ),
            NeighborhoodInput(
                name="East Side",
                geometry=MultiPolygon(square(4.010, 50.000, 4.020, 50.010), srid=4326),
                team_name="West Team",
            ),
            NeighborhoodInput(
                name="Harbor",
                geometry=MultiPolygon(square(4.020, 50.000, 4.030, 50.010), srid=4326),
                team_name="Harbor Team",
            ),
        ],
    )
    boundaries_activate(version=version)
    assert not Idea.objects.filter(team=city.east_team).exists()
    assert_exact()


def test_hidden_by_moderation_and_kept(pins, city, west_member, settings):
    pin = next(p for p in pins if p.team_id == city.west_team.pk)
    for n in range(settings.MAPIDEAS_FLAGS_TO_HIDE):
        idea_flag(idea=pin, reason="spam", flagger_hash=f"h{n}")
    pin.refresh_from_db()
    assert pin.hidden_by_moderation_at is not None
    assert_exact()

    idea_moderate(idea=pin, decision="keep", actor=west_member)
    assert_exact()


def test_delete(pins):
    pins[0].delete()
    Idea.objects.filter(pk__in=[p.pk for p in pins[10:20]]).delete()
    assert_exact()


def test_bulk_updates(pins, city, west_member):
    ideas_bulk_update(
        ideas=[p for p in pins if p.team_id == city.west_team.pk],
        actor=west_member,
        status="planned",
    )
    assert_exact()
    Idea.objects.filter(kind="idea").update(kind="issue", channel="phone")
    Idea.objects.filter(pk__in=[p.pk for p in pins[:5]]).update(
        category=Category.objects.exclude(pk=pins[0].category_id).first()
    )
    assert_exact()


def test_raw_imports(pins, city, category):
    # bulk_create (as the importers write, cells set by hand) and raw SQL without cells.
    rows = []
    for i in range(5):
        point = Point(4.012 + i * 0.001, 50.003, srid=4326)
        rows.append(
            Idea(
                kind="idea",
                title=f"imported {i}",
                category=category,
                location=point,
                neighborhood=city.east,
                team=city.east_team,
                **pin_cells(point.x, point.y),
            )
        )
    Idea.objects.bulk_create(rows)
    assert_exact()
    Idea.objects.filter(pk__in=[p.pk for p in pins[:6]]).update(
        h3_res7=None, h3_res8=None, h3_res9=None
    )
    assert_exact()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE mapideas_idea SET neighborhood_id = NULL, status = 'done' WHERE id = %s",
            [pins[7].pk],
        )
    assert_exact()


def test_a_rebuild_gives_the_same_counts(pins):
    before, before_totals = kept(), kept_totals()
    viewport_counts.rebuild()
    assert kept() == before and kept_totals() == before_totals
    assert before_totals  # something to compare


def test_the_map_without_filters_reads_one_row_a_cell(pins, django_assert_num_queries):
    cells = [cell for (resolution, cell) in recounted_totals() if resolution == 8 and cell]
    with django_assert_num_queries(1) as queries:
        whole, without_cell = viewport_counts.cell_counts(
            using="default", resolution=8, cells=cells, filters=CountFilters()
        )
    assert "viewportcellcount" in queries[0]["sql"]
    assert whole == {cell: n for (res, cell), n in recounted_totals().items() if res == 8}
    assert without_cell == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite loses triggers on rebuilds")
def test_sqlite_triggers_are_put_back_and_the_counts_redone(pins, category):
    with connection.cursor() as cursor:
        for name in viewport_counts.TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    idea_create(kind="idea", title="unseen", category=category, location=IN_EAST)
    assert kept() != recounted()

    assert viewport_counts.ensure_triggers() is True
    assert_exact()
    assert viewport_counts.ensure_triggers() is False


FILTERS = [
    {},
    {"kind": "idea"},
    {"status": "new"},
    {"channel": "web"},
    {"category": "x"},  # the pins' first category
    {"team": "west"},
    {"neighborhood": "west-side"},
    {"kind": "issue", "team": "east"},
]


def _filtered(spec: dict, city, category) -> tuple:
    ideas = public_ideas()
    counts = {}
    if "kind" in spec:
        ideas, counts["kind"] = ideas.filter(kind=spec["kind"]), spec["kind"]
    if "status" in spec:
        ideas, counts["status"] = ideas.filter(status=spec["status"]), spec["status"]
    if "channel" in spec:
        ideas, counts["channel"] = ideas.filter(channel=spec["channel"]), spec["channel"]
    if "category" in spec:
        ideas, counts["category_id"] = ideas.filter(category=category), category.pk
    if "team" in spec:
        team = city.west_team if spec["team"] == "west" else city.east_team
        ideas, counts["team_id"] = ideas.filter(team=team), team.pk
    if "neighborhood" in spec:
        ideas = ideas.filter(neighborhood__slug=spec["neighborhood"])
        counts["neighborhood_slug"] = spec["neighborhood"]
    return ideas, CountFilters(**counts)


@pytest.mark.parametrize("spec", FILTERS)
# PostGIS counts the pins of the cells an edge cuts by cell (a covering index, migration
# 0016) when they are few, else by the smaller part of each cell's box: both ways.
@pytest.mark.parametrize("cut_pins_by_cell", [60000, 0])
def test_clusters_from_the_counts_equal_clusters_counted_from_the_pins(
    pins, city, category, spec, cut_pins_by_cell, monkeypatch
):
    monkeypatch.setattr(viewport_module, "MAX_CUT_PINS_BY_CELL", cut_pins_by_cell)
    ideas, counts = _filtered(spec, city, category)
    rng = random.Random(11)
    boxes = [CITY_BBOX, Polygon.from_bbox((4.0, 50.001, 4.02, 50.009))]
    for _ in range(12):
        x0, y0 = rng.uniform(3.995, 4.06), rng.uniform(49.999, 50.01)
        boxes.append(
            Polygon.from_bbox(
                (x0, y0, x0 + rng.uniform(0.001, 0.04), y0 + rng.uniform(0.001, 0.01))
            )
        )
    answered = 0
    for box in boxes:
        for zoom in (10, 12, 13, 14, 15):
            # Clusters however few the pins in view (an empty view is no pins otherwise).
            in_view = viewport_module._in_bbox(ideas, box)
            kept_on_write = viewport_module._clusters(ideas, in_view, box, zoom, counts)
            counted = viewport_module._clusters(ideas, in_view, box, zoom)
            assert kept_on_write.level == counted.level
            assert kept_on_write.total == counted.total
            assert {c.cell: c.count for c in kept_on_write.clusters} == {
                c.cell: c.count for c in counted.clusters
            }, (box.extent, zoom)
            answered += kept_on_write.counted_on_write
    assert answered == len(boxes) * 5


@pytest.mark.parametrize(
    "filters, summary",
    [
        (CountFilters(), ViewportCellCount),  # the map without filters: one row a cell
        (CountFilters(status="new"), ViewportCount),  # with filters: a row per combination
    ],
)
def test_cells_wholly_in_view_come_from_the_summary(pins, monkeypatch, filters, summary):
    # A whole-city view at resolution 9 reads most of its cells from the summary: a pin
    # counted only there (not in mapideas_idea) shows, which proves it.
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", 0)
    ideas = public_ideas() if filters.status is None else public_ideas().filter(status="new")
    before = viewport(ideas, CITY_BBOX, 14, filters)
    summary.objects.filter(resolution=9, n__gt=0).update(n=1000)

    after = viewport(ideas, CITY_BBOX, 14, filters)

    assert after.counted_on_write
    assert after.total > before.total


def test_pins_without_cells_are_counted_by_a_grid(pins, monkeypatch):
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", 0)
    Idea.objects.filter(pk__in=[p.pk for p in pins[:6]]).update(
        h3_res7=None, h3_res8=None, h3_res9=None
    )

    answer = viewport(public_ideas(), CITY_BBOX, 14, CountFilters())

    assert answer.counted_on_write
    assert answer.total == 60
    assert sum(c.count for c in answer.clusters if c.cell.startswith("grid-")) == 6


def test_a_date_range_or_a_huge_view_counts_the_pins(pins, monkeypatch):
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", 0)
    world = Polygon.from_bbox((-180, -85, 180, 85))

    answer = viewport(public_ideas(), world, 13, CountFilters())

    assert not answer.counted_on_write
    assert answer.total == 60


@pytest.mark.parametrize("threshold", [0, 3, 10, 25, 1000])
def test_pins_or_clusters_is_decided_from_the_counts_as_from_the_pins(pins, monkeypatch, threshold):
    # The counts settle "few pins in view" without reading the pins when they can (all of a
    # cell's pins in view are at least that many; with the cut cells', at most): the same
    # mode and total as asking the pins.
    monkeypatch.setattr(viewport_module, "PIN_THRESHOLD", threshold)
    rng = random.Random(5)
    boxes = [CITY_BBOX]
    for _ in range(15):
        x0, y0 = rng.uniform(3.995, 4.06), rng.uniform(49.999, 50.01)
        boxes.append(
            Polygon.from_bbox(
                (x0, y0, x0 + rng.uniform(0.001, 0.04), y0 + rng.uniform(0.001, 0.01))
            )
        )
    for box in boxes:
        for zoom in (10, 13, 15):
            from_counts = viewport(public_ideas(), box, zoom, CountFilters())
            from_pins = viewport(public_ideas(), box, zoom)
            assert from_counts.mode == from_pins.mode, (box.extent, zoom)
            assert from_counts.total == from_pins.total, (box.extent, zoom)
