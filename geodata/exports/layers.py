"""The public rows of each layer, and streamed GeoJSON (RFC 7946) made from them: the same
bytes for the download and export_layer. The other formats (geodata.exports.formats) are written
from the same rows.

Geometry is written by the database (AsGeoJSON, 6 decimals) and rows are read in chunks, so
memory stays flat however many pins a layer holds. Only public fields are written: no author,
email, name or IP ever reaches a layer. The ideas layer is the public pin of
mapideas.pins.fields: its columns, their order and types, what is read for them and how each
is written all come from there (the API's Feature, the map's and this layer are one list).

Names of categories and teams are in the city's language (settings.LANGUAGE_CODE) unless a
`language` is given (`lang=` on /export/...): files are joined and styled on their values,
so the same layer names things the same way whoever downloads it (the rule is in
neighborhoods.translated_names). Every name has its slug beside it.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import QuerySet
from django.utils import timezone

from geodata.engagement import fields as engagement_fields
from geodata.engagement import layers as engagement_layers
from mapideas.map.viewport_counts import neighborhood_pin_count
from mapideas.models import Idea
from mapideas.pins import fields as pin_fields
from mapideas.pins.serializers import COORDINATE_PRECISION, NeighborhoodFeatureSerializer
from neighborhoods.models import Neighborhood, Team
from neighborhoods.translated_names import city_language, names_by_id

CHUNK_SIZE = 2000


# The public properties of each layer, exactly the API's: every format writes these and only
# these (GeoJSON and KML as they are, CSV as columns, the OGR formats as fields).
IDEA_PROPERTIES = pin_fields.PUBLIC_PIN_NAMES
NEIGHBORHOOD_PROPERTIES = tuple(NeighborhoodFeatureSerializer.Meta.fields)
# The properties that are whole numbers (the others are text: dates as ISO 8601), for
# formats with typed fields: the pin's as its fields say.
IDEA_INTEGERS = frozenset(
    f.name for f in pin_fields.PUBLIC_PIN if f.type is pin_fields.Type.INTEGER
)
NEIGHBORHOOD_INTEGERS = frozenset({"population", "idea_count"})
# The public pin as the export reads it: `.values_list()` tuples, then the geometry as
# GeoJSON text; each made into the properties by the builder compiled from the fields.
PIN_ROWS = pin_fields.PinRows(by_position=True)
_PIN_ID = PIN_ROWS.position("id")
_PIN_GEOJSON = len(PIN_ROWS.keys)


@dataclass(frozen=True)
class Layer:
    """What a layer's features carry: every format writes these properties and no others."""

    properties: tuple[str, ...]
    geometry_type: str  # every feature's, as OGR names it
    integers: frozenset[str]  # typed fields for the OGR formats; the rest is text
    floats: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    # Computed from the pins with the engagement parameters (geodata.engagement), not a table.
    engagement: bool = False


LAYER_SPECS: dict[str, Layer] = {
    "ideas": Layer(IDEA_PROPERTIES, "Point", IDEA_INTEGERS),
    "neighborhoods": Layer(NEIGHBORHOOD_PROPERTIES, "MultiPolygon", NEIGHBORHOOD_INTEGERS),
} | {
    name: Layer(
        fields.names,
        engagement_fields.LAYER_GEOMETRY_TYPES[name],
        fields.integers,
        fields.floats,
        fields.booleans,
        engagement=True,
    )
    for name, fields in engagement_fields.LAYER_FIELDS.items()
}
LAYERS = tuple(LAYER_SPECS)


@dataclass(frozen=True)
class Row:
    """One feature of a layer: its id, its public properties, its geometry as GeoJSON text."""

    id: int | str
    properties: dict[str, object]
    geometry: str


def idea_rows(ideas: QuerySet[Idea], language: str | None = None) -> Iterator[Row]:
    """One Row per idea, newest first; the properties match the API's Feature, with names
    in `language` (default: the city's)."""
    context = pin_fields.PinContext.of(
        language or city_language(), timezone.get_current_timezone(), using=ideas.db
    )
    properties = PIN_ROWS.builder(context)
    rows = (
        ideas.order_by("-created_at", "-id")
        .annotate(geojson=AsGeoJSON(pin_fields.GEOMETRY, precision=COORDINATE_PRECISION))
        .values_list(*PIN_ROWS.keys, "geojson")
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield Row(row[_PIN_ID], properties(row), row[_PIN_GEOJSON])


def neighborhood_rows(
    neighborhoods: QuerySet[Neighborhood], language: str | None = None
) -> Iterator[Row]:
    """One Row per neighborhood, by name, with the number of pins routed to it; its team's
    name in `language` (default: the city's)."""
    teams = pin_fields.NameTable(Team, language or city_language(), None, neighborhoods.db)
    rows = (
        neighborhoods.order_by("name")
        .annotate(
            geojson=AsGeoJSON("geometry", precision=COORDINATE_PRECISION),
            # Public pins only, as the API's count (selectors.neighborhoods_with_counts).
            idea_count=neighborhood_pin_count(),
        )
        .values_list("name", "slug", "team_id", "population", "idea_count", "geojson")
    )
    for name, slug, team_id, population, idea_count, geojson in rows.iterator(
        chunk_size=CHUNK_SIZE
    ):
        team_slug, team_name = teams[team_id]
        properties = (name, slug, team_name, team_slug, population, idea_count)
        yield Row(slug, dict(zip(NEIGHBORHOOD_PROPERTIES, properties, strict=True)), geojson)


# One encoder for every row (json.dumps would build one per call); compact, UTF-8 as is.
_PROPERTIES_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def engagement_rows(
    layer: engagement_layers.EngagementLayer, language: str | None = None
) -> Iterator[Row]:
    """One Row per feature of a computed engagement layer (neighborhoods, hexagons...). The
    layers that name a team (`team`, beside `team_slug`) name it in `language` (default:
    the city's, as geodata.engagement computes it)."""
    geometries = layer.frame["geojson"].tolist()
    renamed = _team_names(layer, language)
    for (feature_id, properties), geometry in zip(
        engagement_layers.plain_properties(layer), geometries, strict=True
    ):
        slug = properties.get("team_slug")
        if isinstance(slug, str) and slug in renamed:
            properties["team"] = renamed[slug]
        yield Row(feature_id, properties, geometry)


def _team_names(layer: engagement_layers.EngagementLayer, language: str | None) -> dict[str, str]:
    """team slug -> name in `language`, when the layer names teams in another language than
    the city's; else {} (nothing to rename)."""
    if (
        language is None
        or language == city_language()
        or "team_slug" not in engagement_fields.LAYER_FIELDS[layer.name].names
    ):
        return {}
    return dict(names_by_id(Team, language).values())


def features(rows: Iterator[Row]) -> Iterator[str]:
    """One GeoJSON Feature string per row."""
    encode = _PROPERTIES_JSON.encode
    for row in rows:
        feature_id = row.id if isinstance(row.id, int) else encode(row.id)
        yield (
            f'{{"type":"Feature","id":{feature_id},"geometry":{row.geometry},'
            f'"properties":{encode(row.properties)}}}'
        )


def idea_features(ideas: QuerySet[Idea], language: str | None = None) -> Iterator[str]:
    return features(idea_rows(ideas, language))


def neighborhood_features(
    neighborhoods: QuerySet[Neighborhood], language: str | None = None
) -> Iterator[str]:
    return features(neighborhood_rows(neighborhoods, language))


def feature_collection(features: Iterator[str]) -> Iterator[str]:
    """Wrap Feature strings into a FeatureCollection, yielding pieces as they come."""
    yield '{"type":"FeatureCollection","features":[\n'
    first = True
    for feature in features:
        yield feature if first else ",\n" + feature
        first = False
    yield "\n]}\n"
