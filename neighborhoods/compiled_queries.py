"""Model queries compiled to SQL once per database, then run with new arguments.

Django compiles a QuerySet into SQL each time it is evaluated. For the queries every pin
runs (route(), mapideas.submission), compiling cost more CPU than the database spent
answering: route()'s query of the covering neighborhoods took about 2 ms of Python to
compile and 0.1 ms to run. `CompiledQuery(build, examples)` calls `build` on two sets of
example arguments, compiles both, and learns where each argument lands among the SQL's
parameters; then every call runs that SQL with the new arguments and makes the model
instances (select_related relations and annotations included) as Django's ModelIterable
makes them.

It refuses, when first compiled, a query it cannot replay faithfully: one whose SQL text
differs between the two examples (its shape depends on an argument), or whose parameters
differ in a way no argument explains (a value computed at compile time, such as the time).
A geometry argument may land as the database's adapter of it, or as a coordinate of the
SpatiaLite R*Tree's box (neighborhoods.spatial_index): a point's x or y, another geometry's
least or greatest x or y (its extent); any other argument as itself.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model, QuerySet, signals
from django.db.models.query import (  # type: ignore[attr-defined]  # Django's own, unstubbed
    ModelIterable,
    get_related_populators,
)
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)

logger = logging.getLogger(__name__)

# Every CompiledQuery made, for compile_all(); weakly, so a test's own queries come and go.
_every_query: weakref.WeakSet[CompiledQuery] = weakref.WeakSet()


def compile_all(using: str = DEFAULT_DB_ALIAS) -> None:
    """Compile every query made so far for database `using`: a process's boot step
    (mapideas.warmup), so that its first requests do not compile them (the first pin page
    compiled nine, 40 ms)."""
    for query in list(_every_query):
        try:
            query.compile(using)
        except Exception:  # its first call compiles it, and raises there
            logger.warning("query %s not compiled", query, exc_info=True)


def preparable_cursor(connection):
    """A cursor of `connection` (Django's, wrapped as connection.cursor() wraps it) whose
    statements psycopg may prepare on the server.

    On PostgreSQL with a prepare threshold (settings: DB_PREPARE_THRESHOLD) it binds its
    parameters on the server, so the same SQL, run that many times on a connection, is parsed
    and planned once there instead of at every run. Django's own cursors bind on the client,
    and psycopg never prepares a client-bound statement: the threshold alone changes nothing.
    Planning was most of these queries' cost (a pin by its id, joined to its category,
    neighborhood and team: 0.99 ms a run planned each time, 0.22 ms prepared, on the 1M-pin
    bench city). Elsewhere, and without a threshold: connection.cursor()."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if getattr(raw, "prepare_threshold", None) is None:
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(raw)
    if connection.queries_logged:  # as BaseDatabaseWrapper._prepare_cursor
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


# Where a parameter comes from: ("constant", value), ("value", i), ("geometry", i),
# ("x", i) or ("y", i) of a point, or an edge of another geometry's extent ("min_x", i),
# ("min_y", i), ("max_x", i), ("max_y", i) for argument i.
Source = tuple[str, Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    sources: tuple[Source, ...]
    geography: tuple[bool, ...]  # per parameter: a geography adapter (PostGIS)
    col_count: int
    trim: bool  # rows carry extra select columns beyond col_count
    converters: tuple[tuple[int, tuple[list, Any]], ...]
    model: type[Model]
    fields_start: int
    fields_end: int
    init_list: tuple[str, ...]
    populators: tuple[Any, ...]
    annotations: tuple[tuple[str, int], ...]


class CompiledQuery(Generic[M]):
    """`build(*arguments)` returns the QuerySet to run; `examples` are two different
    argument tuples to learn it from (each argument different in the two, and none equal
    to another argument's value)."""

    def __init__(
        self,
        build: Callable[..., QuerySet[M]],
        examples: tuple[Sequence[object], Sequence[object]],
    ) -> None:
        self.build = build
        self.examples = examples
        self._by_alias: dict[str, _Compiled] = {}
        _every_query.add(self)

    def __repr__(self) -> str:
        return f"CompiledQuery({getattr(self.build, '__qualname__', self.build)!r})"

    def compile(self, using: str = DEFAULT_DB_ALIAS) -> None:
        """Compile the query for database `using` now, not at its first call."""
        if using not in self._by_alias:
            self._by_alias[using] = self._compile(using)

    def __call__(self, *arguments: object, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        compiled = self._by_alias.get(using)
        if compiled is None:
            compiled = self._by_alias[using] = self._compile(using)
        connection = connections[using]
        extents: dict[int, tuple[float, float, float, float]] = {}
        params: list[Any] = [
            _parameter(source, arguments, geography, connection, extents)
            for source, geography in zip(compiled.sources, compiled.geography, strict=True)
        ]
        with preparable_cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [cast(M, _instance(compiled, row, using, connection)) for row in rows]

    def _compile(self, using: str) -> _Compiled:
        first, second = (self.build(*example).using(using) for example in self.examples)
        compiler = first.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        other_sql, other_params = second.query.get_compiler(using=using).as_sql()
        name = getattr(self.build, "__qualname__", repr(self.build))
        if sql != other_sql or len(params) != len(other_params):
            raise ImproperlyConfigured(f"{name}: the query's SQL depends on its arguments")
        sources = tuple(
            _source(a, b, self.examples, name) for a, b in zip(params, other_params, strict=True)
        )
        select, klass_info = compiler.select, compiler.klass_info
        if first._iterable_class is not ModelIterable or klass_info is None:
            raise ImproperlyConfigured(f"{name}: not a query of model instances")
        fields = [s[0] for s in select[0 : compiler.col_count]]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Compiled(
            sql=sql,
            sources=sources,
            geography=tuple(bool(getattr(p, "geography", False)) for p in params),
            col_count=compiler.col_count,
            trim=compiler.has_extra_select,
            converters=tuple(compiler.get_converters(fields).items()),
            model=klass_info["model"],
            fields_start=start,
            fields_end=end,
            init_list=tuple(f[0].target.attname for f in select[start:end]),
            populators=tuple(get_related_populators(klass_info, select, using)),
            annotations=tuple((compiler.annotation_col_map or {}).items()),
        )


def _source(first: object, second: object, examples, name: str) -> Source:
    """Which argument a parameter comes from, explained the same way in both examples."""
    if first == second and type(first) is type(second):
        return ("constant", first)
    for index, (a, b) in enumerate(zip(*examples, strict=True)):
        for kind in _kinds(a):
            if _matches(kind, a, first) and _matches(kind, b, second):
                return (kind, index)
    raise ImproperlyConfigured(f"{name}: a parameter no argument explains ({first!r})")


# The edges of a geometry's extent, by their place in GEOSGeometry.extent.
_EXTENT_EDGES = {"min_x": 0, "min_y": 1, "max_x": 2, "max_y": 3}


def _kinds(argument: object) -> tuple[str, ...]:
    if isinstance(argument, Point):
        return ("geometry", "x", "y")
    if isinstance(argument, GEOSGeometry):
        return ("geometry", *_EXTENT_EDGES)
    return ("value",)


def _matches(kind: str, argument: Any, parameter: object) -> bool:
    if kind == "geometry":
        # The database's adapter of the geometry (PostGIS: its EWKB; SpatiaLite: its WKT),
        # equal to a new adapter of the same geometry.
        adapter: Any = type(parameter)
        return (
            hasattr(parameter, "srid")
            and not isinstance(parameter, GEOSGeometry)
            and adapter(argument) == parameter
        )
    if kind == "x":
        return type(parameter) is float and parameter == argument.x
    if kind == "y":
        return type(parameter) is float and parameter == argument.y
    if kind in _EXTENT_EDGES:
        return type(parameter) is float and parameter == argument.extent[_EXTENT_EDGES[kind]]
    return type(parameter) is type(argument) and parameter == argument


def _parameter(
    source: Source,
    arguments: Sequence[Any],
    geography: bool,
    connection,
    extents: dict[int, tuple[float, float, float, float]],
) -> object:
    """The parameter `source` names, of this call's `arguments`; `extents` keeps each
    geometry's extent for the call's other parameters (GEOS reads every coordinate for it)."""
    kind, value = source
    if kind == "constant":
        return value
    argument = arguments[value]
    if kind == "geometry":
        return connection.ops.Adapter(argument, **({"geography": True} if geography else {}))
    if kind == "x":
        return float(argument.x)
    if kind == "y":
        return float(argument.y)
    if kind in _EXTENT_EDGES:
        if value not in extents:
            extents[value] = argument.extent
        return float(extents[value][_EXTENT_EDGES[kind]])
    return argument


def _instance(compiled: _Compiled, row: tuple, using: str, connection) -> Model:
    """The row as ModelIterable makes it: converters applied, the model from its columns,
    its select_related relations populated, its annotations set."""
    values = list(row[: compiled.col_count] if compiled.trim else row)
    for position, (converters, expression) in compiled.converters:
        value = values[position]
        for converter in converters:
            value = converter(value, expression, connection)
        values[position] = value
    instance = compiled.model.from_db(
        using, list(compiled.init_list), values[compiled.fields_start : compiled.fields_end]
    )
    for populator in compiled.populators:
        populator.populate(values, instance)
    for attribute, position in compiled.annotations:
        setattr(instance, attribute, values[position])
    return instance


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    # (field's index, placeholder) for the fields whose placeholder depends on the value
    # (a geometry's, by its SRID): the one their value had when compiled. The others: "%s".
    placeholders: tuple[tuple[int, str], ...]
    returning_params: tuple[object, ...]  # what the database's RETURNING of the id binds


class CompiledInsert(Generic[M]):
    """Writes a new row of `model` as Model.save() would, with SQL compiled once per database.

    Model.save() compiles its INSERT every time: for the rows every pin writes, that cost more
    Python than the database spent on them. The first call compiles the INSERT of the model's
    concrete columns from its object (the placeholders a geometry's SRID decides included),
    with the database's RETURNING of the primary key; every call binds each field's value as
    save() does (pre_save(), then get_db_prep_save()) and marks the object as saved.

    Django's save() writes the row instead, the same, when the fast path would not be
    faithful: a model with pre_save or post_save receivers, a field's value that is an
    expression (a database default's included), or a placeholder other than the compiled one.
    A model with parents, generated fields or no auto primary key is refused.
    """

    def __init__(self, model: type[M]) -> None:
        meta = model._meta
        auto_field = meta.auto_field
        if meta.parents or auto_field is None or auto_field is not meta.pk:
            raise ImproperlyConfigured(
                f"{model.__name__}: only a model with its own auto primary key"
            )
        self.auto_field: Field = auto_field
        self.fields = tuple(f for f in meta.local_concrete_fields if f is not auto_field)
        if any(f.generated for f in self.fields):
            raise ImproperlyConfigured(f"{model.__name__}: a generated field")
        self.model = model
        self._by_alias: dict[str, _CompiledInsert] = {}

    def __call__(self, obj: M, using: str = DEFAULT_DB_ALIAS) -> None:
        if not obj._state.adding or obj.pk is not None:
            raise ValueError(f"{obj!r}: only a new row, without a primary key, is inserted")
        if signals.pre_save.has_listeners(self.model) or signals.post_save.has_listeners(
            self.model
        ):
            obj.save(using=using, force_insert=True)
            return
        connection = connections[using]
        # What save() checks first: a related object not yet saved is an error, and a
        # related object's primary key is read again.
        obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
        params: list[Any] = []
        for field in self.fields:
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                obj.save(using=using, force_insert=True)
                return
            params.append(field.get_db_prep_save(value, connection))
        compiled = self._by_alias.get(using)
        if compiled is None:
            compiled = self._by_alias[using] = self._compile(params, connection)
        for i, placeholder in compiled.placeholders:
            if _placeholder(self.fields[i], params[i], connection) != placeholder:
                obj.save(using=using, force_insert=True)
                return
        params.extend(compiled.returning_params)
        with preparable_cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            (obj.pk,) = connection.ops.fetch_returned_insert_columns(
                cursor, compiled.returning_params
            )
        obj._state.adding = False
        obj._state.db = using

    def _compile(self, params: list[Any], connection) -> _CompiledInsert:
        meta = self.model._meta
        name = self.model.__name__
        if not connection.features.can_return_columns_from_insert:
            raise ImproperlyConfigured(f"{name}: {connection.vendor} returns no inserted id")
        # save() also reads back the fields with a database default; their values are the
        # ones bound here (a value left to the database default goes through save()).
        compiler = InsertQuery(self.model).get_compiler(connection=connection)
        if compiler.get_converters([self.auto_field.get_col(meta.db_table)]):
            raise ImproperlyConfigured(f"{name}: its primary key needs converting")
        placeholders = {
            i: _placeholder(f, params[i], connection)
            for i, f in enumerate(self.fields)
            if hasattr(f, "get_placeholder")
        }
        qn = connection.ops.quote_name
        returning_sql, returning_params = connection.ops.return_insert_columns([self.auto_field])
        values = ", ".join(placeholders.get(i, "%s") for i in range(len(self.fields)))
        sql = (
            f"{connection.ops.insert_statement()} {qn(meta.db_table)}"
            f" ({', '.join(qn(f.column) for f in self.fields)}) VALUES ({values}) {returning_sql}"
        )
        return _CompiledInsert(
            sql=sql,
            placeholders=tuple(placeholders.items()),
            returning_params=tuple(returning_params),
        )


def _placeholder(field: Field, value: object, connection) -> str:
    # What SQLInsertCompiler.field_as_sql() wraps a value in, for a field that says.
    return str(field.get_placeholder(value, None, connection))  # type: ignore[attr-defined]
