"""The computed layers of the OGC API (the engagement layers of geodata.engagement): their
features for a set of parameters, computed once and held for a few seconds.

A computed layer has no table to page through: every /items page, every single feature and
the extent would otherwise compute the whole layer again (a GDAL or QGIS client asks for it
page after page, 10 features at a time). So a layer is computed once per set of parameters
and kept, in this process, for CACHE_SECONDS: pins or boundaries that change show up at most
that late (counts a few seconds stale are accepted). The figures are geodata.engagement's, made into
features by geodata.exports.layers.engagement_rows: the same as /api/engagement/... and the exports.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import shapely

from geodata.engagement import layers as engagement
from geodata.engagement.query import parse_query
from geodata.exports import layers as exports
from neighborhoods.translated_names import active_language

# How long a computed layer is reused, and how many are kept (the oldest goes first). A
# city's hexagons at resolution 9 are a few MB; 8 of them stay well under 100 MB.
CACHE_SECONDS = 10.0
CACHE_ENTRIES = 8


@dataclass(frozen=True)
class ComputedFeature:
    """One feature: its id, its properties (JSON-ready), its geometry as GeoJSON text."""

    id: str
    properties: dict[str, object]
    geometry: str


@dataclass(frozen=True)
class ComputedFeatures:
    """A computed layer's features in the layer's order, their shapely geometries (for
    bbox), and the figures of the whole layer (`about`: city rate, basis, message...)."""

    features: tuple[ComputedFeature, ...]
    shapes: np.ndarray
    about: dict[str, object]
    by_id: dict[str, ComputedFeature] = field(repr=False)

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        if len(self.shapes) == 0:
            return None
        west, south, east, north = (float(v) for v in shapely.total_bounds(self.shapes))
        return west, south, east, north

    def intersecting(self, box: shapely.Geometry) -> list[ComputedFeature]:
        """The features whose geometry intersects `box`, in the layer's order."""
        shapely.prepare(box)
        mask = shapely.intersects(box, self.shapes)
        return [feature for feature, keep in zip(self.features, mask, strict=True) if keep]


# (layer, parameters, language) -> (when it was computed, the layer); the most recently used
# last.
_cache: OrderedDict[tuple, tuple[float, ComputedFeatures]] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def computed_features(layer: str, params: Mapping[str, str]) -> ComputedFeatures:
    """The layer for these parameters (those of /api/engagement/...), teams named in the
    request's language as everywhere in the OGC API (neighborhoods.translated_names). A bad
    parameter raises DRF's ValidationError naming it, before anything is computed or looked
    up."""
    language = active_language()
    key = (layer, tuple(sorted(params.items())), language)
    now = time.monotonic()
    with _lock:
        held = _cache.get(key)
        if held is not None and now - held[0] < CACHE_SECONDS:
            _cache.move_to_end(key)
            return held[1]
    # Checked (and computed) outside the lock: two requests for the same new layer may both
    # compute it, but none waits for another's layer.
    selection, options = parse_query(layer, params)
    result = _compute(engagement.engagement_layer(layer, selection, options), language)
    with _lock:
        _cache[key] = (time.monotonic(), result)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return result


def _compute(layer: engagement.EngagementLayer, language: str) -> ComputedFeatures:
    features = tuple(
        ComputedFeature(str(row.id), row.properties, row.geometry)
        for row in exports.engagement_rows(layer, language)
    )
    shapes = np.asarray(layer.frame.geometry.array, dtype=object)
    return ComputedFeatures(
        features=features,
        shapes=shapes,
        about=layer.about,
        by_id={feature.id: feature for feature in features},
    )
