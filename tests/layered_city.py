"""A second boundary set for routing-rule tests: neighborhoods that overlap on purpose.

It covers the same ground as the `city` fixture (tests/conftest.py), redrawn:

    50.010 +--------------------------+---------+-----+------------------+
           |  Old Town (West Team)    |  East   |     |                  |
           |     +--------+           |  Side   | ov. |  Port            |
           |     | Market |           | (East   | er- |  (Harbor Team,   |
           |     +--------+           |  Team)  | lap |   priority 1)    |
    50.000 +--------------------------+---------+-----+------------------+
         3.998  4.002    4.006       4.010     4.015 4.020             4.030

- Market lies inside Old Town; both have priority 0, Market is smaller, so Market owns it
  and the West Team sees its pins "also in their area".
- Port overlaps East Side between 4.015 and 4.020; Port is the larger but has priority 1, so
  it owns the overlap and the East Team sees those pins "also in their area".
- Old Town has no holes: the `city` fixture's empty hole is Old Town's here.
- Harbor's island (4.050-4.060) is gone: pins there are ~1.4 km from Port, outside the
  service area.
"""

from django.contrib.gis.geos import MultiPolygon, Point

from neighborhoods.models import BoundaryVersion
from neighborhoods.services import NeighborhoodInput, boundary_version_create
from tests.conftest import square

IN_MARKET = Point(4.003, 50.003, srid=4326)  # Market and Old Town
IN_OLD_TOWN = Point(4.008, 50.008, srid=4326)  # Old Town only
IN_EAST_ONLY = Point(4.012, 50.005, srid=4326)  # East Side only
IN_PORT_OVERLAP = Point(4.017, 50.005, srid=4326)  # Port and East Side
IN_PORT_ONLY = Point(4.025, 50.005, srid=4326)  # Port only
# ~70 m east of Port: outside every neighborhood, inside the 250 m service area.
JUST_OUTSIDE = Point(4.031, 50.005, srid=4326)
# ~1.4 km east of Port: outside the service area.
FAR_OUTSIDE = Point(4.050, 50.005, srid=4326)


def layered_version(label: str = "layered city") -> BoundaryVersion:
    """Store the layered boundaries as a new, inactive version."""
    version, _changes = boundary_version_create(
        label=label,
        items=[
            NeighborhoodInput(
                name="Old Town",
                geometry=MultiPolygon(square(3.998, 50.000, 4.010, 50.010), srid=4326),
                team_name="West Team",
            ),
            NeighborhoodInput(
                name="Market",
                geometry=MultiPolygon(square(4.002, 50.002, 4.006, 50.006), srid=4326),
                team_name="Market Team",
            ),
            NeighborhoodInput(
                name="East Side",
                geometry=MultiPolygon(square(4.010, 50.000, 4.020, 50.010), srid=4326),
                team_name="East Team",
            ),
            NeighborhoodInput(
                name="Port",
                geometry=MultiPolygon(square(4.015, 50.000, 4.030, 50.010), srid=4326),
                team_name="Harbor Team",
                priority=1,
            ),
        ],
    )
    return version
