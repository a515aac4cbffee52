"""A synthetic city with known answer times, for the service-equity tests.

A 6 x 6 grid of square neighborhoods, 0.01° on a side, 1,000 residents each. Columns 0-2
belong to the West Grid team (Monday to Friday, answers due in 3 working days), columns 3-5
to the East Grid team (Sunday to Thursday, 5 days, and a holiday of its own). The city has a
holiday too. Pins are pinned around local midnight (Europe/Brussels), so a local date and a
UTC date differ; answer, done and closing times are drawn per pin, some pins still wait.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.contrib.gis.geos import MultiPolygon, Point

from mapideas.cells import pin_cells
from mapideas.models import Category, Idea
from mapideas.rerouting.services import boundaries_activate, route_new_ideas
from neighborhoods.models import BoundaryVersion, Holiday, Team
from neighborhoods.routing import triage_team
from neighborhoods.services import NeighborhoodInput, boundary_version_create
from tests.conftest import square

SIZE = 6
STEP = 0.01
WEST, SOUTH = 4.0, 50.0
POPULATION = 1000
ZONE = "Europe/Brussels"
NOW = datetime(2026, 6, 30, 10, 0, tzinfo=ZoneInfo(ZONE))
CITY_HOLIDAY = date(2026, 6, 15)  # a Monday
EAST_HOLIDAY = date(2026, 6, 10)  # a Wednesday
WEEKMASKS = {"West Grid": "1111100", "East Grid": "1111001"}
TARGETS = {"West Grid": 3, "East Grid": 5}


def team_of(column: int, *, one_team: bool = False) -> str:
    return "West Grid" if column < 3 or one_team else "East Grid"


def cell_slug(row: int, column: int) -> str:
    return f"r{row}-c{column}"


def cell_square(row: int, column: int):
    # Rounded: 50.0 + 0.01 + 0.01 is not 50.0 + 2 * 0.01, and neighbours must share corners.
    x0, y0 = round(WEST + column * STEP, 6), round(SOUTH + row * STEP, 6)
    return square(x0, y0, round(x0 + STEP, 6), round(y0 + STEP, 6))


def build_grid(*, population: int | None = POPULATION, one_team: bool = False) -> BoundaryVersion:
    """The grid, active; `one_team`: every neighborhood the West Grid team's (one calendar,
    one target: working days then depend on the pins' times only, not on the place)."""
    version, _ = boundary_version_create(
        label="service grid",
        items=[
            NeighborhoodInput(
                name=f"R{r} C{c}",
                geometry=MultiPolygon(cell_square(r, c), srid=4326),
                team_name=team_of(c, one_team=one_team),
                population=population,
            )
            for r in range(SIZE)
            for c in range(SIZE)
        ],
    )
    boundaries_activate(version=version)
    for name, weekmask in WEEKMASKS.items():
        Team.objects.filter(name=name).update(
            working_weekdays=weekmask, response_target_days=TARGETS[name]
        )
    Holiday.objects.create(date=CITY_HOLIDAY, name="City day")
    for team in Team.objects.filter(name="East Grid"):
        Holiday.objects.create(date=EAST_HOLIDAY, name="East day", team=team)
    return version


@dataclass(frozen=True)
class Pin:
    lon: float
    lat: float
    row: int
    column: int
    created_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    status: str
    reopen_count: int
    dispute_count: int
    kind: str


def _hours(rng, low: float, high: float) -> timedelta:
    return timedelta(hours=float(rng.uniform(low, high)))


def timed_pins(
    seed: int = 11, *, slow: frozenset[tuple[int, int]] = frozenset(), count=(4, 22)
) -> list[Pin]:
    """Per neighborhood a seeded number of pins (some neighborhoods below the minimum
    count), pinned in the 40 days before NOW, many of them near local midnight. In `slow`
    neighborhoods answers take 10-25 days instead of 0-6."""
    rng = np.random.default_rng(seed)
    pins = []
    for r in range(SIZE):
        for c in range(SIZE):
            for i in range(int(rng.integers(*count))):
                fx, fy = rng.uniform(0.05, 0.95, size=2)
                day = NOW.date() - timedelta(days=int(rng.integers(1, 40)))
                # 23:00-01:00 local: the UTC date is the day before for half of them.
                minutes = int(rng.integers(-60, 60)) if i % 2 else int(rng.integers(480, 1000))
                created = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(ZONE))
                created += timedelta(minutes=minutes)
                first = closed = None
                status = Idea.Status.NEW
                reopen = dispute = 0
                if rng.random() < 0.75:
                    first = created + (
                        _hours(rng, 240, 600) if (r, c) in slow else _hours(rng, 0, 150)
                    )
                    outcome = rng.random()
                    if outcome < 0.45:
                        status = Idea.Status.DONE
                        closed = first + _hours(rng, 0, 300)
                    elif outcome < 0.6:
                        status = Idea.Status.DECLINED
                        closed = first
                    elif outcome < 0.7:
                        # Closed once, then reopened: in progress again, closed_at kept.
                        status = Idea.Status.IN_PROGRESS
                        closed = first + _hours(rng, 0, 48)
                        reopen = 1
                    else:
                        status = Idea.Status.ACKNOWLEDGED
                    if closed is not None and closed > NOW:
                        closed, status, reopen = None, Idea.Status.ACKNOWLEDGED, 0
                    if first > NOW:
                        first, closed, status, reopen = None, None, Idea.Status.NEW, 0
                    if status == Idea.Status.DONE and rng.random() < 0.2:
                        reopen = int(rng.integers(1, 3))
                    if closed is not None and rng.random() < 0.25:
                        dispute = int(rng.integers(1, 4))
                pins.append(
                    Pin(
                        lon=round(WEST + (c + fx) * STEP, 6),
                        lat=round(SOUTH + (r + fy) * STEP, 6),
                        row=r,
                        column=c,
                        created_at=created,
                        first_response_at=first,
                        closed_at=closed,
                        status=status,
                        reopen_count=reopen,
                        dispute_count=dispute,
                        kind=Idea.Kind.IDEA if i % 3 == 0 else Idea.Kind.ISSUE,
                    )
                )
    return pins


def insert(pins: list[Pin], category: Category, version: BoundaryVersion) -> list[Idea]:
    """Bulk insert and route; every other pin without its stored H3 cells (as raw SQL writes
    pins), so hexagons are found from coordinates too."""
    team = triage_team()
    created = Idea.objects.bulk_create(
        [
            Idea(
                kind=p.kind,
                title="pin",
                category=category,
                location=Point(p.lon, p.lat, srid=4326),
                **(pin_cells(p.lon, p.lat) if index % 2 == 0 else {}),
                team=team,
                created_at=p.created_at,
                first_response_at=p.first_response_at,
                closed_at=p.closed_at,
                status=p.status,
                reopen_count=p.reopen_count,
                dispute_count=p.dispute_count,
            )
            for index, p in enumerate(pins)
        ],
        batch_size=1000,
    )
    routed = route_new_ideas(idea_ids=[i.pk for i in created], version=version)
    assert routed.refused_ids == []
    return created
