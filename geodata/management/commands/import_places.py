"""import_places PATH --name-field F [...]: street and place names for the map's search box.

A dry run by default: it reports what it read and writes nothing. --commit stores the places,
replacing those an earlier import of a file of the same name left, in one transaction.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.places.gazetteer import PlaceFileError, import_places, read_places

SHOWN = 15  # skipped features listed before "and N more"


class Command(BaseCommand):
    help = (
        "Import street and place names (points, lines or polygons) from any file GDAL reads "
        "(GeoJSON, Shapefile, GeoPackage, FlatGeobuf, CSV with geometry...), in any CRS, for "
        "the map's place search. Without --commit, only reports what would be imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--name-field", required=True, help="attribute holding the name")
        parser.add_argument(
            "--kind-field", help="attribute holding the kind (street, square, park...)"
        )
        parser.add_argument(
            "--kind", default="place", help="the kind of every place without --kind-field"
        )
        parser.add_argument("--layer", help="the layer to read, in a file with several")
        parser.add_argument(
            "--source-srid",
            type=int,
            help="EPSG code of the file's coordinates, when the file does not say (or is wrong)",
        )
        parser.add_argument("--commit", action="store_true", help="apply: store the places")

    def handle(self, *args, **options) -> None:
        path: Path = options["path"]
        try:
            places = read_places(
                path,
                name_field=options["name_field"],
                kind_field=options["kind_field"],
                default_kind=options["kind"],
                layer=options["layer"],
                source_srid=options["source_srid"],
            )
        except PlaceFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Read {len(places.items)} places ({places.source_crs}, reprojected to WGS84)."
        )
        if places.skipped:
            shown = ", ".join(places.skipped[:SHOWN])
            more = len(places.skipped) - SHOWN
            self.stdout.write(
                f"  skipped ({len(places.skipped)}): {shown}"
                + (f" and {more} more" if more > 0 else "")
            )
        if not options["commit"]:
            self.stdout.write(
                self.style.WARNING(
                    "Dry run: nothing was written. Run again with --commit to apply."
                )
            )
            return
        deleted, created = import_places(places, source=path.name)
        self.stdout.write(
            self.style.SUCCESS(
                f"Stored {created} places from {path.name} (replacing {deleted} from an earlier "
                "import of it)."
            )
        )
