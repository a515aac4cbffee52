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

from dataclasses import dataclass, field

from django.contrib.gis.geos import Point
from django.db.models import QuerySet

from neighborhoods.models import BoundaryVersion, CategoryRule, Neighborhood, Team

# The ownership order of rule 2, shared with the bulk re-route.
OWNER_ORDER = ("-priority", "area_m2", "slug")


@dataclass(frozen=True)
class Route:
    neighborhood: Neighborhood | None
    team: Team
    also_in: tuple[Team, ...] = field(default=())
    rule: CategoryRule | None = None

    @property
    def reason(self) -> str:
        if self.rule is not None:
            where = self.neighborhood.name if self.neighborhood else "the city"
            return f"Category rule: {self.rule.category} in {where} goes to {self.team.name}."
        if self.neighborhood is None:
            return "Outside every neighborhood but inside the service area: city-wide triage."
        return f"Inside {self.neighborhood.name}."


def active_version() -> BoundaryVersion | None:
    return BoundaryVersion.objects.filter(is_active=True).first()


def covering(point: Point, version: BoundaryVersion) -> QuerySet[Neighborhood]:
    """The neighborhoods of `version` covering `point`, owner first."""
    return Neighborhood.objects.filter(version=version, geometry__covers=point).order_by(
        *OWNER_ORDER
    )


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


def in_service_area(point: Point, version: BoundaryVersion) -> bool:
    return BoundaryVersion.objects.filter(pk=version.pk, service_area__covers=point).exists()


def route(point: Point, category: str | None = None) -> Route | None:
    """Where a pin at `point` with category slug `category` goes, or None if nowhere."""
    if point.srid not in (None, 4326):
        point = point.transform(4326, clone=True)
    elif point.srid is None:
        point = Point(point.x, point.y, srid=4326)
    version = active_version()
    if version is None:
        return None
    candidates = list(covering(point, version).select_related("team"))
    if candidates:
        owner = candidates[0]
        rule = category_rule(category, owner.slug)
        team = rule.team if rule else owner.team
        also_in: list[Team] = []
        for other in candidates[1:]:
            if other.team != team and other.team not in also_in:
                also_in.append(other.team)
        return Route(neighborhood=owner, team=team, also_in=tuple(also_in), rule=rule)
    if in_service_area(point, version):
        rule = category_rule(category, None)
        return Route(neighborhood=None, team=rule.team if rule else triage_team(), rule=rule)
    return None
