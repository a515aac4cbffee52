"""`manage.py export_layer ideas ideas.gpkg [filters]`: the HTTP export, written to a file.

The same rows and formats as `/export/<layer>.<extension>` (geodata.exports, export_formats) with
the same filters (mapideas.pins.filters.IdeaFilter), so a file and a download of one query never
differ. The format comes from the file name: .geojson/.json, .gpkg, .shp.zip, .csv, .fgb, .kml.
The engagement layers (engagement-neighborhoods, engagement-hexagons, coldspots, outreach) take
the parameters of /api/engagement/... (geodata.engagement.query.parse_query). Names of
categories and teams are in the city's language unless `--lang` asks for another of
settings.LANGUAGES, as `lang=` does on /export/... (geodata.exports.language.asked_language).
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import ValidationError

from geodata.engagement import layers as engagement
from geodata.engagement import query as engagement_api
from geodata.exports import formats as export_formats
from geodata.exports import layers as exports
from geodata.exports.language import asked_language
from mapideas.pins import selectors
from mapideas.pins.filters import IdeaFilter, filter_parameters
from neighborhoods.selectors import active_neighborhoods

# The ideas layer's filters: the ideas API's, one option per query parameter.
IDEA_FILTERS = filter_parameters()
# The engagement layers take the city-wide filters and their own parameters (the API's).
ENGAGEMENT_FILTERS = engagement_api.FILTER_PARAMS
ENGAGEMENT_OPTIONS = (
    "thin_below",
    "trend_days",
    "resolution",
    "weights",
    "alpha",
    "limit",
    "attribute",
    "min_count",
)


class Command(BaseCommand):
    help = (
        "Write a layer (ideas, neighborhoods or an engagement layer) to a file in WGS84, "
        "public fields only; the format comes from the file name. The file appears complete "
        "or not at all. It only reads the database: no dry run, no --commit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("layer", choices=exports.LAYERS)
        parser.add_argument(
            "path", type=Path, help=f"Output file: {', '.join(export_formats.SUFFIXES)}."
        )
        parser.add_argument("--bbox", help="minlon,minlat,maxlon,maxlat (ideas only).")
        parser.add_argument("--neighborhood", help="Neighborhood slug (ideas only).")
        parser.add_argument("--team", help="Team slug (ideas only).")
        parser.add_argument("--category", help="Category slug (ideas only).")
        parser.add_argument("--status", help="Status, e.g. new or planned (ideas only).")
        parser.add_argument("--kind", help="idea or issue (ideas only).")
        parser.add_argument("--channel", help="web, api, paper, event...")
        parser.add_argument("--created-after", help="First day, YYYY-MM-DD (included).")
        parser.add_argument("--created-before", help="Last day, YYYY-MM-DD (included).")
        engagement_only = "engagement layers only"
        parser.add_argument(
            "--thin-below", help=f"Thin below this ratio to the city rate ({engagement_only})."
        )
        parser.add_argument("--trend-days", help=f"Trend period in days ({engagement_only}).")
        parser.add_argument("--resolution", help="H3 resolution 7-9 (engagement-hexagons).")
        parser.add_argument("--weights", help="queen or distance (coldspots).")
        parser.add_argument("--alpha", help="False discovery rate (coldspots).")
        parser.add_argument("--limit", help="At most this many (outreach).")
        parser.add_argument(
            "--min-count",
            help="Fewer pins than this in an area: no figure (service layers; at least 10).",
        )
        parser.add_argument("--attribute", help="Only this area attribute (representativeness).")
        parser.add_argument(
            "--lang",
            metavar="CODE",
            default="",
            help=(
                "Name categories and teams in this language, one of "
                f"{', '.join(code for code, _label in settings.LANGUAGES)} "
                "(default: the city's, LANGUAGE_CODE)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        layer: str = options["layer"]
        path: Path = options["path"]
        fmt = export_formats.format_for_suffix(path.name)
        if fmt is None:
            raise CommandError(
                f"Cannot write {path.name!r}: supported formats are "
                f"{', '.join(export_formats.SUFFIXES)}."
            )
        try:
            language = asked_language(options["lang"] or "")
        except ValidationError as exc:
            # asked_language names the bad parameter `lang`: its detail is a dict.
            assert isinstance(exc.detail, dict)
            raise CommandError(
                "; ".join(
                    f"--{name}: {' '.join(str(m) for m in messages)}"
                    for name, messages in exc.detail.items()
                )
            ) from exc
        if path.is_dir():
            raise CommandError(f"{path} is a directory; give a file name.")
        if not path.parent.is_dir():
            raise CommandError(f"The directory {path.parent} does not exist.")

        # Every filter and tuning option is a string as given (add_arguments gives no type).
        filters: dict[str, str] = {
            name: options[name] for name in IDEA_FILTERS if options[name] is not None
        }
        tuning: dict[str, str] = {
            name: options[name] for name in ENGAGEMENT_OPTIONS if options[name] is not None
        }
        if tuning and not exports.LAYER_SPECS[layer].engagement:
            raise CommandError(
                f"--{next(iter(tuning)).replace('_', '-')} applies to the engagement layers only."
            )
        if exports.LAYER_SPECS[layer].engagement:
            city_wide = {k: v for k, v in filters.items() if k in ENGAGEMENT_FILTERS}
            if city_wide != filters:
                raise CommandError(
                    "The engagement layers are city-wide: --bbox, --neighborhood and --team "
                    "apply to the ideas layer only."
                )
            try:
                selection, tuned = engagement_api.parse_query(layer, city_wide | tuning)
            except ValidationError as exc:
                # parse_query names each bad parameter: its detail is a dict.
                assert isinstance(exc.detail, dict)
                raise CommandError(
                    "; ".join(
                        f"--{name.replace('_', '-')}: {' '.join(str(m) for m in messages)}"
                        for name, messages in exc.detail.items()
                    )
                ) from exc
            rows = exports.engagement_rows(
                engagement.engagement_layer(layer, selection, tuned), language
            )
        elif layer == "ideas":
            idea_filter = IdeaFilter(filters, queryset=selectors.public_ideas())
            if not idea_filter.is_valid():
                raise CommandError(
                    "; ".join(
                        f"--{name}: {' '.join(messages)}"
                        for name, messages in idea_filter.errors.items()
                    )
                )
            rows = exports.idea_rows(idea_filter.qs, language)
        else:
            if filters:
                raise CommandError(
                    "Filters apply to the ideas layer only; the neighborhoods layer is "
                    "always written whole."
                )
            rows = exports.neighborhood_rows(active_neighborhoods(), language)

        count = 0

        def counted(items: Iterator[exports.Row]) -> Iterator[exports.Row]:
            nonlocal count
            for item in items:
                count += 1
                yield item

        # Write next to the target and rename at the end: the rename is atomic on one file
        # system, so readers see the old file or the new one, never half of one.
        directory = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            if fmt.driver is None:
                temporary = directory / path.name
                chunks = (
                    export_formats.geojson_chunks(counted(rows))
                    if fmt.extension == "geojson"
                    else export_formats.csv_chunks(layer, counted(rows))
                )
                # newline="": the csv module writes its own line ends (\r\n, as RFC 4180 asks).
                with open(temporary, "x", encoding="utf-8", newline="") as out:
                    for piece in chunks:
                        out.write(piece)
            else:
                temporary = export_formats.write_ogr(fmt, layer, counted(rows), directory)
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            shutil.rmtree(directory, ignore_errors=True)

        noun = "feature" if count == 1 else "features"
        self.stdout.write(self.style.SUCCESS(f"Wrote {count} {noun} ({layer}) to {path}."))
