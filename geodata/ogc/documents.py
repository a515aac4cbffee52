"""The documents of the OGC API – Features endpoint (landing page, conformance, collections,
items, one feature), as plain dicts with their links; the views send them as JSON or fill the
HTML templates with them.

Links are absolute (clients such as GDAL and QGIS follow them as they are). Each document's
`self` link is the format asked for and `alternate` the other one, as Part 1 asks.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request

from geodata.ogc.collections import (
    CRS84,
    GREGORIAN,
    AnyCollection,
    Collection,
    ComputedCollection,
    collection_extent,
)
from geodata.ogc.computed import ComputedFeature
from geodata.ogc.query import (
    ItemsQuery,
    exact_total,
    feature_id,
    select_computed,
    select_features,
)
from mapideas.plumbing import keyset

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE_CLASSES = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def link(
    request: Request,
    path: str,
    rel: str,
    media_type: str,
    title: str,
    params: dict[str, str] | None = None,
) -> dict:
    """An absolute link; `params` is a dict, not keywords: a filter may be called anything."""
    query = f"?{urlencode(params)}" if params else ""
    return {
        "href": request.build_absolute_uri(path) + query,
        "rel": rel,
        "type": media_type,
        "title": title,
    }


def self_links(
    request: Request,
    path: str,
    fmt: str,
    json_type: str = JSON,
    params: dict[str, str] | None = None,
) -> list[dict]:
    """`self` in the format asked for, `alternate` in the other one."""
    params = params or {}
    as_json = link(
        request, path, "self", json_type, "This document as JSON", {"f": "json", **params}
    )
    as_html = link(request, path, "self", HTML, "This document as HTML", {"f": "html", **params})
    if fmt == "html":
        as_json["rel"] = "alternate"
        return [as_html, as_json]
    as_html["rel"] = "alternate"
    return [as_json, as_html]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def landing_document(request: Request, fmt: str) -> dict:
    return {
        "title": "MapIdeas",
        "description": (
            "Ideas and issues citizens pinned on the city map, and the neighborhoods that "
            "route them to district teams, as OGC API – Features."
        ),
        "links": [
            *self_links(request, reverse("ogc-landing"), fmt),
            {
                "href": request.build_absolute_uri(reverse("api-schema")) + "?format=json",
                "rel": "service-desc",
                "type": OPENAPI_JSON,
                "title": "The API definition (OpenAPI 3.0)",
            },
            link(request, reverse("api-docs"), "service-doc", HTML, "The API documentation"),
            link(request, reverse("ogc-conformance"), "conformance", JSON, "Conformance classes"),
            link(request, reverse("ogc-collections"), "data", JSON, "The collections"),
        ],
    }


def conformance_document() -> dict:
    return {"conformsTo": CONFORMANCE_CLASSES}


def collection_document(request: Request, collection: AnyCollection, fmt: str | None) -> dict:
    """One collection's description. `fmt` None: as an entry of /collections (no self link
    of its own format, but a link to its page)."""
    path = reverse("ogc-collection", args=[collection.id])
    items_path = reverse("ogc-items", args=[collection.id])
    if fmt is None:
        links = [
            link(request, path, "self", JSON, "The collection as JSON", {"f": "json"}),
            link(request, path, "alternate", HTML, "The collection as HTML", {"f": "html"}),
        ]
    else:
        links = self_links(request, path, fmt)
    links += [
        link(request, items_path, "items", GEOJSON, "The features as GeoJSON", {"f": "json"}),
        link(request, items_path, "items", HTML, "The features as HTML", {"f": "html"}),
    ]
    document: dict[str, object] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": links,
    }
    extent = collection_extent(collection)
    parts: dict = {}
    if extent.bbox is not None:
        parts["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84}
    if collection.temporal_field is not None:
        start, end = extent.interval or (None, None)
        parts["temporal"] = {
            "interval": [[iso(start) if start else None, iso(end) if end else None]],
            "trs": GREGORIAN,
        }
    if parts:
        document["extent"] = parts
    return document


def collections_document(request: Request, collections: list[AnyCollection], fmt: str) -> dict:
    return {
        "links": self_links(request, reverse("ogc-collections"), fmt),
        "collections": [collection_document(request, c, None) for c in collections],
    }


def features(collection: Collection, rows: list[Model] | list[dict]) -> list[dict]:
    """GeoJSON Features as the collection's serializer makes them (the JSON API's own), with
    the collection's feature id: of model instances by the serializer, of a page's plain rows
    (Collection.feature_rows) by the collection's maker of the same Features."""
    if rows and isinstance(rows[0], dict):
        assert collection.features_of_rows is not None  # only its feature_rows reads dicts
        made = collection.features_of_rows(rows)  # type: ignore[arg-type]
        key = "id" if collection.id_field == "pk" else collection.id_field
        ids = [row[key] for row in rows]  # type: ignore[index]
    else:
        made = collection.serializer(rows, many=True).data["features"]
        ids = [feature_id(collection, row) for row in rows]  # type: ignore[arg-type]
    return [
        {
            "type": "Feature",
            "id": pk,
            "geometry": feature["geometry"],
            "properties": feature["properties"],
        }
        for pk, feature in zip(ids, made, strict=True)
    ]


def computed_feature(feature: ComputedFeature) -> dict:
    """A computed layer's feature (its properties are already JSON-ready)."""
    return {
        "type": "Feature",
        "id": feature.id,
        "geometry": json.loads(feature.geometry),
        "properties": feature.properties,
    }


@dataclass(frozen=True)
class _Page:
    # None: not counted exactly, so left out (numberMatched is optional in Part 1).
    matched: int | None
    features: list[dict]
    # A computed layer's figures (else {}).
    about: dict
    # The `next` and `prev` links' parameters; None: no such page.
    next: dict[str, str] | None
    previous: dict[str, str] | None


def _page(collection: AnyCollection, query: ItemsQuery) -> _Page:
    start, stop = query.offset, query.offset + query.limit
    if isinstance(collection, ComputedCollection):
        # One computation for the count, the page and the figures (held for the next pages).
        # Computed whole anyway: paged by offset.
        layer, selected = select_computed(collection, query)
        shown = selected[start:stop]
        return _Page(
            matched=len(selected),
            features=[computed_feature(f) for f in shown],
            about=layer.about,
            next={"offset": str(start + len(shown))}
            if start + len(shown) < len(selected)
            else None,
            previous=_offset(max(0, start - query.limit)) if start > 0 else None,
        )
    rows = select_features(collection, query)
    if collection.feature_rows is not None:
        rows = collection.feature_rows(rows)
    # By key: a deep page is an index range, as fast as the first (an offset a client sends
    # is still honoured; the links it gets read by key from there).
    page = keyset.page(rows, size=query.limit, cursor=query.cursor, offset=query.offset)
    matched = exact_total(collection, query)
    if matched is None and page.exact_count is not None:
        matched = page.exact_count
    if matched is None:
        counted = keyset.bounded_count(rows)
        matched = counted.value if counted.exact else None
    return _Page(
        matched=matched,
        features=features(collection, page.rows),
        about={},
        next={"cursor": page.next} if page.next else None,
        previous={"cursor": page.previous} if page.previous else None,
    )


def items_document(
    request: Request, collection: AnyCollection, query: ItemsQuery, fmt: str
) -> dict:
    """One page of the collection's features, with numberMatched where it is exact and the
    paging links; for a computed layer, its figures (city rate, basis, message...) as the
    foreign member `engagement`, as /api/engagement/... gives them."""
    page = _page(collection, query)
    path = reverse("ogc-items", args=[collection.id])
    page_type = HTML if fmt == "html" else GEOJSON
    paging = {**query.given, "limit": str(query.limit)}
    here = _offset(query.offset)
    if query.cursor is not None:
        here = {"cursor": keyset.encode(query.cursor.values, backwards=query.cursor.backwards)}
    links = self_links(request, path, fmt, GEOJSON, {**paging, **here})
    if page.next is not None:
        links.append(
            link(
                request, path, "next", page_type, "The next page", {"f": fmt, **paging, **page.next}
            )
        )
    if page.previous is not None:
        links.append(
            link(
                request,
                path,
                "prev",
                page_type,
                "The previous page",
                {"f": fmt, **paging, **page.previous},
            )
        )
    links.append(_collection_link(request, collection))
    document: dict[str, Any] = {"type": "FeatureCollection", "features": page.features}
    if page.matched is not None:
        document["numberMatched"] = page.matched
    document |= {
        "numberReturned": len(page.features),
        "timeStamp": iso(timezone.now()),
        "links": links,
    }
    if page.about:
        document["engagement"] = page.about
    return document


def _collection_link(request: Request, collection: AnyCollection) -> dict:
    """The link from items and features back up to their collection."""
    return link(
        request,
        reverse("ogc-collection", args=[collection.id]),
        "collection",
        JSON,
        "The collection",
        {"f": "json"},
    )


def _offset(offset: int) -> dict[str, str]:
    return {"offset": str(offset)} if offset else {}


def feature_document(
    request: Request,
    collection: AnyCollection,
    found: Model | ComputedFeature,
    fmt: str,
    params: dict[str, str] | None = None,
) -> dict:
    """One feature; `params` (a computed collection's parameters) are repeated in its links."""
    if isinstance(found, ComputedFeature):
        document = computed_feature(found)
    else:
        # A model row is found only in a model's collection (a computed one finds a
        # ComputedFeature).
        assert isinstance(collection, Collection)
        document = features(collection, [found])[0]
    path = reverse("ogc-feature", args=[collection.id, document["id"]])
    document["links"] = [
        *self_links(request, path, fmt, GEOJSON, params),
        _collection_link(request, collection),
    ]
    return document


def feature_title(collection: AnyCollection, feature: dict) -> str:
    """What an HTML page calls a feature: its title property, else its id (user text: the
    templates escape it)."""
    value = (feature.get("properties") or {}).get(collection.title_property)
    return str(feature["id"]) if value in (None, "") else str(value)
