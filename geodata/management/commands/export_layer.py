"""`manage.py export_layer ideas ideas.geojson [filters]`: the HTTP export, written to a file.

The same streamed FeatureCollection as `/export/<layer>.geojson` (geodata.exports) with the same
filters (mapideas.filters.IdeaFilter), so a file and a download of one query never differ.
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata import exports
from mapideas import selectors
from mapideas.filters import IdeaFilter
from neighborhoods.selectors import active_neighborhoods

SUPPORTED_SUFFIXES = (".geojson", ".json")
IDEA_FILTERS = ("bbox", "neighborhood", "team", "category", "status", "kind")


class Command(BaseCommand):
    help = (
        "Write a layer (ideas or neighborhoods) to a GeoJSON file (RFC 7946, WGS84), public "
        "fields only. The file appears complete or not at all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("layer", choices=exports.LAYERS)
        parser.add_argument(
            "path", type=Path, help=f"Output file: {' or '.join(SUPPORTED_SUFFIXES)}."
        )
        parser.add_argument("--bbox", help="minlon,minlat,maxlon,maxlat (ideas only).")
        parser.add_argument("--neighborhood", help="Neighborhood slug (ideas only).")
        parser.add_argument("--team", help="Team slug (ideas only).")
        parser.add_argument("--category", help="Category slug (ideas only).")
        parser.add_argument("--status", help="Status, e.g. new or planned (ideas only).")
        parser.add_argument("--kind", help="idea or issue (ideas only).")

    def handle(self, *args: object, **options: object) -> None:
        path: Path = options["path"]
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise CommandError(
                f"Cannot write {path.name!r}: supported formats are GeoJSON "
                f"({', '.join(SUPPORTED_SUFFIXES)})."
            )
        if path.is_dir():
            raise CommandError(f"{path} is a directory; give a file name.")
        if not path.parent.is_dir():
            raise CommandError(f"The directory {path.parent} does not exist.")

        filters = {name: options[name] for name in IDEA_FILTERS if options[name] is not None}
        if options["layer"] == "ideas":
            idea_filter = IdeaFilter(filters, queryset=selectors.public_ideas())
            if not idea_filter.is_valid():
                raise CommandError(
                    "; ".join(
                        f"--{name}: {' '.join(messages)}"
                        for name, messages in idea_filter.errors.items()
                    )
                )
            features = exports.idea_features(idea_filter.qs)
        else:
            if filters:
                raise CommandError(
                    "Filters apply to the ideas layer only; the neighborhoods layer is "
                    "always written whole."
                )
            features = exports.neighborhood_features(active_neighborhoods())

        count = 0

        def counted(items: Iterator[str]) -> Iterator[str]:
            nonlocal count
            for item in items:
                count += 1
                yield item

        # Write next to the target and rename at the end: the rename is atomic on one file
        # system, so readers see the old file or the new one, never half of one.
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(temporary, "x", encoding="utf-8") as out:
                for piece in exports.feature_collection(counted(features)):
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}") from exc
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

        noun = "feature" if count == 1 else "features"
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {count} {noun} ({options['layer']}) to {path}.")
        )
