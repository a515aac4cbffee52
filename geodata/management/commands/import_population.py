"""import_population CSV --key-field F --population-field F [--attribute NAME=COLUMN ...]
[--commit]: population, and other area attributes, from a CSV.

A dry run unless --commit (mapideas.plumbing.commands): it reports what would change and
writes nothing. The work is in geodata.imports.population.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.imports.population import PopulationFileError, PopulationImport, population_import_csv
from mapideas.plumbing.commands import (
    DRY_RUN_DONE,
    DRY_RUN_HELP,
    add_commit_argument,
    analyze_tables,
    rolled_back_unless,
)
from neighborhoods.models import Neighborhood

SHOWN = 50  # changes and unmatched keys listed before "and N more"; bad values are all listed


class Command(BaseCommand):
    help = (
        "Set the population of the active neighborhoods from a CSV file (.csv or .csv.gz, "
        "UTF-8): each row's key is matched, ignoring case, to a neighborhood's name or slug. "
        "A bad population value refuses the whole file; keys that match no neighborhood are "
        "reported and skipped. " + DRY_RUN_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", type=Path, help="The CSV file (.csv or .csv.gz).")
        parser.add_argument(
            "--key-field", required=True, help="Column naming the neighborhood (name or slug)."
        )
        parser.add_argument(
            "--population-field", required=True, help="Column holding the population."
        )
        parser.add_argument(
            "--attribute",
            action="append",
            default=[],
            metavar="NAME=COLUMN",
            help="Another area attribute from the same file, e.g. median_income=MEDIAN_INC: a "
            "number per neighborhood (empty: unknown there). NAME is lowercase letters, digits "
            "and underscores. Repeat for each attribute.",
        )
        add_commit_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        commit: bool = options["commit"]
        attributes = _declared(options["attribute"])
        try:
            with rolled_back_unless(commit):
                result = population_import_csv(
                    path=options["csv"],
                    key_field=options["key_field"],
                    population_field=options["population_field"],
                    attributes=attributes,
                    commit=commit,
                )
        except PopulationFileError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if commit and not result.bad:
            # Populations and attributes are columns of the neighborhoods.
            analyze_tables(Neighborhood)
        self._report(result, commit=commit)
        if result.bad and commit:
            noun = "value" if result.attributes else "population value"
            raise CommandError(
                f"{len(result.bad)} bad {noun}{'s' if len(result.bad) != 1 else ''}: "
                "nothing was written. Fix the lines listed and run again."
            )

    def _more(self, total: int) -> None:
        if total > SHOWN:
            self.stdout.write(f"  … and {total - SHOWN} more.")

    def _report(self, result: PopulationImport, *, commit: bool) -> None:
        version = result.version
        self.stdout.write(
            f"Read {result.rows} row{'s' if result.rows != 1 else ''} against boundary version "
            f"#{version.pk} ({version.label})."
        )
        verb = "changed" if result.committed else "would change"
        self.stdout.write(
            f"Matched {result.matched} neighborhood{'s' if result.matched != 1 else ''}; "
            f"{len(result.changes)} {verb}."
        )
        for change in result.changes[:SHOWN]:
            before = "none" if change.before is None else f"{change.before:,}"
            self.stdout.write(f"  {change.name}: {before} -> {change.after:,}")
        self._more(len(result.changes))
        if result.attributes:
            names = ", ".join(result.attributes)
            changed = len(result.attributes_changed)
            self.stdout.write(
                f"Attributes ({names}) {verb} for {changed} "
                f"neighborhood{'s' if changed != 1 else ''}."
            )
        if result.unmatched:
            self.stdout.write(f"Keys that match no neighborhood ({len(result.unmatched)}):")
            for unmatched in result.unmatched[:SHOWN]:
                self.stdout.write(f"  line {unmatched.line}: {unmatched.key!r}")
            self._more(len(result.unmatched))
        if result.without_row:
            shown = ", ".join(result.without_row[:SHOWN])
            more = len(result.without_row) - SHOWN
            self.stdout.write(
                f"Neighborhoods with no row ({len(result.without_row)}): {shown}"
                + (f" and {more} more" if more > 0 else "")
            )
        if result.bad:
            noun = "values" if result.attributes else "population values"
            self.stdout.write(f"Bad {noun} ({len(result.bad)}):")
            for bad in result.bad:
                column = f"{bad.column} " if result.attributes else ""
                self.stdout.write(
                    f"  line {bad.line}: {bad.key!r}: {column}{bad.value!r} ({bad.reason})"
                )
        if result.committed:
            attributes = (
                f", attributes for {len(result.attributes_changed)}" if result.attributes else ""
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Committed: population set for {len(result.changes)} "
                    f"neighborhood{'s' if len(result.changes) != 1 else ''}{attributes}."
                )
            )
        elif not commit:
            if result.bad:
                self.stdout.write("--commit refuses this file until the bad values are fixed.")
            self.stdout.write(self.style.WARNING(DRY_RUN_DONE))


def _declared(given: list[str]) -> dict[str, str]:
    """--attribute NAME=COLUMN values as {name: column}; CommandError for a malformed one."""
    declared: dict[str, str] = {}
    for text in given:
        name, sep, column = text.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise CommandError(f"--attribute {text!r}: write NAME=COLUMN, e.g. income=MEDIAN_INC.")
        if name in declared:
            raise CommandError(f"--attribute {name!r} is given twice.")
        declared[name] = column
    return declared
