"""The planner's heatmap of pins (folium HeatMap, with its script served locally)."""

import folium
from django.conf import settings
from django.db.models import QuerySet
from django.templatetags.static import static
from folium.plugins import HeatMap

from mapideas.map import maps
from mapideas.models import Idea
from neighborhoods.selectors import active_neighborhoods


def heatmap(ideas: QuerySet[Idea]) -> tuple[folium.Map, int, bool]:
    """A heatmap of `ideas` over the neighborhood outlines.

    Draws at most MAPIDEAS_HEATMAP_MAX_POINTS pins (the newest); returns the map, how many
    pins were drawn, and whether the set was cut so the page can say so.
    """
    limit = settings.MAPIDEAS_HEATMAP_MAX_POINTS
    neighborhoods = active_neighborhoods()
    fmap = maps.new_map(bounds=maps.extent(neighborhoods))
    maps.add_neighborhood_outlines(fmap, neighborhoods)
    points = [
        [round(p.y, 6), round(p.x, 6)]
        for p in ideas.order_by("-created_at", "-id").values_list("location", flat=True)[
            : limit + 1
        ]
    ]
    truncated = len(points) > limit
    points = points[:limit]
    layer = HeatMap(points, name="Pins", radius=18, blur=15, min_opacity=0.3)
    layer.default_js = [("leaflet-heat.js", static("vendor/leaflet.heat/leaflet-heat.js"))]
    layer.add_to(fmap)
    return fmap, len(points), truncated
