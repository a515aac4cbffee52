"""Writes for neighborhoods and teams: boundary versions and team membership."""

import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

import shapely
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from neighborhoods import geometry
from neighborhoods.models import BoundaryVersion, Neighborhood, Team
from neighborhoods.roles import planners_group


@dataclass(frozen=True)
class NeighborhoodInput:
    """One neighborhood as read from a boundary file, already in WGS84 and valid."""

    name: str
    geometry: MultiPolygon
    population: int | None = None
    team_name: str | None = None
    priority: int = 0


@dataclass
class BoundaryChanges:
    """What a new boundary version changes against the active one, by neighborhood name."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    overlaps: list[geometry.Overlap] = field(default_factory=list)
    gaps: list[geometry.Gap] = field(default_factory=list)
    teams_created: list[str] = field(default_factory=list)


def slug_for(name: str, fallback: str) -> str:
    """A URL slug for `name`; names with no Latin letters or digits get `fallback`."""
    return slugify(name)[:200] or fallback


def team_get_or_create(*, name: str) -> tuple[Team, bool]:
    name = name.strip()
    if not name:
        raise ValidationError({"team": [_("A team needs a name.")]})
    existing = Team.objects.filter(name=name).first()
    if existing is not None:
        return existing, False
    base = slug_for(name, "team")
    slug, n = base, 2
    while Team.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    team = Team(name=name, slug=slug)
    team.full_clean()
    team.save()
    return team, True


def _shape(multipolygon: MultiPolygon) -> shapely.Geometry:
    return shapely.from_wkb(bytes(multipolygon.wkb))


@transaction.atomic
def boundary_version_create(
    *, label: str, items: Iterable[NeighborhoodInput], report: str = ""
) -> tuple[BoundaryVersion, BoundaryChanges]:
    """Store a complete set of neighborhoods as a new, inactive boundary version.

    The active version is not touched: routing changes only when the new version is
    activated (mapideas.rerouting.services.boundaries_activate, which also re-routes open pins).
    Without a team name, each neighborhood gets a team of its own named after it.
    """
    # A file without populations keeps the ones the current boundaries have (by slug), e.g.
    # from import_population: redrawn boundaries should not forget who lives there.
    known_population = dict(
        Neighborhood.objects.filter(version__is_active=True, population__isnull=False).values_list(
            "slug", "population"
        )
    )
    # The other area attributes (median income...) come from the same import, and follow the
    # same way: boundary files never carry them.
    known_attributes = dict(
        Neighborhood.objects.filter(version__is_active=True).values_list("slug", "attributes")
    )
    version = BoundaryVersion.objects.create(label=label[:300], report=report)
    changes = BoundaryChanges()
    seen: dict[str, str] = {}
    shapes: dict[str, shapely.Geometry] = {}
    for index, item in enumerate(items, start=1):
        name = item.name.strip()
        if not name:
            raise ValidationError(
                {"name": [_("Feature %(index)s has an empty name.") % {"index": index}]}
            )
        slug = slug_for(name, f"neighborhood-{index}")
        if slug in seen:
            raise ValidationError(
                {
                    "name": [
                        _("Feature %(index)s: %(name)s and %(other)s have the same slug.")
                        % {"index": index, "name": repr(name), "other": repr(seen[slug])}
                    ]
                }
            )
        seen[slug] = name
        team, team_created = team_get_or_create(name=item.team_name or name)
        if team_created:
            changes.teams_created.append(team.name)
        shape = _shape(item.geometry)
        shapes[name] = shape
        neighborhood = Neighborhood(
            version=version,
            name=name,
            slug=slug,
            team=team,
            population=(
                item.population if item.population is not None else known_population.get(slug)
            ),
            attributes=known_attributes.get(slug) or {},
            priority=item.priority,
            area_m2=geometry.area_m2(shape),
            geometry=item.geometry,
        )
        neighborhood.full_clean(exclude=["version"])
        neighborhood.save()
    if not shapes:
        raise ValidationError({"name": [_("The boundary set holds no neighborhoods.")]})
    changes.overlaps = geometry.overlaps(shapes)
    changes.gaps = geometry.gaps(shapes)
    service_area = geometry.buffered_union(
        list(shapes.values()), settings.MAPIDEAS_SERVICE_AREA_BUFFER_M
    )
    # buffered_union() gives a MultiPolygon, and GEOSGeometry() makes the class of the WKB's
    # geometry type: a MultiPolygon (the stubs say GEOSGeometry).
    version.service_area = cast(
        MultiPolygon, GEOSGeometry(memoryview(shapely.to_wkb(service_area)), srid=4326)
    )
    version.overlap_area_m2 = sum(o.area_m2 for o in changes.overlaps)
    version.gap_area_m2 = sum(g.area_m2 for g in changes.gaps)
    version.save()
    _compare(BoundaryVersion.objects.filter(is_active=True).first(), version, changes)
    return version, changes


def _compare(old: BoundaryVersion | None, new: BoundaryVersion, changes: BoundaryChanges) -> None:
    before = {} if old is None else {n.slug: n for n in old.neighborhoods.all()}
    for neighborhood in new.neighborhoods.all():
        previous = before.pop(neighborhood.slug, None)
        if previous is None:
            changes.new.append(neighborhood.name)
        elif (
            previous.team_id != neighborhood.team_id
            or previous.population != neighborhood.population
            or previous.attributes != neighborhood.attributes
            or previous.priority != neighborhood.priority
            or not previous.geometry.equals_exact(neighborhood.geometry, tolerance=1e-9)
        ):
            changes.changed.append(neighborhood.name)
        else:
            changes.unchanged.append(neighborhood.name)
    changes.removed = sorted(n.name for n in before.values())


def version_hold(version: BoundaryVersion) -> bool:
    """Keep `version` the active one until the caller's transaction ends; False if it is not
    active (any more).

    A pin routed by the active version must not be written after a switch to another version
    has re-routed the open pins, or it would stay routed by the old boundaries. On PostgreSQL a
    shared row lock does it: pins hold it together, a switch (which updates the row) waits for
    them, and a pin that waited for a switch sees it has lost. SQLite serialises every write
    transaction anyway.
    """
    if connection.vendor != "postgresql":
        return BoundaryVersion.objects.filter(pk=version.pk, is_active=True).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM neighborhoods_boundaryversion WHERE id = %s AND is_active FOR SHARE",
            [version.pk],
        )
        return cursor.fetchone() is not None


def version_switch(version: BoundaryVersion) -> BoundaryVersion | None:
    """Make `version` the one routing uses; returns the version it replaces.

    Only flips the flags: call mapideas.rerouting.services.boundaries_activate, which does this and
    re-routes the open pins in the same transaction.
    """
    previous = BoundaryVersion.objects.filter(is_active=True).exclude(pk=version.pk).first()
    BoundaryVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.activated_at = timezone.now()
    version.save(update_fields=["is_active", "activated_at"])
    return previous


# Neighborhood.population's range on every database (a PostgreSQL integer).
MAX_POPULATION = 2_147_483_647


def _active_neighborhoods_locked(values, *, field: str) -> list[Neighborhood]:
    """The active version's neighborhoods whose ids are the keys of `values`, locked, by pk;
    a ValidationError on `field` when no version is active, on `neighborhood` naming every id
    that is not one of them."""
    # Locks the active version's row: a concurrent activation (version_switch updates that
    # row) waits, so the ids cannot turn into an inactive version's half-way through.
    version = BoundaryVersion.objects.select_for_update().filter(is_active=True).first()
    if version is None:
        raise ValidationError({field: [_("No boundary version is active.")]})
    neighborhoods = list(
        Neighborhood.objects.select_for_update()
        .filter(version=version, pk__in=list(values))
        .order_by("pk")
    )
    unknown = sorted(set(values) - {n.pk for n in neighborhoods})
    if unknown:
        raise ValidationError(
            {
                "neighborhood": [
                    _("Not neighborhoods of the active boundaries: %(ids)s.")
                    % {"ids": ", ".join(f"#{pk}" for pk in unknown)}
                ]
            }
        )
    return neighborhoods


@transaction.atomic
def population_set(*, values: dict[int, int]) -> list[Neighborhood]:
    """Set the population of neighborhoods of the active version, by neighborhood id.

    All or nothing: an id that is not a neighborhood of the active version, or a value that is
    not a population, refuses the whole set. Returns the neighborhoods whose population changed.
    """
    neighborhoods = _active_neighborhoods_locked(values, field="population")
    field_ = Neighborhood._meta.get_field("population")
    now = timezone.now()
    changed = []
    for neighborhood in neighborhoods:
        value = values[neighborhood.pk]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(
                {
                    "population": [
                        _("%(name)s: %(value)s is not a whole number.")
                        % {"name": neighborhood.name, "value": repr(value)}
                    ]
                }
            )
        try:
            field_.clean(value, neighborhood)
            if value > MAX_POPULATION:  # SQLite would store it; PostgreSQL's integer would not
                raise ValidationError(
                    _("%(value)s is more than %(max)s.")
                    % {"value": value, "max": f"{MAX_POPULATION:,}"}
                )
        except ValidationError as exc:
            raise ValidationError(
                {"population": [f"{neighborhood.name}: {m}" for m in exc.messages]}
            ) from None
        if neighborhood.population != value:
            neighborhood.population = value
            neighborhood.updated_at = now
            changed.append(neighborhood)
    Neighborhood.objects.bulk_update(changed, ["population", "updated_at"], batch_size=500)
    return changed


# An area attribute's name: a lowercase identifier (median_income, renter_share), as it is
# written in API filters, export columns and formulas.
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


# Names the engagement layers already use for their own fields.
RESERVED_ATTRIBUTE_NAMES = frozenset({"population", "name", "slug", "team", "count", "area_km2"})


def attribute_name_check(name: str) -> None:
    """ValidationError unless `name` can name an area attribute."""
    if not ATTRIBUTE_NAME.match(name) or name in RESERVED_ATTRIBUTE_NAMES:
        raise ValidationError(
            {
                "attributes": [
                    _(
                        "%(name)s cannot name an attribute: use lowercase letters, digits and "
                        "underscores, starting with a letter (median_income), and not %(reserved)s."
                    )
                    % {"name": repr(name), "reserved": ", ".join(sorted(RESERVED_ATTRIBUTE_NAMES))}
                ]
            }
        )


@transaction.atomic
def attributes_set(
    *, names: Iterable[str], values: dict[int, dict[str, float | None]]
) -> list[Neighborhood]:
    """Set the area attributes `names` of neighborhoods of the active version, by id.

    Each neighborhood in `values` gets, for each name, its number, or loses the attribute when
    the value is None (unknown there); its other attributes are kept. All or nothing, as
    population_set. Returns the neighborhoods whose attributes changed.
    """
    names = list(dict.fromkeys(names))
    for name in names:
        attribute_name_check(name)
    neighborhoods = _active_neighborhoods_locked(values, field="attributes")
    now = timezone.now()
    changed = []
    for neighborhood in neighborhoods:
        given = values[neighborhood.pk]
        attributes = dict(neighborhood.attributes or {})
        for name in names:
            value = given.get(name)
            if value is None:
                attributes.pop(name, None)
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(
                    {
                        "attributes": [
                            _("%(name)s: %(attribute)s %(value)s is not a number.")
                            % {
                                "name": neighborhood.name,
                                "attribute": name,
                                "value": repr(value),
                            }
                        ]
                    }
                )
            if not math.isfinite(value):
                raise ValidationError(
                    {
                        "attributes": [
                            _("%(name)s: %(attribute)s %(value)s is not a finite number.")
                            % {"name": neighborhood.name, "attribute": name, "value": value}
                        ]
                    }
                )
            attributes[name] = value
        if attributes != neighborhood.attributes:
            neighborhood.attributes = attributes
            neighborhood.updated_at = now
            changed.append(neighborhood)
    Neighborhood.objects.bulk_update(changed, ["attributes", "updated_at"], batch_size=500)
    return changed


@dataclass(frozen=True)
class MemberAdded:
    user: AbstractUser
    user_created: bool
    # Set only when the user was created here without a password given: shown once.
    generated_password: str | None


@transaction.atomic
def member_add(
    *, team: Team, username: str, planner: bool = False, password: str | None = None
) -> MemberAdded:
    """Add `username` to `team` (creating the user if needed) and optionally make a planner."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    generated = None
    created = user is None
    if user is None:
        user = user_model(username=username)
        if password is None:
            generated = password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.full_clean()
        user.save()
    elif password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    team.members.add(user)
    if planner:
        user.groups.add(planners_group())
    return MemberAdded(user=user, user_created=created, generated_password=generated)
