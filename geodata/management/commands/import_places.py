"""import_places PATH --name-field F [...]: street and place names for the map's search box.

A dry run unless --commit (mapideas.plumbing.commands): the places are stored inside a
transaction rolled back at the end, so the dry run reports what --commit would replace.
--commit stores them, replacing those an earlier import of a file of the same name left, in
one transaction.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.places.gazetteer import PlaceFileError, import_places, read_places
from mapideas.plumbing.commands import (
    DRY_RUN_DONE,
    DRY_RUN_HELP,
    add_commit_argument,
    rolled_back_unless,
)

SHOWN = 15  # skipped features listed before "and N more"


class Command(BaseCommand):
    help = (
        "Import street and place names (points, lines or polygons) from any file GDAL reads "
        "(GeoJSON, Shapefile, GeoPackage, FlatGeobuf, CSV with geometry...), in any CRS, for "
        "the map's place search, replacing those of an earlier import of a file of the same "
        "name. " + DRY_RUN_HELP
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
        add_commit_argument(parser)

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
        commit: bool = options["commit"]
        with rolled_back_unless(commit):
            deleted, created = import_places(places, source=path.name)
        if commit:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Stored {created} places from {path.name} (replacing {deleted} from an "
                    "earlier import of it)."
                )
            )
        else:
            self.stdout.write(
                f"Would store {created} places from {path.name} (replacing {deleted} from an "
                "earlier import of it)."
            )
            self.stdout.write(self.style.WARNING(DRY_RUN_DONE))
