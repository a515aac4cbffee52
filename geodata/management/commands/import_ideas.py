"""`manage.py import_ideas FILE.csv --lat-field LAT --lon-field LON [--commit]`: offline input
from a CSV.

A dry run unless --commit (mapideas.plumbing.commands). Only reads options and prints; the work
is in `geodata.imports.ideas`.
"""

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.imports.ideas import (
    REASON_CATEGORY_UNKNOWN,
    WRITTEN_TABLES,
    IdeaImportError,
    ideas_import_csv,
)
from mapideas.models import Idea
from mapideas.pins import selectors
from mapideas.plumbing.commands import (
    DRY_RUN_DONE,
    DRY_RUN_HELP,
    add_commit_argument,
    rolled_back_unless,
    vacuum_analyze_tables,
)

MAX_PROBLEMS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import ideas from a CSV file (.csv or .csv.gz, UTF-8): each row is routed to its "
        "neighborhood's team like a pin on the web map. Rows that cannot be imported are "
        "listed with their line number; the others are imported, in one transaction. "
        + DRY_RUN_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", type=Path, help="The CSV file (.csv or .csv.gz).")
        parser.add_argument("--lat-field", required=True, help="Column holding the latitude.")
        parser.add_argument("--lon-field", required=True, help="Column holding the longitude.")
        parser.add_argument(
            "--title-field",
            help='Column holding the title (default: "<channel>, line N" for every row).',
        )
        parser.add_argument("--description-field", help="Column holding the description.")
        parser.add_argument(
            "--category-field",
            help="Column holding a category slug or name; empty cells get --category.",
        )
        parser.add_argument(
            "--kind-field", help="Column holding idea or issue; empty cells get --kind."
        )
        parser.add_argument(
            "--category", default="other", help="Category for rows without one (default: other)."
        )
        parser.add_argument(
            "--kind",
            default=Idea.Kind.IDEA.value,
            help="Kind for rows without one: idea or issue (default: idea).",
        )
        parser.add_argument(
            "--channel",
            default=Idea.Channel.IMPORT.value,
            help=(
                f"How the input was gathered: {', '.join(Idea.Channel.values)} (default: "
                "import; say paper, meeting, phone... when the file is a transcript of those)."
            ),
        )
        parser.add_argument(
            "--event",
            default="",
            metavar="NAME",
            help='The meeting or campaign the input was gathered at, e.g. "Town hall, 3 March": '
            "stored with every row (public, on each pin's page).",
        )
        add_commit_argument(parser)
        # Before --commit existed, --dry-run was how a file was checked without writing. It is
        # now the default, so scripts that still pass it keep doing exactly what they meant;
        # it is left out of --help so that one way is documented.
        parser.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        commit: bool = options["commit"]
        if commit and options["dry_run"]:
            raise CommandError("--dry-run and --commit contradict each other: give one.")
        try:
            with rolled_back_unless(commit):
                result = ideas_import_csv(
                    path=options["csv"],
                    lat_field=options["lat_field"],
                    lon_field=options["lon_field"],
                    title_field=options["title_field"],
                    description_field=options["description_field"],
                    category_field=options["category_field"],
                    kind_field=options["kind_field"],
                    default_category=options["category"],
                    default_kind=options["kind"],
                    channel=options["channel"],
                    event_name=options["event"],
                    dry_run=not commit,
                )
        except IdeaImportError as exc:
            raise CommandError(str(exc)) from exc
        if commit and result.imported:
            # After the commit: VACUUM cannot run in a transaction, and the new pages must be
            # all-visible for the map's index-only counts (mapideas.plumbing.commands).
            skipped = vacuum_analyze_tables(*WRITTEN_TABLES)
            if skipped:
                self.stderr.write(skipped)

        noun = "idea" if result.imported == 1 else "ideas"
        if commit:
            self.stdout.write(self.style.SUCCESS(f"Imported {result.imported} {noun}."))
        else:
            self.stdout.write(f"{result.imported} {noun} would be imported.")

        problems = result.problems
        if problems:
            rows = len({problem.line for problem in problems})
            self.stdout.write(
                f"{rows} row{'s' if rows != 1 else ''} could not be imported "
                f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):"
            )
            for problem in problems[:MAX_PROBLEMS_SHOWN]:
                self.stdout.write(f"line {problem.line}: {problem.field}: {problem.message}")
            if len(problems) > MAX_PROBLEMS_SHOWN:
                self.stdout.write(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more.")
            self.stdout.write("Problems by reason:")
            reasons = Counter(p.reason for p in problems)
            for reason, count in reasons.most_common():
                self.stdout.write(f"  {count:>7}  {reason}")
            if REASON_CATEGORY_UNKNOWN in reasons:
                self.stdout.write(
                    "Categories (slug: name): "
                    + "; ".join(f"{c.slug}: {c.name}" for c in selectors.categories())
                )

        if result.imported == 0 and problems:
            raise CommandError("No row could be imported; nothing was written.")
        if not commit:
            self.stdout.write(self.style.WARNING(DRY_RUN_DONE))
