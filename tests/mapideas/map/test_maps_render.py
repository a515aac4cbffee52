"""mapideas.map.maps' rendering: each element's parts kept as rendered (not compiled again as
templates by branca) give the pages branca gave, and the outlines kept per shape are the
outlines simplified afresh."""

import itertools
import json

import folium
import pytest
from branca.element import Element, MacroElement
from django.contrib.gis.geos import MultiPolygon
from django.db import connection
from django.test.utils import CaptureQueriesContext
from folium.plugins import HeatMap

from mapideas.map import maps
from neighborhoods.selectors import active_neighborhoods
from tests.conftest import square

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbered_ids(monkeypatch):
    """Element ids 0, 1, 2... instead of random ones, so two renders can be compared."""

    def restart():
        counter = itertools.count()
        monkeypatch.setattr(Element, "_generate_id", classmethod(lambda cls: f"{next(counter)}"))

    return restart


def branca_render(fmap: folium.Map) -> maps.RenderedMap:
    """maps.render as it was: branca's own MacroElement.render, the whole figure rendered."""
    root = fmap.get_root()
    root.render()
    return maps.RenderedMap(
        name=fmap.get_name(),
        header=maps._FOLIUM_VIEWPORT.sub("", root.header.render()),
        html=root.html.render(),
        script=root.script.render(),
    )


def a_busy_map() -> folium.Map:
    fmap = maps.new_map(bounds=maps.extent(active_neighborhoods()))
    maps.add_neighborhood_outlines(fmap, active_neighborhoods(), highlight=True)
    HeatMap([[50.0, 4.0], [50.001, 4.002]], name="Pins", radius=18).add_to(fmap)
    folium.GeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [4.0, 50.0]},
                    # Text as users write it: quotes, ampersands, lines, braces.
                    "properties": {"name": 'Rue d\'Arlon & "Co"\r\nline two { brace }'},
                }
            ],
        },
        tooltip=folium.GeoJsonTooltip(fields=["name"]),
    ).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def test_a_map_renders_as_branca_rendered_it(city, monkeypatch, numbered_ids):
    numbered_ids()
    ours = maps.render(a_busy_map())
    numbered_ids()
    monkeypatch.setattr(MacroElement, "render", maps.BRANCA_MACRO_RENDER)
    theirs = branca_render(a_busy_map())

    assert ours == theirs
    assert "nb-label-text" in ours.script and "L.heatLayer(" in ours.script


def test_a_neighborhoods_outline_is_its_shape_simplified(city):
    for neighborhood in active_neighborhoods():
        simplified = neighborhood.geometry.simplify(
            maps.OUTLINE_SIMPLIFY_DEGREES, preserve_topology=True
        )
        kept = maps._outline_geojson(bytes(neighborhood.geometry.ewkb))
        assert kept == simplified.geojson


def test_a_redrawn_boundary_is_outlined_anew(city):
    neighborhood = active_neighborhoods().get(slug=city.east.slug)
    before = json.loads(maps._outline_geojson(bytes(neighborhood.geometry.ewkb)))
    neighborhood.geometry = MultiPolygon(square(10.0, 10.0, 10.5, 10.5), srid=4326)
    neighborhood.save()

    fmap = maps.new_map()
    maps.add_neighborhood_outlines(fmap, active_neighborhoods().filter(pk=neighborhood.pk))
    (layer,) = [c for c in fmap._children.values() if isinstance(c, folium.GeoJson)]
    drawn = layer.data["features"][0]["geometry"]

    assert drawn != before
    assert "[10.5, 10.5]" in json.dumps(drawn)


def test_outlines_are_drawn_again_without_reading_the_polygons_again(city):
    def drawn() -> list[dict]:
        fmap = maps.new_map()
        maps.add_neighborhood_outlines(fmap, active_neighborhoods().order_by("name"))
        (layer,) = [c for c in fmap._children.values() if isinstance(c, folium.GeoJson)]
        return layer.data["features"]

    maps._OUTLINES.clear()
    with CaptureQueriesContext(connection) as cold:
        first = drawn()
    with CaptureQueriesContext(connection) as queries:
        again = drawn()

    assert again == first and len(again) == active_neighborhoods().count()
    # The names and teams are read again (a rename shows at once); the polygons are not.
    assert queries.captured_queries
    polygon = '"neighborhoods_neighborhood"."geometry"'
    assert not [q for q in queries.captured_queries if polygon in q["sql"]]
    # Read the first time in one query for all of them, not one a neighborhood.
    assert len([q for q in cold.captured_queries if polygon in q["sql"]]) == 1


def test_the_city_map_is_drawn_once_and_anew_when_a_neighborhood_changes(city):
    first = maps.city_map(active_neighborhoods())
    assert maps.city_map(active_neighborhoods()) is first  # every visitor: one drawing
    assert city.east.name in first.script

    neighborhood = active_neighborhoods().get(slug=city.east.slug)
    neighborhood.name = 'Rive "Est" & <Co>'
    neighborhood.geometry = MultiPolygon(square(10.0, 10.0, 10.5, 10.5), srid=4326)
    neighborhood.save()
    redrawn = maps.city_map(active_neighborhoods())

    assert redrawn is not first
    assert "10.5" in redrawn.script and "Rive" in redrawn.script
    assert "<Co>" not in redrawn.script  # user text escaped in the labels and tooltips
    # Fitted to every outline, the redrawn one included, as the database's extent says.
    (min_x, min_y, max_x, max_y) = maps.extent(active_neighborhoods())
    assert f"[[{min_y}, {min_x}], [{max_y}, {max_x}]]" in redrawn.script


def test_the_city_map_speaks_the_request_language(city):
    from django.utils import translation

    with translation.override("fr"):
        french = maps.city_map(active_neighborhoods())
    with translation.override("en"):
        english = maps.city_map(active_neighborhoods())
    assert "Quartier" in french.script and "Neighborhood" in english.script


def test_a_neighborhood_map_is_drawn_once_and_anew_when_its_neighborhood_changes(city):
    neighborhood = active_neighborhoods().get(slug=city.east.slug)
    first = maps.neighborhood_map(neighborhood.pk)
    assert maps.neighborhood_map(neighborhood.pk) is first  # every pin of it: one drawing
    assert city.east.name in first.script

    neighborhood.name = 'Rive "Est" & <Co>'
    neighborhood.geometry = MultiPolygon(square(10.0, 10.0, 10.5, 10.5), srid=4326)
    neighborhood.save()
    redrawn = maps.neighborhood_map(neighborhood.pk)

    assert redrawn is not first
    assert "10.5" in redrawn.script and "Rive" in redrawn.script
    assert "<Co>" not in redrawn.script  # user text escaped in the labels and tooltips


def test_a_neighborhood_map_speaks_the_request_language(city):
    from django.utils import translation

    neighborhood = active_neighborhoods().get(slug=city.east.slug)
    with translation.override("fr"):
        french = maps.neighborhood_map(neighborhood.pk)
    with translation.override("en"):
        english = maps.neighborhood_map(neighborhood.pk)
    assert "Quartier" in french.script and "Neighborhood" in english.script
