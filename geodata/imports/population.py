"""Population from a CSV file, joined to the active neighborhoods by a key column.

Each row names a neighborhood (by name or slug, case-insensitively) and gives its population.
Keys that match no neighborhood are reported and skipped; a population that is not a whole,
non-negative number refuses the whole file, every bad line listed. Writing goes through
`neighborhoods.services.population_set`, in one transaction; without `commit` nothing is written.

Other area attributes (median income, share of renters...) may come from the same file: each is
declared as name -> column. Their values are numbers (thousands separators as for population);
an empty cell means unknown for that neighborhood (the attribute is removed there). A value that
is not a number refuses the whole file too, its line and column listed. They are written by
`neighborhoods.services.attributes_set` in the same transaction as the population.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from geodata.imports.csv_files import csv_rows
from neighborhoods.models import BoundaryVersion, Neighborhood
from neighborhoods.services import (
    MAX_POPULATION,
    attribute_name_check,
    attributes_set,
    population_set,
)

# "12,345" or "1,234,567": thousands separated by commas, as spreadsheets write them. Any other
# comma ("1,5") is left alone and refused as not a number.
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


class PopulationFileError(Exception):
    """The file as a whole cannot be used (nothing was written); the message says why."""


@dataclass(frozen=True)
class BadValue:
    line: int
    key: str
    value: str
    reason: str  # "not a number", "negative", "not whole", "too large", "already on line N"
    column: str = ""  # the column of the bad value (the population's or an attribute's)


@dataclass(frozen=True)
class UnmatchedKey:
    line: int
    key: str


@dataclass(frozen=True)
class PopulationChange:
    name: str
    before: int | None
    after: int


@dataclass
class PopulationImport:
    version: BoundaryVersion
    rows: int = 0
    matched: int = 0  # rows joined to a neighborhood, with a good value
    changes: list[PopulationChange] = field(default_factory=list)
    unmatched: list[UnmatchedKey] = field(default_factory=list)
    without_row: list[str] = field(default_factory=list)  # neighborhood names
    bad: list[BadValue] = field(default_factory=list)
    committed: bool = False
    attributes: tuple[str, ...] = ()  # the attribute names declared
    # Names of the neighborhoods whose declared attributes change.
    attributes_changed: list[str] = field(default_factory=list)


def population_import_csv(
    *,
    path: Path,
    key_field: str,
    population_field: str,
    attributes: dict[str, str] | None = None,
    commit: bool = False,
) -> PopulationImport:
    """Join the CSV to the active neighborhoods; with `commit` (and no bad value), write.

    `attributes`: attribute name -> its column, read beside the population.

    Raises PopulationFileError when the file cannot be read at all (missing, not UTF-8, no such
    column, no rows), an attribute name is not one, or no boundaries are active.
    """
    attributes = dict(attributes or {})
    for name in attributes:
        try:
            attribute_name_check(name)
        except ValidationError as exc:
            raise PopulationFileError(" ".join(exc.messages)) from None
    with transaction.atomic():
        version = BoundaryVersion.objects.filter(is_active=True).first()
        if version is None:
            raise PopulationFileError(
                "No boundaries are active: import neighborhoods first (import_neighborhoods)."
            )
        result = PopulationImport(version=version, attributes=tuple(attributes))
        neighborhoods = list(Neighborhood.objects.filter(version=version).order_by("name"))
        by_key = _neighborhoods_by_key(neighborhoods)
        values: dict[int, int] = {}
        attribute_values: dict[int, dict[str, float | None]] = {}
        first_line: dict[int, int] = {}  # neighborhood id -> line of its (good) row
        seen: set[int] = set()  # neighborhoods with a row, good or bad
        with csv_rows(path, error=PopulationFileError) as csv_file:
            delimiter, rows = csv_file.delimiter, csv_file.rows
            _header_line, header = next(rows, (0, None))
            if header is None:
                raise PopulationFileError(f"{path.name} is empty: it has no header line.")
            key_at, population_at, *attribute_at = _column_index(
                header, [key_field, population_field, *attributes.values()], path
            )
            for line, cells in rows:
                result.rows += 1
                key = _cell(cells, key_at)
                text = _cell(cells, population_at)
                neighborhood = by_key.get(_normal(key))
                if neighborhood is None:
                    result.unmatched.append(UnmatchedKey(line=line, key=key))
                else:
                    seen.add(neighborhood.pk)
                # Thousands commas only in comma-separated files: where the separator is a
                # semicolon, the comma is the decimal mark ("1,500" is one and a half).
                population, reason = _population(text, thousands_comma=delimiter == ",")
                if reason is None and neighborhood is not None:
                    earlier = first_line.setdefault(neighborhood.pk, line)
                    if earlier != line:
                        reason = f"{neighborhood.name} already on line {earlier}"
                if reason is not None:
                    result.bad.append(
                        BadValue(
                            line=line, key=key, value=text, reason=reason, column=population_field
                        )
                    )
                row_attributes: dict[str, float | None] = {}
                for (name, column), position in zip(attributes.items(), attribute_at, strict=True):
                    text = _cell(cells, position)
                    number, why = _attribute(text, delimiter=delimiter)
                    if why is not None:
                        result.bad.append(
                            BadValue(line=line, key=key, value=text, reason=why, column=column)
                        )
                    row_attributes[name] = number
                if reason is None and neighborhood is not None:
                    # _population gives a number whenever it gives no reason.
                    assert population is not None
                    values[neighborhood.pk] = population
                    attribute_values[neighborhood.pk] = row_attributes
        if not result.rows:
            raise PopulationFileError(f"{path.name} has a header but no rows.")
        result.matched = len(values)
        result.without_row = [n.name for n in neighborhoods if n.pk not in seen]
        result.changes = [
            PopulationChange(name=n.name, before=n.population, after=values[n.pk])
            for n in neighborhoods
            if n.pk in values and n.population != values[n.pk]
        ]
        if attributes:
            result.attributes_changed = [
                n.name
                for n in neighborhoods
                if n.pk in attribute_values
                and _with(n.attributes, attribute_values[n.pk]) != (n.attributes or {})
            ]
        if commit and not result.bad:
            population_set(values=values)
            if attributes:
                attributes_set(names=attributes, values=attribute_values)
            result.committed = True
    return result


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _neighborhoods_by_key(neighborhoods: list[Neighborhood]) -> dict[str, Neighborhood]:
    """Each neighborhood by its name and by its slug; a name wins over another's slug."""
    by_key: dict[str, Neighborhood] = {}
    for neighborhood in neighborhoods:
        by_key.setdefault(_normal(neighborhood.slug), neighborhood)
    for neighborhood in neighborhoods:
        by_key[_normal(neighborhood.name)] = neighborhood
    return by_key


def _population(text: str, *, thousands_comma: bool) -> tuple[int | None, str | None]:
    """(population, None) or (None, why it is not one)."""
    cleaned = text.replace(",", "") if thousands_comma and THOUSANDS.match(text) else text
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None, "not a number"
    if not number.is_finite():
        return None, "not a number"
    if number < 0:
        return None, "negative"
    if number != number.to_integral_value():
        return None, "not whole"
    if number > MAX_POPULATION:
        return None, "too large"
    return int(number), None


def _attribute(text: str, *, delimiter: str) -> tuple[float | None, str | None]:
    """(number, None), (None, None) for an empty cell (unknown), or (None, why not).

    Thousands commas as for population in comma-separated files; in semicolon-separated ones
    the comma is the decimal mark ("12,5" is twelve and a half).
    """
    if not text:
        return None, None
    cleaned = text
    if delimiter == "," and THOUSANDS.match(text):
        cleaned = text.replace(",", "")
    elif delimiter == ";" and text.count(",") == 1 and "." not in text:
        cleaned = text.replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None, "not a number"
    if not number.is_finite():
        return None, "not a number"
    if number == number.to_integral_value() and abs(number) <= MAX_EXACT:
        return int(number), None
    return float(number), None


# Whole numbers up to this stay integers (what a float holds exactly).
MAX_EXACT = 2**53


def _with(attributes: dict | None, given: dict[str, float | None]) -> dict:
    merged = dict(attributes or {})
    for name, value in given.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _cell(cells: list[str], position: int) -> str:
    return cells[position].strip() if position < len(cells) else ""


def _column_index(header: list[str], wanted: list[str], path: Path) -> list[int]:
    names = [name.strip() for name in header]
    missing = [name for name in dict.fromkeys(wanted) if name not in names]
    if missing:
        raise PopulationFileError(
            f"{path.name} has no column {', '.join(map(repr, missing))}. "
            f"Its columns are: {', '.join(map(repr, names))}."
        )
    doubled = sorted({name for name in wanted if names.count(name) > 1})
    if doubled:
        raise PopulationFileError(
            f"{path.name} has more than one column named {', '.join(map(repr, doubled))}."
        )
    return [names.index(name) for name in wanted]
