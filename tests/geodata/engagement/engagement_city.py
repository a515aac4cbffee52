"""A synthetic city with a planted engagement gap, for the engagement tests.

An 8 x 8 grid of square neighborhoods, 0.01° on a side (about 0.8 km²), each with 1,000
residents. Every square gets 15-25 pins (seeded) except a 2 x 2 block (rows 3-4, columns 3-4,
in the middle of the city) that gets none. A 5 x 5 grid is too small for the test to find a
2 x 2 gap after the false discovery rate correction: with 25 neighborhoods, the permutation
p-value of a gap cell is about 0.03 whatever the data (the chance that 3 of its 8 random
neighbours are the other gap cells), far above Benjamini-Hochberg's 4 x 0.05 / 25 = 0.008.

    row 7 +--+--+--+--+--+--+--+--+  50.08
          |  |  |  |  |  |  |  |  |
          ...
    row 4 |  |  |  |##|##|  |  |  |
    row 3 |  |  |  |##|##|  |  |  |
          ...
    row 0 +--+--+--+--+--+--+--+--+  50.00
         4.00                    4.08
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.contrib.gis.geos import MultiPolygon, Point
from django.utils import timezone

from mapideas.cells import pin_cells
from mapideas.models import Category, Idea
from mapideas.rerouting.services import boundaries_activate, route_new_ideas
from neighborhoods.models import BoundaryVersion
from neighborhoods.routing import triage_team
from neighborhoods.services import NeighborhoodInput, boundary_version_create
from tests.conftest import square

SIZE = 8
STEP = 0.01
WEST, SOUTH = 4.0, 50.0
POPULATION = 1000
GAP = frozenset({(3, 3), (3, 4), (4, 3), (4, 4)})
# Every pin is this day or up to 29 days before (in the current 90-day trend period).
NOW = timezone.make_aware(datetime(2026, 6, 30, 12, 0))


def cell_name(row: int, column: int) -> str:
    return f"R{row} C{column}"


def cell_slug(row: int, column: int) -> str:
    return f"r{row}-c{column}"


def cell_square(row: int, column: int):
    x0, y0 = WEST + column * STEP, SOUTH + row * STEP
    return square(x0, y0, x0 + STEP, y0 + STEP)


def grid_version(*, population: int | None = POPULATION, skip=()) -> BoundaryVersion:
    version, _ = boundary_version_create(
        label="engagement grid",
        items=[
            NeighborhoodInput(
                name=cell_name(r, c),
                geometry=MultiPolygon(cell_square(r, c), srid=4326),
                team_name="Grid Team",
                population=population,
            )
            for r in range(SIZE)
            for c in range(SIZE)
            if (r, c) not in skip
        ],
    )
    boundaries_activate(version=version)
    return version


@dataclass(frozen=True)
class Pin:
    lon: float
    lat: float
    row: int
    column: int
    channel: str
    kind: str
    created_at: datetime


def planted_pins(seed: int = 7) -> list[Pin]:
    """15-25 pins in every square but the gap, strictly inside it; a fifth of the squares
    have some input from paper forms; kinds alternate."""
    rng = np.random.default_rng(seed)
    pins = []
    for r in range(SIZE):
        for c in range(SIZE):
            if (r, c) in GAP:
                continue
            n = int(rng.integers(15, 26))
            offline = (r * SIZE + c) % 5 == 0
            for i in range(n):
                fx, fy = rng.uniform(0.05, 0.95, size=2)
                pins.append(
                    Pin(
                        lon=round(WEST + (c + fx) * STEP, 6),
                        lat=round(SOUTH + (r + fy) * STEP, 6),
                        row=r,
                        column=c,
                        channel=Idea.Channel.PAPER if offline and i < 3 else Idea.Channel.WEB,
                        kind=Idea.Kind.IDEA if i % 2 == 0 else Idea.Kind.ISSUE,
                        created_at=NOW - timedelta(days=int(rng.integers(0, 30))),
                    )
                )
    return pins


def insert_pins(pins: list[Pin], category: Category, version: BoundaryVersion) -> list[Idea]:
    """Insert in bulk and route set-based, as a CSV import does. Every other pin is stored
    without its H3 cell, as raw SQL writes pins, so hexagon counts are checked both from the
    stored cells and from coordinates."""
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
                channel=p.channel,
                created_at=p.created_at,
            )
            for index, p in enumerate(pins)
        ],
        batch_size=1000,
    )
    routed = route_new_ideas(idea_ids=[i.pk for i in created], version=version)
    assert routed.refused_ids == []
    return created
