"""The demo city: Chicago's 77 community areas, grouped into nine district teams, with a few
hundred pins spread unevenly so the planner's heatmap has thin areas to find.

Each area gets its 2020 census population and two socioeconomic figures (geodata.demo_census,
with their sources), so per-resident rates and representativeness have a ground; the city the
US federal holidays of the demo's months; the pins nine months of history (answers, closures,
disputes, reopenings: geodata.demo_history), so response times and slow spots have data.

The boundaries come from the libpysal package (`libpysal/examples/chicago/Chicago77.shp`,
BSD-3-Clause; from Anselin and Rey, "Spatial Econometrics: Foundations"). The file has no .prj:
its coordinates are Illinois State Plane East in US feet, EPSG:3435. It goes through the same
importer as any city's file.
"""

import importlib.util
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyogrio
import shapely
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from geodata.demo_census import AREA_FIGURES, ATTRIBUTE_NAMES
from geodata.demo_history import DemoHistory, demo_history, demo_holidays, demo_weeks
from geodata.imports.boundaries import read_boundaries
from mapideas.models import Category, Idea
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from neighborhoods.models import Neighborhood, Team
from neighborhoods.roles import planners_group
from neighborhoods.selectors import active_neighborhoods
from neighborhoods.services import (
    NeighborhoodInput,
    attributes_set,
    boundary_version_create,
    population_set,
)

CHICAGO_SRID = 3435  # NAD83 / Illinois East (ftUS)
# The pins are spread over the last nine months; the holidays run a quarter beyond today.
DEMO_DAYS = 270
HOLIDAYS_AHEAD_DAYS = 90

# The city's nine "sides", by community area number: each is one district team here.
SIDES: dict[str, tuple[int, ...]] = {
    "Central": (8, 32, 33),
    "North Side": (5, 6, 7, 21, 22),
    "Far North Side": (1, 2, 3, 4, 9, 10, 11, 12, 13, 14, 76, 77),
    "Northwest Side": (15, 16, 17, 18, 19, 20),
    "West Side": (23, 24, 25, 26, 27, 28, 29, 30, 31),
    "South Side": (34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 60, 69),
    "Southwest Side": (56, 57, 58, 59, 61, 62, 63, 64, 65, 66, 67, 68),
    "Far Southwest Side": (70, 71, 72, 73, 74, 75),
    "Far Southeast Side": (44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55),
}
# Relative engagement per km² by side: downtown and the north lakefront speak up, and the
# Northwest Side (whose team answers slowly: geodata.demo_history), the far south barely does.
# This is what the heatmap should make visible.
# Enough pins that a dozen areas or more reach the analytics' minimum count (10), so the slow
# spot test has a neighbourhood to test: with 400, only 14 areas did and no cluster could pass
# the false discovery rate; with 1,000, 31 do and the Northwest Side's answers stand out.
DEMO_PINS = 1000
SIDE_WEIGHT = {
    "Central": 6.0,
    "North Side": 3.0,
    "Far North Side": 1.4,
    "Northwest Side": 3.0,
    "West Side": 0.8,
    "South Side": 0.5,
    "Southwest Side": 0.25,
    "Far Southwest Side": 0.2,
    "Far Southeast Side": 0.1,
}
NAME_FIXES = {"Mckinley Park": "McKinley Park", "Ohare": "O'Hare"}
# Each side's team in the site's other languages, as staff would enter them in the admin
# (Team.name_translations), so the demo shows translated team names.
TEAM_NAME_TRANSLATIONS = {
    "Central": {"fr": "Équipe Centre", "nl": "Team Centrum"},
    "North Side": {"fr": "Équipe Nord", "nl": "Team Noord"},
    "Far North Side": {"fr": "Équipe Extrême Nord", "nl": "Team Hoge Noorden"},
    "Northwest Side": {"fr": "Équipe Nord-Ouest", "nl": "Team Noordwest"},
    "West Side": {"fr": "Équipe Ouest", "nl": "Team West"},
    "South Side": {"fr": "Équipe Sud", "nl": "Team Zuid"},
    "Southwest Side": {"fr": "Équipe Sud-Ouest", "nl": "Team Zuidwest"},
    "Far Southwest Side": {"fr": "Équipe Extrême Sud-Ouest", "nl": "Team Verre Zuidwesten"},
    "Far Southeast Side": {"fr": "Équipe Extrême Sud-Est", "nl": "Team Verre Zuidoosten"},
}

PIN_TEXTS: dict[str, list[tuple[str, str, str]]] = {
    "streets-sidewalks": [
        ("issue", "Broken sidewalk slabs", "Trip hazard in front of the bus stop."),
        ("issue", "Pothole at the crossing", "Deep pothole, cyclists swerve into traffic."),
        ("idea", "Curb ramps at this corner", "Strollers and wheelchairs cannot cross here."),
    ],
    "traffic-transit-cycling": [
        ("idea", "Protected bike lane", "Connect this street to the lakefront trail."),
        ("idea", "Bus shelter with a bench", "Long waits in winter with nowhere to sit."),
        ("issue", "Cars speed past the school", "A raised crosswalk would slow them down."),
    ],
    "parks-green-space": [
        ("idea", "Plant street trees", "This block has no shade at all in summer."),
        ("idea", "Community garden on the empty lot", "Neighbors would tend it."),
        ("issue", "Playground equipment broken", "The swing set has been taped off for weeks."),
    ],
    "litter-graffiti-waste": [
        ("issue", "Overflowing litter bins", "Bins by the park are full every weekend."),
        ("issue", "Illegal dumping in the alley", "Mattresses and tires left behind."),
    ],
    "lighting-safety": [
        ("issue", "Street light out", "The whole stretch is dark at night."),
        ("idea", "Better lighting under the viaduct", "People avoid walking here after dusk."),
    ],
    "housing-buildings": [
        ("issue", "Vacant building left open", "Doors are open and kids play inside."),
    ],
    "community-culture": [
        ("idea", "Summer movie nights", "Free outdoor screenings in the park."),
        ("idea", "Mural on the underpass", "Local artists would love to paint it."),
    ],
}


@dataclass(frozen=True)
class DemoLoaded:
    neighborhoods: int
    teams: int
    ideas: int
    demo_users: list[str]
    history: DemoHistory | None = None


def chicago_boundaries_path() -> Path:
    spec = importlib.util.find_spec("libpysal")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("libpysal is not installed: run `make setup`.")
    return Path(next(iter(spec.submodule_search_locations))) / "examples/chicago/Chicago77.shp"


def _nice_name(raw: str) -> str:
    name = raw.strip().title()
    return NAME_FIXES.get(name, name)


def _area_numbers(path: Path) -> dict[str, int]:
    """The community area number of each name as the file spells it."""
    attributes = pyogrio.read_dataframe(path, read_geometry=False)
    return {str(row.COMMUNITY).strip(): int(row.AREA_NUMBE) for row in attributes.itertuples()}


def demo_neighborhoods() -> list[NeighborhoodInput]:
    path = chicago_boundaries_path()
    boundaries = read_boundaries(path, name_field="COMMUNITY", source_srid=CHICAGO_SRID)
    side_of_area = {area: side for side, areas in SIDES.items() for area in areas}
    side_of_name = {name: side_of_area[number] for name, number in _area_numbers(path).items()}
    return [
        NeighborhoodInput(
            name=_nice_name(item.name),
            geometry=item.geometry,
            population=item.population,
            team_name=f"{side_of_name[item.name]} team",
        )
        for item in boundaries.items
    ]


def _demo_figures() -> None:
    """Population and the socioeconomic attributes of every active area, through the same
    services as import_population."""
    number_of = {
        _nice_name(name): n for name, n in _area_numbers(chicago_boundaries_path()).items()
    }
    pk_of = dict(active_neighborhoods().values_list("name", "pk"))
    figures = {pk_of[name]: AREA_FIGURES[number] for name, number in number_of.items()}
    population_set(values={pk: population for pk, (population, *_) in figures.items()})
    attributes_set(
        names=ATTRIBUTE_NAMES,
        values={
            pk: dict(zip(ATTRIBUTE_NAMES, rest, strict=True)) for pk, (_, *rest) in figures.items()
        },
    )


def _random_point_in(neighborhood: Neighborhood, rng: random.Random) -> Point:
    shape = shapely.from_wkb(bytes(neighborhood.geometry.wkb))
    shapely.prepare(shape)
    min_x, min_y, max_x, max_y = shape.bounds
    while True:
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if shape.contains(shapely.Point(x, y)):
            return Point(round(x, 6), round(y, 6), srid=4326)


def _demo_ideas(count: int, rng: random.Random, now: datetime) -> list[Idea]:
    neighborhoods = list(active_neighborhoods().select_related("team"))
    side_weight = {f"{side} team": weight for side, weight in SIDE_WEIGHT.items()}
    # Area in the local projected CRS (ft²) is proportional to km²: fine for weighting.
    weights = [
        neighborhood.geometry.transform(CHICAGO_SRID, clone=True).area
        * side_weight.get(neighborhood.team.name, 1.0)
        for neighborhood in neighborhoods
    ]
    categories = {c.slug: c for c in Category.objects.filter(slug__in=PIN_TEXTS)}
    channels = [Idea.Channel.WEB] * 17 + [
        Idea.Channel.PAPER,
        Idea.Channel.MEETING,
        Idea.Channel.API,
    ]
    ideas = []
    for _ in range(count):
        neighborhood = rng.choices(neighborhoods, weights=weights)[0]
        slug = rng.choice(sorted(categories))
        kind, title, description = rng.choice(PIN_TEXTS[slug])
        idea = idea_create(
            kind=kind,
            title=title,
            description=description,
            category=categories[slug],
            location=_random_point_in(neighborhood, rng),
            channel=rng.choice(channels),
            created_at=now - timedelta(minutes=rng.randint(0, DEMO_DAYS * 24 * 60)),
        )
        ideas.append(idea)
    return ideas


def _demo_users(password: str) -> list[str]:
    """A planner and one member per team, sharing one demo password (hashed once)."""
    hashed = make_password(password)
    user_model = get_user_model()
    created = []
    planner, _ = user_model.objects.update_or_create(
        username="planner", defaults={"password": hashed}
    )
    planner.groups.add(planners_group())
    created.append("planner")
    for team in Team.objects.all():
        member, _ = user_model.objects.update_or_create(
            username=team.slug, defaults={"password": hashed}
        )
        team.members.add(member)
        created.append(member.username)
    return created


@transaction.atomic
def load_demo_city(
    *, ideas: int = DEMO_PINS, seed: int = 77, demo_password: str | None = None
) -> DemoLoaded:
    """Import the demo neighborhoods with their figures, the holidays, the pins with their
    history (and demo accounts when a password is given).

    Run again, it adds another set of pins with their history (as before) and writes the same
    figures; holidays are added only where missing, the Central team's week only while it is
    still the default."""
    version, _changes = boundary_version_create(
        label="Chicago community areas (libpysal demo)", items=demo_neighborhoods()
    )
    boundaries_activate(version=version, reason="Demo city loaded.")
    for side, names in TEAM_NAME_TRANSLATIONS.items():
        Team.objects.filter(name=f"{side} team", name_translations={}).update(
            name_translations=names
        )
    _demo_figures()
    demo_weeks()
    now = timezone.now()
    demo_holidays(
        (now - timedelta(days=DEMO_DAYS)).date(), (now + timedelta(days=HOLIDAYS_AHEAD_DAYS)).date()
    )
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    created = _demo_ideas(ideas, rng, now)
    history = demo_history(created, now=now, rng=rng)
    users = _demo_users(demo_password) if demo_password else []
    return DemoLoaded(
        neighborhoods=active_neighborhoods().count(),
        teams=Team.objects.filter(is_triage=False).count(),
        ideas=len(created),
        demo_users=users,
        history=history,
    )
