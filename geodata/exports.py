"""Streamed GeoJSON layers (RFC 7946): the same bytes for the download and export_layer.

Geometry is written by the database (AsGeoJSON, 6 decimals) and rows are read in chunks, so
memory stays flat however many pins a layer holds. Only public fields are written: no author,
email, name or IP ever reaches a layer.
"""

import json
from collections.abc import Iterator
from datetime import datetime

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from mapideas.models import Idea
from mapideas.serializers import COORDINATE_PRECISION
from neighborhoods.models import Neighborhood

LAYERS = ("ideas", "neighborhoods")
CHUNK_SIZE = 2000


def _iso(value: datetime) -> str:
    # The same form as the API: DRF writes times in the current time zone (settings.TIME_ZONE),
    # with UTC as "Z"; the database hands back UTC, so convert first.
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def idea_features(ideas: QuerySet[Idea]) -> Iterator[str]:
    """One GeoJSON Feature string per idea; the properties match the API's Feature."""
    url_prefix = reverse("idea-detail", args=[0])[: -len("0/")]
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
            "neighborhood_name",
            "neighborhood_key",
            "team_name",
            "team_key",
            "created_at",
            "geojson",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        properties = {
            "kind": row[1],
            "title": row[2],
            "description": row[3],
            "category": row[4],
            "category_name": row[5],
            "status": row[6],
            "channel": row[7],
            "neighborhood": row[8],
            "neighborhood_slug": row[9],
            "team": row[10],
            "team_slug": row[11],
            "created_at": _iso(row[12]),
            "url": f"{url_prefix}{row[0]}/",
        }
        yield (
            f'{{"type":"Feature","id":{row[0]},"geometry":{row[13]},'
            f'"properties":{json.dumps({"id": row[0], **properties}, ensure_ascii=False)}}}'
        )


def neighborhood_features(neighborhoods: QuerySet[Neighborhood]) -> Iterator[str]:
    rows = (
        neighborhoods.order_by("name")
        .annotate(
            geojson=AsGeoJSON("geometry", precision=COORDINATE_PRECISION),
            team_name=F("team__name"),
            team_key=F("team__slug"),
            # A subquery, not a join + GROUP BY: grouping by the geometry text would be slow.
            idea_count=Coalesce(
                Subquery(
                    Idea.objects.filter(neighborhood=OuterRef("pk"))
                    .order_by()
                    .values("neighborhood")
                    .annotate(n=Count("id"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )
        .values_list("slug", "name", "team_name", "team_key", "population", "idea_count", "geojson")
    )
    for slug, name, team, team_slug, population, idea_count, geometry in rows.iterator(
        chunk_size=CHUNK_SIZE
    ):
        properties = {
            "name": name,
            "slug": slug,
            "team": team,
            "team_slug": team_slug,
            "population": population,
            "idea_count": idea_count,
        }
        yield (
            f'{{"type":"Feature","id":{json.dumps(slug)},"geometry":{geometry},'
            f'"properties":{json.dumps(properties, ensure_ascii=False)}}}'
        )


def feature_collection(features: Iterator[str]) -> Iterator[str]:
    """Wrap Feature strings into a FeatureCollection, yielding pieces as they come."""
    yield '{"type":"FeatureCollection","features":[\n'
    first = True
    for feature in features:
        yield feature if first else ",\n" + feature
        first = False
    yield "\n]}\n"
