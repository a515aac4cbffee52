"""The public rows of each layer, and streamed GeoJSON (RFC 7946) made from them: the same
bytes for the download and export_layer. The other formats (geodata.exports.formats) are written
from the same rows.

Geometry is written by the database (AsGeoJSON, 6 decimals) and rows are read in chunks, so
memory stays flat however many pins a layer holds. Only public fields are written: no author,
email, name or IP ever reaches a layer.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from geodata.engagement import analytics as engagement
from mapideas.map.viewport_counts import neighborhood_pin_count
from mapideas.models import Idea
from mapideas.pins.serializers import (
    COORDINATE_PRECISION,
    IdeaFeatureSerializer,
    NeighborhoodFeatureSerializer,
)
from neighborhoods.models import Neighborhood

CHUNK_SIZE = 2000


def _iso(value: datetime, zone: tzinfo | None = None) -> str:
    # The same form as the API: DRF writes times in the current time zone (settings.TIME_ZONE),
    # with UTC as "Z"; the database hands back UTC, so convert first. A long export passes the
    # zone it looked up once: looking it up per row costs more than the formatting.
    text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# The public properties of each layer, exactly the API's (its serializers are the one list):
# every format writes these and only these (GeoJSON and KML as they are, CSV as columns, the
# OGR formats as fields).
IDEA_PROPERTIES = tuple(IdeaFeatureSerializer.Meta.fields)
NEIGHBORHOOD_PROPERTIES = tuple(NeighborhoodFeatureSerializer.Meta.fields)
# The properties that are whole numbers (the others are text), for formats with typed fields.
INTEGER_PROPERTIES = frozenset({"id", "population", "idea_count", "support_count"})


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
    "ideas": Layer(IDEA_PROPERTIES, "Point", INTEGER_PROPERTIES & set(IDEA_PROPERTIES)),
    "neighborhoods": Layer(
        NEIGHBORHOOD_PROPERTIES, "MultiPolygon", INTEGER_PROPERTIES & set(NEIGHBORHOOD_PROPERTIES)
    ),
} | {
    name: Layer(
        fields.names,
        engagement.LAYER_GEOMETRY_TYPES[name],
        fields.integers,
        fields.floats,
        fields.booleans,
        engagement=True,
    )
    for name, fields in engagement.LAYER_FIELDS.items()
}
LAYERS = tuple(LAYER_SPECS)


@dataclass(frozen=True)
class Row:
    """One feature of a layer: its id, its public properties, its geometry as GeoJSON text."""

    id: int | str
    properties: dict[str, object]
    geometry: str


def idea_rows(ideas: QuerySet[Idea]) -> Iterator[Row]:
    """One Row per idea, newest first; the properties match the API's Feature."""
    url_prefix = reverse("idea-detail", args=[0])[: -len("0/")]
    zone = timezone.get_current_timezone()
    rows = (
        ideas.order_by("-created_at", "-id")
        .annotate(
            geojson=AsGeoJSON("location", precision=COORDINATE_PRECISION),
            category_slug=F("category__slug"),
            category_title=F("category__name"),
            neighborhood_name=F("neighborhood__name"),
            neighborhood_key=F("neighborhood__slug"),
            team_name=F("team__name"),
            team_key=F("team__slug"),
        )
        .values_list(
            "id",
            "kind",
            "title",
            "description",
            "category_slug",
            "category_title",
            "status",
            "channel",
            "event_name",
            "neighborhood_name",
            "neighborhood_key",
            "team_name",
            "team_key",
            "created_at",
            "answer",
            "answer_at",
            # Denormalised on the pin (services keep it under the pin's lock): a column, not
            # a count per pin.
            "support_count",
            "geojson",
            # The photo's row, if any (a join on its unique idea_id): its URL is public
            # unless moderators hid it. Never its storage name.
            "photo__id",
            "photo__hidden_at",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        answered = _iso(row[15], zone) if row[15] is not None else None
        has_photo = row[18] is not None and row[19] is None
        values = (
            *row[:13],
            _iso(row[13], zone),
            row[14],
            answered,
            row[16],
            f"{url_prefix}{row[0]}/",
            f"{url_prefix}{row[0]}/photo.jpg" if has_photo else None,
        )
        yield Row(row[0], dict(zip(IDEA_PROPERTIES, values, strict=True)), row[17])


def neighborhood_rows(neighborhoods: QuerySet[Neighborhood]) -> Iterator[Row]:
    """One Row per neighborhood, by name, with the number of pins routed to it."""
    rows = (
        neighborhoods.order_by("name")
        .annotate(
            geojson=AsGeoJSON("geometry", precision=COORDINATE_PRECISION),
            team_name=F("team__name"),
            team_key=F("team__slug"),
            # Public pins only, as the API's count (selectors.neighborhoods_with_counts).
            idea_count=neighborhood_pin_count(),
        )
        .values_list("name", "slug", "team_name", "team_key", "population", "idea_count", "geojson")
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield Row(row[1], dict(zip(NEIGHBORHOOD_PROPERTIES, row[:6], strict=True)), row[6])


# One encoder for every row (json.dumps would build one per call); compact, UTF-8 as is.
_PROPERTIES_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def engagement_rows(layer: engagement.EngagementLayer) -> Iterator[Row]:
    """One Row per feature of a computed engagement layer (neighborhoods, hexagons...)."""
    geometries = layer.frame["geojson"].tolist()
    for (feature_id, properties), geometry in zip(
        engagement.plain_properties(layer), geometries, strict=True
    ):
        yield Row(feature_id, properties, geometry)


def features(rows: Iterator[Row]) -> Iterator[str]:
    """One GeoJSON Feature string per row."""
    encode = _PROPERTIES_JSON.encode
    for row in rows:
        feature_id = row.id if isinstance(row.id, int) else encode(row.id)
        yield (
            f'{{"type":"Feature","id":{feature_id},"geometry":{row.geometry},'
            f'"properties":{encode(row.properties)}}}'
        )


def idea_features(ideas: QuerySet[Idea]) -> Iterator[str]:
    return features(idea_rows(ideas))


def neighborhood_features(neighborhoods: QuerySet[Neighborhood]) -> Iterator[str]:
    return features(neighborhood_rows(neighborhoods))


def feature_collection(features: Iterator[str]) -> Iterator[str]:
    """Wrap Feature strings into a FeatureCollection, yielding pieces as they come."""
    yield '{"type":"FeatureCollection","features":[\n'
    first = True
    for feature in features:
        yield feature if first else ",\n" + feature
        first = False
    yield "\n]}\n"
