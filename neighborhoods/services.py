"""Writes for neighborhoods and teams: boundary imports and team membership."""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.gis.geos import MultiPolygon
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from neighborhoods.models import Neighborhood, Team
from neighborhoods.roles import planners_group


@dataclass(frozen=True)
class NeighborhoodInput:
    """One neighborhood as read from a boundary file, already in WGS84 and valid."""

    name: str
    geometry: MultiPolygon
    population: int | None = None
    team_name: str | None = None


@dataclass
class NeighborhoodImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    teams_created: list[str] = field(default_factory=list)
    # Neighborhoods already in the database that the file does not mention: kept as they are.
    untouched: list[str] = field(default_factory=list)


def slug_for(name: str, fallback: str) -> str:
    """A URL slug for `name`; names with no Latin letters or digits get `fallback`."""
    return slugify(name)[:200] or fallback


def team_get_or_create(*, name: str) -> tuple[Team, bool]:
    name = name.strip()
    if not name:
        raise ValidationError({"team": ["A team needs a name."]})
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


@transaction.atomic
def neighborhoods_import(*, items: Iterable[NeighborhoodInput]) -> NeighborhoodImportResult:
    """Create or update neighborhoods (matched by slug of their name), all or nothing.

    Without a team name, each neighborhood gets a team of its own named after it.
    """
    result = NeighborhoodImportResult()
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        name = item.name.strip()
        if not name:
            raise ValidationError({"name": [f"Feature {index} has an empty name."]})
        slug = slug_for(name, f"neighborhood-{index}")
        if slug in seen:
            raise ValidationError(
                {"name": [f"Feature {index}: the name {name!r} appears more than once."]}
            )
        seen.add(slug)
        team, team_created = team_get_or_create(name=item.team_name or name)
        if team_created:
            result.teams_created.append(team.name)
        neighborhood = Neighborhood.objects.filter(slug=slug).first()
        if neighborhood is None:
            neighborhood = Neighborhood(slug=slug)
            result.created.append(name)
        else:
            result.updated.append(name)
        neighborhood.name = name
        neighborhood.team = team
        neighborhood.population = item.population
        neighborhood.geometry = item.geometry
        neighborhood.full_clean()
        neighborhood.save()
    result.untouched = list(
        Neighborhood.objects.exclude(slug__in=seen).order_by("name").values_list("name", flat=True)
    )
    return result


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
    if created:
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
