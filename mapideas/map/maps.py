"""Leaflet maps built with folium, with every asset served locally.

folium loads Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default. Each map here
replaces those lists with the npm-installed copies under /static/vendor/, and adds only the
assets the map really uses. Pages embed the three parts folium renders (header, body, script)
in their own template, so the map sits beside forms and lists rather than in an iframe.
"""

import dataclasses
import functools
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime

import folium
from branca.element import Element, Figure, MacroElement
from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import QuerySet
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mapideas.map.coordinates import Latitude, Longitude
from mapideas.models import Idea
from neighborhoods.compiled_queries import CompiledQuery
from neighborhoods.models import Neighborhood
from neighborhoods.translated_names import translated_name

LOCAL_JS = [
    ("leaflet", "vendor/leaflet/leaflet.js"),
    # folium's popups and tooltips call jQuery.
    ("jquery", "vendor/jquery/jquery.min.js"),
]
LOCAL_CSS = [("leaflet_css", "vendor/leaflet/leaflet.css")]

# About 10 m: outlines drawn in the browser need no more detail than that.
OUTLINE_SIMPLIFY_DEGREES = 0.0001

# folium's header pins the viewport to maximum-scale=1 (no pinch zoom), which fails WCAG
# 1.4.4; the page template declares its own viewport instead.
_FOLIUM_VIEWPORT = re.compile(r"<meta name=\"viewport\"[^>]*>", re.S)


@dataclass(frozen=True)
class RenderedMap:
    name: str  # the global JS variable holding the Leaflet map
    header: SafeString
    html: SafeString
    script: SafeString
    outlines: int = 0  # how many neighborhoods it outlines (city_map)


def new_map(*, bounds: tuple[float, float, float, float] | None = None) -> folium.Map:
    """An empty map with local assets and the configured base-map tiles (if any)."""
    fmap = folium.Map(tiles=None, control_scale=True, zoom_start=12, location=[0, 0])
    fmap.default_js = [(name, static(path)) for name, path in LOCAL_JS]
    fmap.default_css = [(name, static(path)) for name, path in LOCAL_CSS]
    if settings.MAPIDEAS_TILE_URL:
        folium.TileLayer(
            tiles=settings.MAPIDEAS_TILE_URL,
            attr=settings.MAPIDEAS_TILE_ATTRIBUTION,
            name="Base map",
            max_zoom=19,
        ).add_to(fmap)
    if bounds is not None:
        min_x, min_y, max_x, max_y = bounds
        # Padding keeps the outermost outlines and their names off the screen's edge.
        fmap.fit_bounds([[min_y, min_x], [max_y, max_x]], padding=(12, 12))
    return fmap


def extent(
    neighborhoods: QuerySet, *, field: str = "geometry"
) -> tuple[float, float, float, float] | None:
    """The bounding box of the given neighborhoods (or of any rows' `field`), or None when
    there are none.

    Computed by the database (Extent aggregate, PostGIS and SpatiaLite alike): the page then
    reads the polygons once, to draw them, not a second time to measure them. The OGC API's
    collection extents (geodata.ogc.collections) come from here too.
    """
    box = neighborhoods.order_by().aggregate(box=Extent(field))["box"]
    return tuple(box) if box else None


def _outline_geojson(ewkb: bytes) -> str:
    """The GeoJSON text of a neighborhood's outline as drawn, simplified to about 10 m."""
    geometry = GEOSGeometry(memoryview(ewkb))
    return geometry.simplify(OUTLINE_SIMPLIFY_DEGREES, preserve_topology=True).geojson


@dataclass(frozen=True)
class Outline:
    """A neighborhood's outline as every map draws it: its GeoJSON text (_outline_geojson),
    where its name goes (a point inside it, latitude first as Leaflet takes it) and its
    bounding box (min x, min y, max x, max y)."""

    geojson: str
    label_at: tuple[float, float]
    extent: tuple[float, float, float, float]


# Each neighborhood's Outline by (id, updated_at, database): every save sets updated_at, so
# a redrawn boundary is a new key and a key's outline never goes stale. At most
# _OUTLINES_KEPT, the oldest dropped first.
_OUTLINES: dict[tuple[int, datetime, str], Outline] = {}
_OUTLINES_KEPT = 4096


def _outlines(keys: list[tuple[int, datetime]], using: str) -> list[Outline | None]:
    """The Outline of each neighborhood (id, updated_at), from database `using`; None for one
    deleted since its key was read. Those not kept are read in one query.

    The same outlines are drawn on every map page until the boundaries change: simplifying
    them was most of a map's time, and reading the polygons again for each page (the
    workspace, the page to drop a pin, the planner's heatmap) most of what was left. Kept per
    process, as the engagement layers keep theirs; the text, so each caller parses its own
    copy."""
    missing = [pk for pk, updated_at in keys if (pk, updated_at, using) not in _OUTLINES]
    fresh: dict[int, Outline] = {}
    if missing:
        read = Neighborhood.objects.using(using).filter(pk__in=missing)
        for pk, updated_at, geometry in read.values_list("pk", "updated_at", "geometry"):
            anchor = geometry.point_on_surface
            fresh[pk] = Outline(
                _outline_geojson(bytes(geometry.ewkb)), (anchor.y, anchor.x), geometry.extent
            )
            while len(_OUTLINES) >= _OUTLINES_KEPT:
                _OUTLINES.pop(next(iter(_OUTLINES)))
            _OUTLINES[(pk, updated_at, using)] = fresh[pk]
    # A row saved between the two reads is kept under its new key: `fresh` has it.
    return [fresh.get(pk) or _OUTLINES.get((pk, updated_at, using)) for pk, updated_at in keys]


def warm_up_outlines() -> None:
    """Simplify the active neighborhoods' outlines now (a boot step, mapideas.warmup), not in
    the first map page each worker draws; and draw each one's map for a pin's page, and the
    city's map for the home page, in the city's language (about 12 ms each, as many as are
    kept)."""
    from neighborhoods.selectors import active_neighborhoods

    active = active_neighborhoods().order_by()
    keys = list(active.values_list("pk", "updated_at"))
    _outlines(keys, active.db)
    with translation.override(settings.LANGUAGE_CODE):
        for pk, _updated_at in keys[:_NEIGHBORHOOD_MAPS_KEPT]:
            neighborhood_map(pk)
        city_map(active_neighborhoods())


def neighborhood_map(neighborhood_pk: int) -> RenderedMap:
    """A map of one neighborhood with its outline and name (a pin's page), rendered once per
    process for each version of the neighborhood, name, team name, language and base map: the
    same map serves every pin of the neighborhood, and drawing it was a third of the page's
    time. A neighborhood saved (a boundary redrawn, a rename) or a team renamed is a new key,
    so it is drawn anew.

    The key is read without the outline (its `updated_at`, which every save sets): reading a
    polygon of a few thousand points to compare it was most of the call's time once drawn."""
    found = _neighborhood_without_outline(
        neighborhood_pk, using=Neighborhood.objects.db_manager().db
    )
    if not found:
        raise Neighborhood.DoesNotExist(f"No neighborhood #{neighborhood_pk}.")
    neighborhood = found[0]
    return _neighborhood_map(
        neighborhood_pk,
        neighborhood.updated_at,
        neighborhood.name,
        neighborhood.team.display_name,
        get_language(),
        settings.MAPIDEAS_TILE_URL,
        settings.MAPIDEAS_TILE_ATTRIBUTION,
    )


_NEIGHBORHOOD_MAPS_KEPT = 256

# Read on every pin's page, compiled to SQL once per database (neighborhoods.compiled_queries).
_neighborhood_without_outline = CompiledQuery(
    lambda pk: (
        Neighborhood.objects.filter(pk=pk).select_related("team").defer("geometry").order_by()
    ),
    ((1,), (2,)),
)


@functools.lru_cache(maxsize=_NEIGHBORHOOD_MAPS_KEPT)
def _neighborhood_map(
    pk: int,
    updated_at: datetime,
    name: str,
    team_name: str,
    language: str,
    tile_url: str,
    attribution: str,
) -> RenderedMap:
    # The language, the tile URL and its attribution are in the key for what the map says and
    # shows; new_map and the tooltip read them from the active language and the settings.
    (outline,) = _outlines([(pk, updated_at)], Neighborhood.objects.db_manager().db)
    if outline is None:
        raise Neighborhood.DoesNotExist(f"No neighborhood #{pk}.")
    fmap = new_map(bounds=outline.extent)
    _draw_outlines(fmap, [(outline, name, team_name)], highlight=False)
    return render(fmap)


def city_map(neighborhoods: QuerySet[Neighborhood]) -> RenderedMap:
    """A map of `neighborhoods`, their outlines and names, fitted to them (the home page, a
    team's page to enter what residents said offline): rendered once per process for each
    version of the set (every neighborhood's id, `updated_at`, name and team name), the
    language and the base map, as a pin's neighborhood map is. Drawing the city's outlines
    and their labels was most of the home page's time (PostGIS, 1M pins: 29 ms in-process)."""
    rows = neighborhoods.order_by().values_list(
        "pk", "updated_at", "name", "team__name", "team__name_translations"
    )
    return _city_map(
        tuple(
            # The team's name as Team.display_name gives it, without a model instance a row.
            (pk, updated_at, name, translated_name(team_name, team_translations))
            for pk, updated_at, name, team_name, team_translations in rows
        ),
        rows.db,
        get_language(),
        settings.MAPIDEAS_TILE_URL,
        settings.MAPIDEAS_TILE_ATTRIBUTION,
    )


@functools.lru_cache(maxsize=16)
def _city_map(
    neighborhoods: tuple[tuple[int, datetime, str, str], ...],
    using: str,
    language: str,
    tile_url: str,
    attribution: str,
) -> RenderedMap:
    # The language, the tile URL and its attribution are in the key for what the map says and
    # shows; new_map and the tooltip read them from the active language and the settings.
    found = _outlines([(pk, updated_at) for pk, updated_at, _name, _team in neighborhoods], using)
    drawn = [
        (outline, name, team_name)
        for (_pk, _updated_at, name, team_name), outline in zip(neighborhoods, found, strict=True)
        if outline is not None  # deleted since the row was read
    ]
    bounds = None
    if drawn:
        extents = [outline.extent for outline, _name, _team in drawn]
        bounds = (
            min(e[0] for e in extents),
            min(e[1] for e in extents),
            max(e[2] for e in extents),
            max(e[3] for e in extents),
        )
    fmap = new_map(bounds=bounds)
    _draw_outlines(fmap, drawn, highlight=False)
    return dataclasses.replace(render(fmap), outlines=len(drawn))


def add_neighborhood_outlines(
    fmap: folium.Map, neighborhoods: QuerySet[Neighborhood], *, highlight: bool = False
) -> None:
    """Outlines with names, readable without any base map. The polygons are not read: each
    neighborhood's Outline is kept per process under its id and `updated_at`."""
    rows = list(neighborhoods.select_related("team").defer("geometry"))
    found = _outlines([(n.pk, n.updated_at) for n in rows], neighborhoods.db)
    drawn = [
        (outline, n.name, n.team.display_name)
        for n, outline in zip(rows, found, strict=True)
        if outline is not None  # deleted since the row was read
    ]
    _draw_outlines(fmap, drawn, highlight=highlight)


def _draw_outlines(
    fmap: folium.Map, outlines: list[tuple[Outline, str, str]], *, highlight: bool
) -> None:
    """Each (outline, name, team name) drawn with its name and a tooltip.

    Names come from imported files and are user text: they are escaped here because Leaflet
    tooltips and labels render HTML.
    """
    features = []
    labels = []
    for outline, name, team_name in outlines:
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(outline.geojson),
                "properties": {"name": escape(name), "team": escape(team_name)},
            }
        )
        labels.append((*outline.label_at, name))
    if not features:
        # Nothing to draw, and folium's tooltip raises on a collection with no features
        # (it checks its fields against the first one): a fresh install would get a 500.
        return
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="Neighborhoods",
        style_function=lambda _feature: {
            "color": "#1d4ed8" if highlight else "#374151",
            "weight": 2 if highlight else 1.5,
            "fillColor": "#3b82f6" if highlight else "#9ca3af",
            "fillOpacity": 0.12 if highlight else 0.05,
        },
        highlight_function=lambda _feature: {"weight": 3, "fillOpacity": 0.2},
        # The aliases go into the tooltip's HTML as they are: escaped here (plain str, as
        # folium writes them with tojson), in the request's language.
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "team"],
            aliases=[escape(_("Neighborhood")), escape(_("Team"))],
            sticky=True,
        ),
        # Clicks go through to the map, so a pin can be dropped inside a neighborhood.
        interactive=True,
        bubbling_mouse_events=True,
    ).add_to(fmap)
    label_layer = folium.FeatureGroup(name="Neighborhood names", control=False)
    for lat, lon, name in labels:
        folium.Marker(
            location=[lat, lon],
            icon=folium.DivIcon(
                html=f'<span class="nb-label-text">{escape(name)}</span>',
                class_name="nb-label",
                icon_size=(0, 0),
            ),
            interactive=False,
            # Labels are text, not controls: no tab stop per neighborhood.
            keyboard=False,
        ).add_to(label_layer)
    label_layer.add_to(fmap)


class _Rendered(Element):
    """The text a folium element's macro rendered, kept as it is.

    branca's MacroElement.render wraps each macro's output in an Element made from it as a
    template source: jinja2 compiles every piece of rendered script and markup again (a
    GeoJSON layer, each of a map's many markers) and renders it once more, to the same text.
    That second compilation was a fifth of the planner page's time. This element gives
    the text jinja2 would have given (newlines as "\n", without the last one); it differs
    only where the text holds jinja2's own syntax, which jinja2 would have run."""

    def __init__(self, text: str):
        super().__init__()
        self._text = _NEWLINES.sub("\n", str(text)).removesuffix("\n")

    def render(self, **kwargs) -> str:
        return self._text


_NEWLINES = re.compile(r"\r\n|\r|\n")


def _render_macros(self: MacroElement, **kwargs) -> None:
    """branca.element.MacroElement.render (branca 0.8), with each part a _Rendered."""
    figure = self.get_root()
    assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
    macros = self._template.module.__dict__
    for part, target in (
        ("header", figure.header),
        ("html", figure.html),
        ("script", figure.script),
    ):
        macro = macros.get(part)
        if macro is not None:
            target.add_child(_Rendered(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


# Every folium element's render ends in MacroElement.render (their own render methods call it
# through super()), so it is replaced there, for every map of every page; branca's own is
# kept for tests/mapideas/map/test_render.py, which checks both give the same pages.
BRANCA_MACRO_RENDER = MacroElement.render
MacroElement.render = _render_macros  # type: ignore[method-assign]


def render(fmap: folium.Map) -> RenderedMap:
    root = fmap.get_root()
    # A folium.Map puts itself in a Figure when it is made; get_root() is typed Element.
    assert isinstance(root, folium.Figure)
    # What Figure.render does before it renders the whole document, which is not used here:
    # each element adds its parts to the figure's header, html and script.
    for element in root._children.values():
        element.render()
    header = _FOLIUM_VIEWPORT.sub("", root.header.render())
    # folium's generated markup and script: built from escaped values above.
    return RenderedMap(
        name=fmap.get_name(),
        header=mark_safe(header),  # noqa: S308
        html=mark_safe(root.html.render()),  # noqa: S308
        script=mark_safe(root.script.render()),  # noqa: S308
    )


@dataclass(frozen=True)
class MapPin:
    """What a map draws of a pin: no model instance and no geometry object (a workspace
    map draws up to thousands; building each pin's GEOS point and display values was most
    of the page's time)."""

    pk: int
    title: str
    status: str
    overdue: bool
    lon: float
    lat: float


def map_pins(ideas: QuerySet) -> list[MapPin]:
    """`ideas` (sliced and ordered by the caller, maybe with an `is_overdue` annotation:
    mapideas.workflow.selectors.team_queue) as the pins a map draws, coordinates read by the
    database (ST_X and ST_Y on PostGIS and SpatiaLite alike)."""
    overdue = "is_overdue" in ideas.query.annotations
    rows = ideas.annotate(map_lon=Longitude("location"), map_lat=Latitude("location")).values_list(
        "pk", "title", "status", "is_overdue" if overdue else "pk", "map_lon", "map_lat"
    )
    return [
        MapPin(pk, title, status, overdue and bool(late), lon, lat)
        for pk, title, status, late, lon, lat in rows
    ]


def add_pins(
    fmap: folium.Map, pins: list[MapPin], *, name: str = "Pins", color: str = "#1d4ed8"
) -> None:
    """The given pins (map_pins) as circle markers, with their title, status and a link in
    a tooltip and popup: drawn from the same queryset as the list beside the map, so both
    show one set.

    Titles are user text: escaped here, as Leaflet renders tooltips and popups as HTML.
    Overdue pins are drawn red.
    """
    labels = {value: str(label) for value, label in Idea.Status.choices}
    overdue_labels = {
        value: _("%(status)s (overdue)") % {"status": label} for value, label in labels.items()
    }
    # One reverse() for all: a pin's page differs from another's by its number only.
    link = reverse("idea-detail", args=[0]).rsplit("0/", 1)[0]
    features = []
    for pin in pins:
        status = (overdue_labels if pin.overdue else labels).get(pin.status, pin.status)
        features.append(
            {
                "type": "Feature",
                # folium keys each feature's style by its id.
                "id": pin.pk,
                "geometry": {"type": "Point", "coordinates": [pin.lon, pin.lat]},
                # The standard library's escape, as Django's own escape() calls it, without
                # its lazy-text wrapper (a tenth of the page's time for 2,000 pins).
                "properties": {
                    "title": html.escape(pin.title),
                    "status": html.escape(status),
                    "link": f'<a href="{html.escape(f"{link}{pin.pk}/")}">#{pin.pk}</a>',
                    "overdue": pin.overdue,
                },
            }
        )
    if not features:
        return  # folium's tooltip raises on an empty collection (see above)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=name,
        marker=folium.CircleMarker(radius=7, weight=2, fill=True, fill_opacity=0.9),
        style_function=lambda feature: {
            "color": "#ffffff",
            "fillColor": "#b91c1c" if feature["properties"]["overdue"] else color,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["title", "status"], aliases=[escape(_("Pin")), escape(_("Status"))]
        ),
        popup=folium.GeoJsonPopup(fields=["title", "status", "link"], aliases=["", "", ""]),
    ).add_to(fmap)
