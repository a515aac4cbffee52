"""import_neighborhoods PATH --name-field F [...]: load a city's neighborhood polygons."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.boundaries import BoundaryFileError, read_boundaries
from neighborhoods.services import neighborhoods_import


class Command(BaseCommand):
    help = (
        "Import neighborhood polygons from a GeoJSON, Shapefile (bare or zipped) or GeoPackage, "
        "in any CRS. Without --team-field each neighborhood gets a team named after it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--name-field", required=True, help="attribute holding the name")
        parser.add_argument("--population-field", help="attribute holding the population")
        parser.add_argument("--team-field", help="attribute naming the district team")
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

    def handle(self, *args, **options) -> None:
        try:
            boundaries = read_boundaries(
                options["path"],
                name_field=options["name_field"],
                population_field=options["population_field"],
                team_field=options["team_field"],
                source_srid=options["source_srid"],
                repair=not options["no_repair"],
            )
            result = neighborhoods_import(items=boundaries.items)
        except BoundaryFileError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        for note in boundaries.repairs + boundaries.merged:
            self.stdout.write(f"  {note}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(boundaries.items)} neighborhoods from {boundaries.source_crs}: "
                f"{len(result.created)} new, {len(result.updated)} updated, "
                f"{len(result.teams_created)} new teams, {len(boundaries.repairs)} repaired."
            )
        )
        if result.untouched:
            self.stdout.write(
                f"{len(result.untouched)} neighborhoods already in the database are not in this "
                f"file and were kept: {', '.join(result.untouched[:10])}"
                + (" …" if len(result.untouched) > 10 else "")
            )
