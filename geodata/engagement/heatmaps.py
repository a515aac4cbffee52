"""The planner's heatmap of pins (folium HeatMap, with its script served locally)."""

import folium
from django.conf import settings
from django.db import connections
from django.db.models import QuerySet
from django.templatetags.static import static
from folium.plugins import HeatMap

from mapideas.map import maps
from mapideas.map.coordinates import Latitude, Longitude
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
    # Coordinates read by the database: a GEOS point per pin was half the planner page's
    # time at 20,000 pins.
    newest = ideas.order_by("-created_at", "-id").annotate(
        heat_lat=Latitude("location"), heat_lon=Longitude("location")
    )
    rows = newest.values_list("heat_lat", "heat_lon")[: limit + 1]
    # The rows as the database gives them (two floats each): Django's per-value converters
    # cost more than the query.
    sql, params = rows.query.get_compiler(rows.db).as_sql()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        points = [[round(lat, 6), round(lon, 6)] for lat, lon in cursor.fetchall()]
    truncated = len(points) > limit
    points = points[:limit]
    layer = HeatMap([], name="Pins", radius=18, blur=15, min_opacity=0.3)
    # Given after: HeatMap checks each point with folium's validate_location, a third of the
    # heatmap's time; these are pairs of floats from the database already.
    layer.data = points
    layer.default_js = [("leaflet-heat.js", static("vendor/leaflet.heat/leaflet-heat.js"))]
    layer.add_to(fmap)
    return fmap, len(points), truncated
