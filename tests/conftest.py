"""Shared fixtures: a small synthetic city with every shape routing must get right.

    50.010 +-----------------+-----------------+-----------------+      +------+
           |  West Side      |                 |                 |      |Harbor|
           |        [empty   |   East Side     |  Harbor         |      |island|
           |  [Enclave] hole]|                 |  (mainland)     |      |      |
    50.000 +-----------------+-----------------+-----------------+      +------+
         3.998             4.010             4.020             4.030  4.050  4.060

West Side has two holes: one filled by the Enclave neighborhood, one that nobody covers (a
gap inside the service area: pins there go to the city-wide triage team).
West Side and East Side share the border x = 4.010; East Side is the smaller, so it owns the
border (overlapping or touching neighborhoods: highest priority, then smallest area).
Harbor is a MultiPolygon with an island.
Teams: West Team (West Side + Enclave), East Team (East Side), Harbor Team (Harbor).
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from mapideas.models import Category
from mapideas.rerouting.services import boundaries_activate
from neighborhoods.models import Neighborhood, Team
from neighborhoods.roles import planners_group
from neighborhoods.services import NeighborhoodInput, boundary_version_create

ENCLAVE_HOLE = ((4.002, 50.002), (4.004, 50.002), (4.004, 50.004), (4.002, 50.004))
EMPTY_HOLE = ((4.006, 50.006), (4.008, 50.006), (4.008, 50.008), (4.006, 50.008))

# Points worth routing, by what they test.
IN_WEST = Point(4.001, 50.001, srid=4326)
IN_EAST = Point(4.015, 50.005, srid=4326)
ON_SHARED_BORDER = Point(4.010, 50.005, srid=4326)
ON_ISLAND = Point(4.055, 50.005, srid=4326)
IN_ENCLAVE = Point(4.003, 50.003, srid=4326)
IN_EMPTY_HOLE = Point(4.007, 50.007, srid=4326)
# Between Harbor's mainland and its island, ~700 m from both: beyond the 250 m service area.
OUTSIDE_CITY = Point(4.040, 50.005, srid=4326)


def square(x0: float, y0: float, x1: float, y1: float, holes=()) -> Polygon:
    ring = ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))
    return Polygon(ring, *[tuple(h) + (h[0],) for h in holes], srid=4326)


@dataclass
class City:
    west_team: Team
    east_team: Team
    harbor_team: Team
    west: Neighborhood
    enclave: Neighborhood
    east: Neighborhood
    harbor: Neighborhood


@pytest.fixture
def city(db) -> City:
    # Holes are clockwise, exteriors counter-clockwise, as the importer writes them.
    west = square(3.998, 50.000, 4.010, 50.010, holes=(ENCLAVE_HOLE[::-1], EMPTY_HOLE[::-1]))
    version, _changes = boundary_version_create(
        label="test city",
        items=[
            NeighborhoodInput(
                name="West Side",
                geometry=MultiPolygon(west, srid=4326),
                team_name="West Team",
                population=12000,
            ),
            NeighborhoodInput(
                name="Enclave",
                geometry=MultiPolygon(square(4.002, 50.002, 4.004, 50.004), srid=4326),
                team_name="West Team",
                population=800,
            ),
            NeighborhoodInput(
                name="East Side",
                geometry=MultiPolygon(square(4.010, 50.000, 4.020, 50.010), srid=4326),
                team_name="East Team",
                population=9000,
            ),
            NeighborhoodInput(
                name="Harbor",
                geometry=MultiPolygon(
                    square(4.020, 50.000, 4.030, 50.010),
                    square(4.050, 50.000, 4.060, 50.010),
                    srid=4326,
                ),
                team_name="Harbor Team",
            ),
        ],
    )
    boundaries_activate(version=version)
    by_slug = {n.slug: n for n in Neighborhood.objects.select_related("team")}
    return City(
        west_team=Team.objects.get(name="West Team"),
        east_team=Team.objects.get(name="East Team"),
        harbor_team=Team.objects.get(name="Harbor Team"),
        west=by_slug["west-side"],
        enclave=by_slug["enclave"],
        east=by_slug["east-side"],
        harbor=by_slug["harbor"],
    )


@pytest.fixture
def category(db) -> Category:
    """One of the default categories every installation starts with (data migration)."""
    return Category.objects.get(slug="parks-green-space")


@pytest.fixture
def make_user(db):
    def make(username: str, *, teams=(), planner: bool = False, password: str = "pw-for-tests"):
        user = get_user_model().objects.create_user(username=username, password=password)
        for team in teams:
            team.members.add(user)
        if planner:
            user.groups.add(planners_group())
        return user

    return make


@pytest.fixture
def west_member(city, make_user):
    return make_user("wendy", teams=[city.west_team])


@pytest.fixture
def east_member(city, make_user):
    return make_user("eddie", teams=[city.east_team])


@pytest.fixture
def planner(city, make_user):
    return make_user("paula", planner=True)


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the site's language: LocaleMiddleware activates the language a
    request asked for in the test's thread and never puts it back (a French request would
    leave the next test in French)."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 costs ~0.3 s a password by design; tests need no such cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_computed_layers():
    """The OGC API holds computed layers for a few seconds (geodata.ogc.computed): a layer
    computed by an earlier test, on other data, must not answer a later one."""
    from geodata.ogc.computed import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _photo_root(settings, tmp_path_factory):
    """No test writes a pin's photo into the project's var/photos (mapideas.pins.photos)."""
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path_factory.getbasetemp() / "photos"


LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """The viewport and the place search cache their answers in Django's cache: one test's
    cached answer must not answer another's. Tests cache in memory; rate-limit counters are a
    table (mapideas.plumbing.rate_counters), rolled back with each test."""
    from django.core.cache import cache

    settings.CACHES = LOCAL_CACHE
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def live_databases(tmp_path_factory):
    """Live databases that real servers and commands can see (crash and load tests):
    copies of a template migrated and seeded once per session on the run's backend
    (tests/mapideas/crash_support.py), dropped at the end."""
    from django.conf import settings

    from tests.mapideas.crash_support import SEEDED_PINS, LiveDatabases

    default = settings.DATABASES["default"]
    databases = LiveDatabases(
        default["ENGINE"], default, tmp_path_factory.mktemp("live"), pins=SEEDED_PINS
    )
    yield databases
    databases.close()
