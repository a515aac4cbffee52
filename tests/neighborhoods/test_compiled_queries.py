"""neighborhoods.compiled_queries: a query compiled once per database gives what the ORM
gives for every argument, and refuses a query it could not replay; an INSERT compiled once
writes the row save() writes."""

import contextlib

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Count, Exists, OuterRef, Value, signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from neighborhoods.compiled_queries import CompiledInsert, CompiledQuery, preparable_cursor
from neighborhoods.models import CategoryRule, Neighborhood
from neighborhoods.spatial_index import in_spatial_index
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST, ON_ISLAND, ON_SHARED_BORDER, OUTSIDE_CITY

pytestmark = pytest.mark.django_db

EXAMPLES = (
    (Point(1.25, 2.5, srid=4326), "example-a"),
    (Point(3.75, 4.125, srid=4326), "example-b"),
)


def covering(point, category):
    box = (point.x, point.y, point.x, point.y)
    return (
        in_spatial_index(Neighborhood.objects.all(), "geometry", box, gist_lookup_follows=True)
        .filter(geometry__covers=point)
        .select_related("team", "version")
        .defer("geometry", "version__service_area")
        .annotate(ruled=Exists(CategoryRule.objects.filter(category=category)))
        .order_by("-priority", "area_m2", "slug")
    )


def described(neighborhood):
    """What a caller reads of a result: its columns, its relations, its annotation."""
    return (
        neighborhood.pk,
        neighborhood.name,
        neighborhood.slug,
        neighborhood.area_m2,
        neighborhood.team.pk,
        neighborhood.team.name,
        neighborhood.version.pk,
        neighborhood.version.is_active,
        neighborhood.ruled,
    )


@pytest.mark.parametrize(
    "point", [IN_WEST, IN_EAST, ON_SHARED_BORDER, ON_ISLAND, IN_ENCLAVE, OUTSIDE_CITY]
)
def test_it_gives_what_the_orm_gives_for_every_point_and_category(city, point):
    CategoryRule.objects.create(category="roads", team=city.east_team)
    compiled = CompiledQuery(covering, examples=EXAMPLES)

    for category in ("roads", "parks"):
        expected = [described(n) for n in covering(point, category)]
        assert [described(n) for n in compiled(point, category)] == expected


def test_it_runs_one_query_and_keeps_deferred_fields_deferred(city):
    compiled = CompiledQuery(covering, examples=EXAMPLES)
    compiled(IN_WEST, "roads")  # compiled here

    with CaptureQueriesContext(connection) as queries:
        found = compiled(ON_SHARED_BORDER, "roads")

    assert len(queries.captured_queries) == 1
    assert [n.slug for n in found] == ["east-side", "west-side"]
    assert "geometry" in found[0].get_deferred_fields()
    assert found[0]._state.db == "default" and not found[0]._state.adding


def test_a_query_whose_sql_depends_on_its_arguments_is_refused(city):
    def shaped(point, category):
        rows = Neighborhood.objects.filter(geometry__covers=point)
        return rows.filter(name=category) if category == "example-a" else rows

    with pytest.raises(ImproperlyConfigured, match="SQL depends on its arguments"):
        CompiledQuery(shaped, examples=EXAMPLES)(IN_WEST, "roads")


def test_a_parameter_no_argument_explains_is_refused(city):
    def stamped(point, category):
        # A value computed when the query is built: replaying the first one would be wrong.
        return Neighborhood.objects.filter(
            geometry__covers=point, version__created_at__lt=timezone.now()
        )

    with pytest.raises(ImproperlyConfigured, match="no argument explains"):
        CompiledQuery(stamped, examples=EXAMPLES)(IN_WEST, "roads")


def test_a_query_of_values_is_refused(city):
    def counts(point, category):
        return (
            Neighborhood.objects.filter(geometry__covers=point, name=category)
            .values("team")
            .annotate(n=Count("pk"))
        )

    with pytest.raises(ImproperlyConfigured, match="not a query of model instances"):
        CompiledQuery(counts, examples=EXAMPLES)(IN_WEST, "roads")


def test_relations_to_outer_rows_compile_too(city):
    """A correlated subquery (OuterRef) is part of the SQL text, not a parameter."""

    def with_rules(point, category):
        return Neighborhood.objects.filter(geometry__covers=point).annotate(
            own_rule=Exists(
                CategoryRule.objects.filter(category=category, team_id=OuterRef("team_id"))
            )
        )

    CategoryRule.objects.create(category="roads", team=city.west_team)
    compiled = CompiledQuery(with_rules, examples=EXAMPLES)

    assert [n.own_rule for n in compiled(IN_WEST, "roads")] == [True]
    assert [n.own_rule for n in compiled(IN_WEST, "parks")] == [False]


def envelope(min_x, min_y, max_x, max_y):
    box = Polygon.from_bbox((min_x, min_y, max_x, max_y))
    box.srid = 4326
    return box


def around(point, degrees):
    return envelope(point.x - degrees, point.y - degrees, point.x + degrees, point.y + degrees)


def in_box(box, name):
    """A box given as a polygon: on SpatiaLite its extent's edges are the R*Tree's parameters,
    on PostGIS the polygon itself is `&&`'s."""
    return (
        in_spatial_index(Neighborhood.objects.all(), "geometry", box.extent)
        .exclude(name=name)
        .order_by("slug")
    )


@pytest.mark.parametrize(
    "box",
    [
        around(IN_WEST, 0.0001),
        around(IN_EAST, 0.0001),
        around(ON_SHARED_BORDER, 0.001),
        envelope(IN_WEST.x, IN_WEST.y, IN_EAST.x, IN_EAST.y),
        around(OUTSIDE_CITY, 0.0001),
    ],
)
def test_a_box_argument_lands_as_its_polygon_or_its_edges(city, box):
    compiled = CompiledQuery(
        in_box, examples=((envelope(1.0, 2.0, 1.5, 3.0), "a"), (envelope(3.5, 4.0, 4.0, 4.25), "b"))
    )

    expected = [n.slug for n in in_box(box, "nobody")]
    assert [n.slug for n in compiled(box, "nobody")] == expected
    assert [n.slug for n in compiled(box, city.east.name)] == [
        slug for slug in expected if slug != city.east.slug
    ]


# CompiledInsert


def new_neighborhood(city, slug, geometry=None):
    return Neighborhood(
        version=city.east.version,
        name="Added <b>& co</b>",
        slug=slug,
        team=city.east_team,
        population=4321,
        attributes={"median_income": 41000.5, "renters": 0.4},
        priority=3,
        area_m2=1234.5,
        geometry=geometry or MultiPolygon(Polygon.from_bbox((4.1, 50.1, 4.11, 50.11)), srid=4326),
    )


def stored(pk):
    """The stored row, as the ORM reads it, without what differs between two writes."""
    row = Neighborhood.objects.values().get(pk=pk)
    for key in ("id", "slug", "created_at", "updated_at"):
        row.pop(key)
    row["geometry"] = row["geometry"].wkt
    return row


def test_the_row_it_writes_is_the_row_save_writes(city):
    insert = CompiledInsert(Neighborhood)
    by_save = new_neighborhood(city, "by-save")
    by_save.save()

    for n in range(2):  # the first call compiles, the second runs the compiled SQL
        compiled = new_neighborhood(city, f"compiled-{n}")
        insert(compiled)

        assert stored(compiled.pk) == stored(by_save.pk)
        assert compiled.created_at is not None and compiled.updated_at is not None  # auto_now
        written = Neighborhood.objects.get(pk=compiled.pk)
        assert (written.created_at, written.updated_at) == (
            compiled.created_at,
            compiled.updated_at,
        )


def test_it_runs_one_statement_and_the_object_is_saved(city):
    insert = CompiledInsert(Neighborhood)
    insert(new_neighborhood(city, "first"))
    added = new_neighborhood(city, "second")

    with CaptureQueriesContext(connection) as queries:
        insert(added)

    assert len(queries) == 1
    assert queries[0]["sql"].startswith("INSERT INTO")
    assert added.pk is not None and not added._state.adding and added._state.db == "default"
    added.name = "Renamed"
    added.save()  # an UPDATE of the row written, not a second INSERT
    assert Neighborhood.objects.filter(slug="second").get().name == "Renamed"


def test_a_geometry_in_another_srid_is_transformed_as_save_transforms_it(city):
    insert = CompiledInsert(Neighborhood)
    insert(new_neighborhood(city, "compiled-in-4326"))
    box = MultiPolygon(Polygon.from_bbox((4.1, 50.1, 4.11, 50.11)), srid=4326)
    by_save = new_neighborhood(city, "by-save", box.transform(3857, clone=True))
    by_save.save()
    compiled = new_neighborhood(city, "compiled-in-3857", box.transform(3857, clone=True))

    insert(compiled)

    expected = Neighborhood.objects.get(pk=by_save.pk).geometry
    written = Neighborhood.objects.get(pk=compiled.pk).geometry
    assert written.srid == 4326
    assert written.equals_exact(expected, tolerance=1e-9)
    assert written.equals_exact(box, tolerance=1e-6)


def test_receivers_of_save_signals_hear_of_the_row(city):
    insert = CompiledInsert(Neighborhood)
    insert(new_neighborhood(city, "unheard"))
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.slug, created))

    signals.post_save.connect(receiver, sender=Neighborhood)
    try:
        insert(new_neighborhood(city, "heard"))
    finally:
        signals.post_save.disconnect(receiver, sender=Neighborhood)

    assert heard == [("heard", True)]


def test_a_value_given_as_an_expression_is_written_by_save(city):
    insert = CompiledInsert(Neighborhood)
    insert(new_neighborhood(city, "plain"))
    given = new_neighborhood(city, "expression")
    given.area_m2 = Value(99.0)

    insert(given)

    assert Neighborhood.objects.get(pk=given.pk).area_m2 == 99.0


def test_a_row_already_written_is_refused(city):
    insert = CompiledInsert(Neighborhood)
    added = new_neighborhood(city, "once")
    insert(added)

    with pytest.raises(ValueError, match="only a new row"):
        insert(added)
    assert Neighborhood.objects.filter(slug="once").count() == 1


def test_a_model_without_its_own_auto_primary_key_is_refused():
    from django.contrib.auth.models import User
    from django.contrib.sessions.models import Session

    assert CompiledInsert(User).fields  # an auto primary key: accepted
    with pytest.raises(ImproperlyConfigured, match="auto primary key"):
        CompiledInsert(Session)


# --- Prepared on the server (DB_PREPARE_THRESHOLD) -------------------------------------------

TEAM_BY_ID = "SELECT COUNT(*) FROM neighborhoods_team WHERE id = %s"


@contextlib.contextmanager
def new_connection(**options):
    """A connection of its own to the test database, with these OPTIONS over the default's."""
    default = connections[DEFAULT_DB_ALIAS]
    settings = {**default.settings_dict}
    settings["OPTIONS"] = {**settings.get("OPTIONS", {}), **options}
    opened = type(default)(settings, alias=DEFAULT_DB_ALIAS)
    try:
        opened.ensure_connection()
        yield opened
    finally:
        opened.close()


def prepared_statements(opened) -> list[str]:
    with opened.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def run(opened, times: int) -> None:
    for team in range(times):
        with preparable_cursor(opened) as cursor:
            cursor.execute(TEAM_BY_ID, [team])
            cursor.fetchone()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's prepared statements")
def test_with_a_threshold_a_statement_run_that_often_is_prepared_on_the_server(city):
    with new_connection(prepare_threshold=3) as opened:
        run(opened, 2)
        assert prepared_statements(opened) == []
        run(opened, 2)
        assert prepared_statements(opened) == [TEAM_BY_ID.replace("%s", "$1")]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's prepared statements")
def test_without_a_threshold_nothing_is_prepared(city):
    # Django's default (and a transaction-mode pooler's need): client-side binding throughout.
    with new_connection(prepare_threshold=None) as opened:
        run(opened, 10)
        assert prepared_statements(opened) == []


def test_a_preparable_cursor_is_counted_and_answers_as_any_cursor(city):
    with CaptureQueriesContext(connection) as queries, preparable_cursor(connection) as cursor:
        cursor.execute(TEAM_BY_ID, [city.west_team.pk])
        assert cursor.fetchone()[0] == 1
    bound_on_server = (
        connection.vendor == "postgresql" and connection.connection.prepare_threshold is not None
    )
    # As Django's debug cursor records it: the value in the text when bound on the client,
    # its placeholder when bound on the server.
    value = "$1" if bound_on_server else str(city.west_team.pk)
    assert [query["sql"] for query in queries] == [TEAM_BY_ID.replace("%s", value)]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's prepared statements")
def test_a_compiled_query_gives_the_same_rows_once_prepared(city, monkeypatch):
    monkeypatch.setattr(connection.connection, "prepare_threshold", 1)
    compiled = CompiledQuery(covering, examples=EXAMPLES)
    answers = [[described(n) for n in compiled(IN_WEST, "roads")] for _ in range(4)]
    expected = [described(n) for n in covering(IN_WEST, "roads")]
    assert answers == [expected] * 4
    assert any(
        "ST_Covers" in s or "st_covers" in s.lower() for s in prepared_statements(connection)
    )
