"""import_neighborhoods PATH --name-field F [...] [--commit]: a new boundary version from a file.

A dry run unless --commit (mapideas.plumbing.commands): the version is stored and activated
inside a transaction rolled back at the end, so the report of a dry run is exact.
"""

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from geodata.imports.boundaries import (
    BoundaryFileError,
    BoundaryImport,
    import_boundaries,
    read_boundaries,
)
from mapideas.plumbing.commands import (
    DRY_RUN_DONE,
    DRY_RUN_HELP,
    add_commit_argument,
    analyze_tables,
    rolled_back_unless,
)
from mapideas.rerouting.services import REROUTED_TABLES
from neighborhoods.models import BoundaryVersion, Neighborhood, Team

SHOWN = 15  # names listed per kind of change before "and N more"


class Command(BaseCommand):
    help = (
        "Import neighborhood polygons from a GeoJSON, Shapefile (bare or zipped) or GeoPackage, "
        "in any CRS, as a new boundary version, and activate it (re-routing the open pins). "
        "Without --team-field each neighborhood gets a team named after it. " + DRY_RUN_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--name-field", required=True, help="attribute holding the name")
        parser.add_argument("--population-field", help="attribute holding the population")
        parser.add_argument("--team-field", help="attribute naming the district team")
        parser.add_argument(
            "--priority-field",
            help="attribute with a whole number: where polygons overlap, the highest owns the pin",
        )
        parser.add_argument(
            "--source-srid",
            type=int,
            help="EPSG code of the file's coordinates, when the file does not say (or is wrong)",
        )
        parser.add_argument(
            "--no-repair",
            action="store_true",
            help="refuse invalid polygons instead of repairing them with make_valid",
        )
        add_commit_argument(parser)
        parser.add_argument(
            "--no-activate",
            action="store_true",
            help="with --commit: store the version without switching routing to it "
            "(activate later with activate_boundaries)",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["path"]

        def progress(done: int, total: int) -> None:
            if total >= 200 and options["verbosity"] >= 1:
                sys.stderr.write(f"\r  checked {done:,} of {total:,} features")
                if done == total:
                    sys.stderr.write("\n")

        commit: bool = options["commit"]
        try:
            boundaries = read_boundaries(
                path,
                name_field=options["name_field"],
                population_field=options["population_field"],
                team_field=options["team_field"],
                priority_field=options["priority_field"],
                source_srid=options["source_srid"],
                repair=not options["no_repair"],
                progress=progress,
            )
            # import_boundaries rolls its own dry run back (the staff page relies on it); the
            # command's transaction is the guarantee every command gives, whatever a service does.
            with rolled_back_unless(commit):
                result = import_boundaries(
                    boundaries,
                    label=f"{path.name}, {timezone.now():%Y-%m-%d %H:%M}",
                    commit=commit,
                    activate=not options["no_activate"],
                )
        except BoundaryFileError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if result.committed:
            analyze_tables(BoundaryVersion, Neighborhood, Team)
            if result.moved is not None:
                # Activated: every open pin was re-routed (mapideas.rerouting.services).
                analyze_tables(*REROUTED_TABLES)
        self._report(result)

    def _names(self, label: str, names: list[str]) -> None:
        if names:
            shown = ", ".join(names[:SHOWN]) + (
                f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
            )
            self.stdout.write(f"  {label} ({len(names)}): {shown}")

    def _report(self, result: BoundaryImport) -> None:
        boundaries, changes = result.file, result.changes
        self.stdout.write(
            f"Read {len(boundaries.items)} neighborhoods ({boundaries.source_crs}, "
            f"reprojected to WGS84)."
        )
        for note in boundaries.repairs + boundaries.merged:
            self.stdout.write(f"  {note}")
        self.stdout.write(
            f"Against the active boundaries: {len(changes.new)} new, {len(changes.changed)} "
            f"changed, {len(changes.removed)} removed, {len(changes.unchanged)} unchanged."
        )
        self._names("new", changes.new)
        self._names("changed", changes.changed)
        self._names("removed", changes.removed)
        self._names("new teams", changes.teams_created)
        if changes.overlaps:
            self.stdout.write(f"Overlaps above 1 m² ({len(changes.overlaps)}):")
            for overlap in changes.overlaps[:SHOWN]:
                self.stdout.write(
                    f"  {overlap.first} / {overlap.second}: {overlap.area_m2:,.0f} m²"
                )
        if changes.gaps:
            self.stdout.write(f"Gaps above 1 m² between neighborhoods ({len(changes.gaps)}):")
            for gap in changes.gaps[:SHOWN]:
                self.stdout.write(
                    f"  {gap.area_m2:,.0f} m² near {', '.join(gap.near) or '-'} "
                    f"(at {gap.where[1]:.6f}, {gap.where[0]:.6f})"
                )
        if result.moved is not None:
            moved = result.moved
            verb = "move" if result.committed else "would move"
            self.stdout.write(
                f"Open pins that {verb} to another team: {moved.team_changed}"
                f" (re-routed in all: {moved.total})."
            )
            for from_team, to_team, count in moved.by_teams[:SHOWN]:
                self.stdout.write(f"  {from_team} -> {to_team}: {count}")
        if result.committed:
            # A commit keeps the version it stored (only a dry run's is None).
            assert result.version is not None
            state = "active" if result.moved is not None else "stored, not active"
            self.stdout.write(
                self.style.SUCCESS(f"Committed as boundary version #{result.version.pk} ({state}).")
            )
        else:
            self.stdout.write(self.style.WARNING(DRY_RUN_DONE))
