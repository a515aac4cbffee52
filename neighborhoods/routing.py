"""Which neighborhood and team a point belongs to.

This is the one place routing is decided: the web form, the API and the CSV import all call
`route()`; bulk re-routing after a boundary change (mapideas.rerouting) applies the same
rules in SQL, in the same order:

1. Only the active boundary version counts.
2. Of the neighborhoods whose polygon covers the point (`covers`, so a point on a border
   still matches), the owner is the one with the highest priority, then the smallest area,
   then the first slug: one owner, the same on every database. The other covering
   neighborhoods' teams see the pin as "also in their area".
3. A category rule for the pin's category, within the owner neighborhood or city-wide,
   overrides the neighborhood's team (neighborhood-specific rules before city-wide ones).
4. A point outside every neighborhood but inside the service area (the neighborhoods grown by
   a buffer) goes to the city-wide triage team, or to a city-wide category rule's team.
5. A point outside the service area is not routed (None): the caller refuses it.
"""

import math
from dataclasses import dataclass, field
from typing import cast

import shapely
from django.contrib.gis.geos import Point, Polygon
from django.db.models import Exists, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from neighborhoods import geometry
from neighborhoods.compiled_queries import CompiledQuery
from neighborhoods.models import BoundaryVersion, CategoryRule, Neighborhood, Team
from neighborhoods.spatial_index import in_spatial_index

# The ownership order of rule 2, shared with the bulk re-route.
OWNER_ORDER = ("-priority", "area_m2", "slug")


@dataclass(frozen=True)
class Route:
    neighborhood: Neighborhood | None
    team: Team
    also_in: tuple[Team, ...] = field(default=())
    rule: CategoryRule | None = None
    # The boundary version that decided (also for a pin in a gap, which has no neighborhood).
    version: BoundaryVersion | None = None

    @property
    def reason(self) -> str:
        """Why the pin goes there, in the active language (the route preview's answer)."""
        if self.rule is not None:
            where = self.neighborhood.name if self.neighborhood else _("the city")
            return _("Category rule: %(category)s in %(where)s goes to %(team)s.") % {
                "category": self.rule.category,
                "where": where,
                "team": self.team.display_name,
            }
        if self.neighborhood is None:
            return _("Outside every neighborhood but inside the service area: city-wide triage.")
        return _("Inside %(neighborhood)s.") % {"neighborhood": self.neighborhood.name}

    def reason_in(self, language: str) -> str:
        """The reason in `language`: what the routing history stores."""
        with translation.override(language):
            return self.reason


def active_version() -> BoundaryVersion | None:
    # Without the service area and report: routing a pin needs neither in Python (the
    # service-area test runs in the database), and the area can be megabytes.
    return BoundaryVersion.objects.filter(is_active=True).defer("service_area", "report").first()


def covering(point: Point, version: BoundaryVersion) -> QuerySet[Neighborhood]:
    """The neighborhoods of `version` covering `point`, owner first."""
    return _owner_first(Neighborhood.objects.filter(version=version), point)


def _owner_first(neighborhoods: QuerySet[Neighborhood], point: Point) -> QuerySet[Neighborhood]:
    """Those of `neighborhoods` covering `point`, the owner first (rule 2)."""
    return _near(neighborhoods, point).filter(geometry__covers=point).order_by(*OWNER_ORDER)


def category_rule(category: str | None, neighborhood_slug: str | None) -> CategoryRule | None:
    """The rule for `category` in that neighborhood (or outside all of them), if any."""
    if not category:
        return None
    rules = list(CategoryRule.objects.filter(category=category).select_related("team"))
    if neighborhood_slug is not None:
        for rule in rules:
            if neighborhood_slug in rule.slugs:
                return rule
    for rule in rules:
        if not rule.slugs:
            return rule
    return None


def triage_team() -> Team:
    """The city-wide triage team (created by a migration; recreated if someone removed it)."""
    team = Team.objects.filter(is_triage=True).order_by("pk").first()
    if team is None:
        team, _ = Team.objects.get_or_create(
            slug="city-wide-triage", defaults={"name": "City-wide triage", "is_triage": True}
        )
    return team


def _near(neighborhoods: QuerySet[Neighborhood], point: Point) -> QuerySet[Neighborhood]:
    """The neighborhoods whose box holds `point`: on SpatiaLite from the R*Tree (its `covers`
    alone parsed and tested every polygon of the table); PostGIS's `covers` uses its index."""
    box = (point.x, point.y, point.x, point.y)
    return in_spatial_index(neighborhoods, "geometry", box, gist_lookup_follows=True)


def in_service_area(point: Point, version: BoundaryVersion) -> bool:
    return BoundaryVersion.objects.filter(pk=version.pk, service_area__covers=point).exists()


def _in_wgs84(point: Point) -> Point:
    """A copy of `point` transformed to WGS84."""
    # GEOS builds the copy as the class of its geometry type, a Point here; the stubs type
    # transform() as returning any GEOSGeometry.
    return cast(Point, point.transform(4326, clone=True))


def _covering_active_query(point: Point, category: str):  # the annotated QuerySet
    """The neighborhoods of the active version covering `point`, owner first, each with its
    team and version, and whether `category` has any rule."""
    return (
        _owner_first(Neighborhood.objects.filter(version__is_active=True), point)
        .select_related("team", "version")
        .defer("geometry", "version__service_area", "version__report")
        .annotate(category_ruled=Exists(CategoryRule.objects.filter(category=category)))
    )


# Compiled once per database: every pin runs it (compiling it cost 20 times its run).
_covering_active = CompiledQuery(
    _covering_active_query,
    examples=(
        (Point(1.25, 2.5, srid=4326), "compiled-example-a"),
        (Point(3.75, 4.125, srid=4326), "compiled-example-b"),
    ),
)


def route(point: Point, category: str | None = None) -> Route | None:
    """Where a pin at `point` with category slug `category` goes, or None if nowhere."""
    if point.srid not in (None, 4326):
        point = _in_wgs84(point)
    elif point.srid is None:
        point = Point(point.x, point.y, srid=4326)
    # One query for the usual case: the covering neighborhoods of whatever version is active
    # (the version itself only when no neighborhood covers the point), and whether the
    # category has rules at all (most have none: then no second query for them).
    candidates = _covering_active(point, category or "")
    if candidates:
        owner = candidates[0]
        rule = category_rule(category, owner.slug) if owner.category_ruled else None
        team = rule.team if rule else owner.team
        also_in: list[Team] = []
        for other in candidates[1:]:
            if other.team != team and other.team not in also_in:
                also_in.append(other.team)
        return Route(
            neighborhood=owner, team=team, also_in=tuple(also_in), rule=rule, version=owner.version
        )
    version = active_version()
    if version is not None and in_service_area(point, version):
        rule = category_rule(category, None)
        return Route(
            neighborhood=None,
            team=rule.team if rule else triage_team(),
            rule=rule,
            version=version,
        )
    return None


@dataclass(frozen=True)
class NearbyNeighborhood:
    neighborhood: Neighborhood
    distance_m: float


# A degree of latitude is at least 110.57 km, one of longitude at least 111.32 km × cos(lat)
# (WGS84): rounded down, so the search window below is never too small.
_METRES_PER_DEGREE_MIN = 110_000


def nearest_other_neighborhood(
    point: Point,
    owner: Neighborhood | None,
    *,
    within_m: float,
    version: BoundaryVersion | None = None,
) -> NearbyNeighborhood | None:
    """The closest neighborhood other than `owner` within `within_m` metres of `point`.

    For the "near a border" hint: which neighborhood the pin would go to had it been placed a
    few metres over. `version` defaults to the owner's (else the active one). A neighborhood
    whose interior holds the point is not "the other side" (the polygons overlap there and
    route() lists its team in `also_in`); one whose border the point lies on is, at 0 m.

    One query: the database picks the neighborhoods meeting a box around the point (GiST index
    on PostGIS); the few that do are measured in metres in Python (geometry.distance_m).
    """
    if point.srid not in (None, 4326):
        point = _in_wgs84(point)
    version_id = owner.version_id if owner is not None else None
    if version_id is None:
        version = version or active_version()
        if version is None:
            return None
        version_id = version.pk
    margin = max(within_m, 0) * 1.5 + 1
    dlat = margin / _METRES_PER_DEGREE_MIN
    cos_lat = math.cos(math.radians(min(abs(point.y) + dlat, 90)))
    dlon = min(margin / (_METRES_PER_DEGREE_MIN * cos_lat), 180) if cos_lat > 1e-9 else 180
    box = (point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat)
    nearby = in_spatial_index(
        Neighborhood.objects.filter(version_id=version_id),
        "geometry",
        box,
        gist_lookup_follows=True,
    )
    candidates = nearby.filter(geometry__intersects=Polygon.from_bbox(box)).only(
        "pk", "name", "slug", "version_id", "geometry"
    )
    if owner is not None:
        candidates = candidates.exclude(pk=owner.pk)
    here = shapely.Point(point.x, point.y)
    nearest: NearbyNeighborhood | None = None
    for candidate in candidates:
        # Only the part near the point matters; clipping keeps the projection cheap for
        # neighborhoods drawn with thousands of vertices.
        shape = shapely.clip_by_rect(shapely.from_wkb(bytes(candidate.geometry.wkb)), *box)
        if shape.is_empty or shapely.contains(shape, here):
            continue
        distance = geometry.distance_m(here, shape)
        if distance > within_m:
            continue
        if nearest is None or (distance, candidate.slug) < (
            nearest.distance_m,
            nearest.neighborhood.slug,
        ):
            nearest = NearbyNeighborhood(neighborhood=candidate, distance_m=distance)
    return nearest
