"""Bulk import of offline input (paper forms, workshops, phone notes) from a CSV file.

Rows are checked one by one in Python and routed a batch at a time, before anything is written,
by `neighborhoods.routing.BatchRouter`: the rules of `route()` with one spatial query per few
hundred points (the tests hold the two to the same answers). Each batch's pins are then written
once, with their final team and neighborhood, with a RoutingEvent each as `idea_create` writes
and their "also in their area" teams (geodata.imports.pin_writes: on PostgreSQL into a staging
table, moved into mapideas_idea by one INSERT ... SELECT at the end). A pin is never inserted to
be updated or deleted afterwards: a 200k-row file leaves no dead pin rows behind (PostgreSQL),
and the viewport counts' statement triggers (mapideas.map.count_triggers) update the map's
summaries once per import, so each summary row touched keeps at most one dead version.
Rows that cannot be imported, outside the service area included, are reported with the
physical line they start on (the header is line 1) and the others are imported, all in one
transaction.

The file is streamed: a 121k-row export never sits in memory. Once committed, the command ends
with VACUUM (ANALYZE) of the tables in WRITTEN_TABLES on PostgreSQL, ANALYZE on SQLite
(mapideas.plumbing.commands.vacuum_analyze_tables).
"""

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from geodata.imports.csv_files import csv_rows
from geodata.imports.pin_writes import PinWriter
from mapideas.backoffice import queue as backoffice
from mapideas.cells import pin_cells
from mapideas.models import Category, Idea, RoutingEvent, ViewportCellCount, ViewportCount
from mapideas.plumbing.stored_text import first_unstorable, stored_text, unstorable_message
from mapideas.submission.services import OUTSIDE_MESSAGE, location_from_lonlat
from neighborhoods.batch_routing import BatchRouter
from neighborhoods.models import BoundaryVersion
from neighborhoods.routing import Route, active_version

# A decimal comma ("50,85"): unambiguous for a coordinate, since a thousands separator would
# mean a number of 1000 or more, which no latitude or longitude is.
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


REASON_CATEGORY_UNKNOWN = "category unknown"

# Rows routed and written together (staged on PostgreSQL, inserted on SQLite), with their
# routing events and "also in their area" teams.
BATCH_SIZE = 2000

# What an import writes, for the VACUUM (ANALYZE) that ends the command: the pins, their
# routing history and "also in their area" teams, and the viewport counts kept by triggers.
WRITTEN_TABLES = (
    Idea,
    RoutingEvent,
    Idea.also_in_teams.through,
    ViewportCount,
    ViewportCellCount,
)


class IdeaImportError(Exception):
    """The file as a whole cannot be imported (nothing was written)."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str
    # A short, value-free phrase ("latitude not a number") to count problems by.
    reason: str = "invalid"


@dataclass
class IdeaImportResult:
    imported: int = 0
    problems: list[RowProblem] = field(default_factory=list)


class _RowRejected(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems


def ideas_import_csv(
    *,
    path: Path,
    lat_field: str,
    lon_field: str,
    title_field: str | None = None,
    description_field: str | None = None,
    category_field: str | None = None,
    kind_field: str | None = None,
    default_category: str = "other",
    default_kind: str = Idea.Kind.IDEA,
    channel: str = Idea.Channel.IMPORT,
    event_name: str = "",
    dry_run: bool = False,
) -> IdeaImportResult:
    """Create one idea per CSV row; report the rows that cannot be, import the others.

    Empty category or kind cells take the defaults. Without a title column each idea gets a
    title like "Paper form, line 12", which points back to the source. Every row gets
    `channel` and `event_name` (the meeting or campaign the file comes from, public). All
    rows are written in one transaction (a row that fails rolls back only itself); an
    unexpected error writes nothing, and so does `dry_run`, which still validates and routes
    every row.
    """
    if channel not in Idea.Channel.values:
        raise IdeaImportError(
            f"Unknown channel {channel!r}; use one of: {', '.join(Idea.Channel.values)}."
        )
    event_name = event_name.strip()
    unstorable = first_unstorable(event_name)
    if unstorable is not None:
        raise IdeaImportError(f"The event name {unstorable_message(unstorable)}.")
    event_max = Idea._meta.get_field("event_name").max_length
    # A CharField may have no max_length (no limit); event_name has one.
    if event_max is not None and len(event_name) > event_max:
        raise IdeaImportError(
            f"The event name has {len(event_name)} characters; at most {event_max}."
        )
    kinds = {value.casefold(): value for value in Idea.Kind.values}
    kinds.update({str(label).casefold(): value for value, label in Idea.Kind.choices})
    categories = _categories_by_key()
    default_category_obj = categories.get(default_category.strip().casefold())
    if default_category_obj is None:
        raise IdeaImportError(
            f"Unknown default category {default_category!r}; use one of: "
            f"{', '.join(Category.objects.values_list('slug', flat=True))}."
        )
    default_kind_value = kinds.get(default_kind.strip().casefold())
    if default_kind_value is None:
        raise IdeaImportError(
            f"Unknown default kind {default_kind!r}; use one of: {', '.join(Idea.Kind.values)}."
        )
    columns = {
        "lat": lat_field,
        "lon": lon_field,
        "title": title_field,
        "description": description_field,
        "category": category_field,
        "kind": kind_field,
    }
    # The columns the file names: a value read for a key always comes from its column.
    named = {key: name for key, name in columns.items() if name}
    channel_label = str(Idea.Channel(channel).label)
    result = IdeaImportResult()

    version = active_version()
    if version is None:
        raise IdeaImportError("No neighborhoods are loaded: import boundaries first.")
    reasons: dict[tuple[int | None, int, int | None], str] = {}
    pending: list[tuple[int, Idea]] = []

    def flush() -> None:
        result.imported += _write_routed(pending, router, writer, version, reasons, result, columns)
        pending.clear()

    with csv_rows(path, error=IdeaImportError) as csv_file, transaction.atomic():
        # Read inside the transaction: the rows are routed by what it sees.
        router = BatchRouter(version)
        writer = PinWriter()
        rows = csv_file.rows
        header_line, header = next(rows, (0, None))
        if header is None:
            raise IdeaImportError(f"{path.name} is empty: it has no header line.")
        index = _column_index(header, columns, path)
        width = len(header)
        saw_row = False
        for line, cells in rows:
            saw_row = True
            try:
                values = _values(cells, index, width, line)
                data = _idea_data(
                    values,
                    line=line,
                    columns=named,
                    categories=categories,
                    kinds=kinds,
                    default_category=default_category_obj,
                    default_kind=default_kind_value,
                    channel_label=channel_label,
                )
            except _RowRejected as rejected:
                result.problems.extend(rejected.problems)
                continue
            try:
                texts = _stored_texts(data)
            except ValidationError as exc:
                result.problems.extend(
                    _problems_from_validation(exc, line, columns, data["location"])
                )
                continue
            idea = Idea(
                kind=data["kind"],
                title=texts["title"],
                description=texts["description"],
                category=data["category"],
                location=data["location"],
                # The import's inserts skip Idea.save(), which keeps the cells with the location.
                **pin_cells(data["location"].x, data["location"].y),
                channel=channel,
                event_name=event_name,
            )
            try:
                idea.full_clean(exclude=["category", "neighborhood", "team", "author"])
            except ValidationError as exc:
                result.problems.extend(
                    _problems_from_validation(exc, line, columns, data["location"])
                )
                continue
            pending.append((line, idea))
            if len(pending) >= BATCH_SIZE:
                flush()
        if not saw_row:
            raise IdeaImportError(
                f"{path.name} has a header (line {header_line}) but no rows to import."
            )
        flush()
        writer.publish()
        result.problems.sort(key=lambda problem: problem.line)
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:
        # Pins for teams with a back office are queued after the commit, in batches.
        backoffice.forwards_reconcile()
    return result


def _write_routed(
    pending: list[tuple[int, Idea]],
    router: BatchRouter,
    writer: PinWriter,
    version: BoundaryVersion,
    reasons: dict[tuple[int | None, int, int | None], str],
    result: IdeaImportResult,
    columns: dict[str, str | None],
) -> int:
    """Route a batch of checked rows, then write those routed once (`writer`), with their
    history and "also in their area" teams; the others are reported. Returns how many were
    written."""
    if not pending:
        return 0
    routes = router.route(
        [(idea.location.x, idea.location.y) for _line, idea in pending],
        [idea.category.slug for _line, idea in pending],
    )
    routed: list[tuple[Idea, Route]] = []
    for (line, idea), route in zip(pending, routes, strict=True):
        if route is None:
            result.problems.append(_outside(line, columns, idea.location))
            continue
        idea.team = route.team
        idea.neighborhood = route.neighborhood
        routed.append((idea, route))
    if not routed:
        return 0
    writer.add([idea for idea, _route in routed])
    through = Idea.also_in_teams.through
    events: list[RoutingEvent] = []
    also_in: list[Any] = []
    for idea, route in routed:
        # Kept in the site's language, as idea_create keeps it; the same few sentences for
        # a whole file, so each is translated once.
        key = (
            route.neighborhood.pk if route.neighborhood else None,
            route.team.pk,
            route.rule.pk if route.rule else None,
        )
        reason = reasons.get(key)
        if reason is None:
            reason = reasons[key] = route.reason_in(settings.LANGUAGE_CODE)
        events.append(
            RoutingEvent(
                idea=idea,
                cause=RoutingEvent.Cause.CREATED,
                to_neighborhood=route.neighborhood,
                to_team=route.team,
                boundary_version=version,
                reason=reason,
                created_at=idea.created_at,
            )
        )
        also_in.extend(through(idea_id=idea.pk, team_id=team.pk) for team in route.also_in)
    RoutingEvent.objects.bulk_create(events, batch_size=BATCH_SIZE)
    if also_in:
        through.objects.bulk_create(also_in, batch_size=BATCH_SIZE)
    return len(routed)


def _categories_by_key() -> dict[str, Category]:
    """Every category by its casefolded slug and name; a slug wins over another's name."""
    by_key: dict[str, Category] = {}
    all_categories = list(Category.objects.all())
    for category in all_categories:
        by_key.setdefault(category.name.strip().casefold(), category)
    for category in all_categories:
        by_key[category.slug.casefold()] = category
    return by_key


def _column_index(header: list[str], columns: dict[str, str | None], path: Path) -> dict[str, int]:
    names = [name.strip() for name in header]
    wanted = [name for name in columns.values() if name]
    missing = [name for name in wanted if name not in names]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise IdeaImportError(
            f"{path.name} has no column{'s' if len(missing) > 1 else ''} {listed}. "
            "Its columns are: "
            f"{', '.join(repr(name) for name in names)}."
        )
    doubled = sorted({name for name in wanted if names.count(name) > 1})
    if doubled:
        raise IdeaImportError(
            f"{path.name} has more than one column named {', '.join(map(repr, doubled))}."
        )
    return {key: names.index(name) for key, name in columns.items() if name}


def _values(cells: list[str], index: dict[str, int], width: int, line: int) -> dict[str, str]:
    # Blank cells past the header's width (trailing commas from a spreadsheet) are harmless;
    # anything else means the values have shifted, and reading them would import garbage.
    if len(cells) < width or any(cell.strip() for cell in cells[width:]):
        raise _RowRejected(
            [
                RowProblem(
                    line,
                    "row",
                    f"This row has {len(cells)} values but the header has {width} columns; "
                    "check for an unquoted comma or a missing value.",
                    "row with the wrong number of values",
                )
            ]
        )
    return {key: cells[position].strip() for key, position in index.items()}


def _coordinate(text: str, *, line: int, column: str, axis: str, limit: int) -> float:
    if not text:
        raise _RowRejected([RowProblem(line, column, f"No {axis} given.", f"{axis} missing")])
    number_text = text.replace(",", ".") if DECIMAL_COMMA.match(text) else text
    try:
        number = float(number_text)
    except ValueError:
        raise _RowRejected(
            [RowProblem(line, column, f"{text!r} is not a number.", f"{axis} not a number")]
        ) from None
    if not math.isfinite(number):
        raise _RowRejected(
            [RowProblem(line, column, f"{text!r} is not a finite number.", f"{axis} not a number")]
        )
    if not -limit <= number <= limit:
        raise _RowRejected(
            [
                RowProblem(
                    line,
                    column,
                    f"{axis.capitalize()} must be between -{limit} and {limit}, not {text}.",
                    f"{axis} out of range",
                )
            ]
        )
    return number


def _idea_data(
    values: dict[str, str],
    *,
    line: int,
    columns: dict[str, str],
    categories: dict[str, Category],
    kinds: dict[str, str],
    default_category: Category,
    default_kind: str,
    channel_label: str,
) -> dict:
    problems: list[RowProblem] = []
    coordinates: dict[str, float] = {}
    for key, axis, limit in (("lat", "latitude", 90), ("lon", "longitude", 180)):
        try:
            coordinates[key] = _coordinate(
                values[key], line=line, column=columns[key], axis=axis, limit=limit
            )
        except _RowRejected as rejected:
            problems.extend(rejected.problems)

    category = default_category
    if values.get("category"):
        found_category = categories.get(values["category"].casefold())
        if found_category is not None:
            category = found_category
        else:
            problems.append(
                RowProblem(
                    line,
                    columns["category"],
                    f"Unknown category {values['category']!r}; use a category's slug or name.",
                    REASON_CATEGORY_UNKNOWN,
                )
            )

    kind = default_kind
    if values.get("kind"):
        found_kind = kinds.get(values["kind"].casefold())
        if found_kind is not None:
            kind = found_kind
        else:
            problems.append(
                RowProblem(
                    line,
                    columns["kind"],
                    f"Unknown kind {values['kind']!r}; use {' or '.join(Idea.Kind.values)}.",
                    "kind unknown",
                )
            )

    if "title" not in values:
        title = f"{channel_label}, line {line}"
    elif values["title"]:
        title = values["title"]
    else:
        problems.append(RowProblem(line, columns["title"], "No title given.", "title missing"))

    if problems:
        raise _RowRejected(problems)
    return {
        "kind": kind,
        "title": title,
        "description": values.get("description", ""),
        "category": category,
        "location": location_from_lonlat(coordinates["lon"], coordinates["lat"]),
    }


def _outside(line: int, columns: dict[str, str | None], location: Point) -> RowProblem:
    return RowProblem(
        line,
        f"{columns['lat']}/{columns['lon']}",
        f"Latitude {location.y}, longitude {location.x} is outside every "
        "neighborhood the city serves.",
        "outside every neighborhood",
    )


def _stored_texts(data: dict) -> dict[str, str]:
    """The row's title and description as MapIdeas stores text
    (mapideas.plumbing.stored_text), or a ValidationError naming each refused one."""
    texts, errors = {}, {}
    for name in ("title", "description"):
        try:
            texts[name] = stored_text(data[name].strip())
        except ValidationError as exc:
            errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return texts


def _problems_from_validation(
    exc: ValidationError, line: int, columns: dict[str, str | None], location: Point
) -> list[RowProblem]:
    """What `idea_create` refused, named by the CSV column it came from."""
    where = {
        "location": f"{columns['lat']}/{columns['lon']}",
        "title": columns["title"] or "title",
        "description": columns["description"] or "description",
        "category": columns["category"] or "category",
        "kind": columns["kind"] or "kind",
    }
    if hasattr(exc, "error_dict"):
        error_dict = exc.error_dict
    else:
        error_dict = {NON_FIELD_ERRORS: exc.error_list}
    problems = []
    for model_field, errors in error_dict.items():
        column = where.get(model_field, "row")
        for error in errors:
            message = " ".join(error.messages)
            if model_field == "location" and message == gettext(OUTSIDE_MESSAGE):
                problems.append(_outside(line, columns, location))
                continue
            label = model_field if model_field != NON_FIELD_ERRORS else "row"
            reason = {"blank": "empty", "max_length": "too long", "required": "empty"}.get(
                error.code or "", "invalid"
            )
            problems.append(RowProblem(line, column, message, f"{label} {reason}"))
    return problems
