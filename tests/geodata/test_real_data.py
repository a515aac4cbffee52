"""Every real boundary file we have imports cleanly, and 121k real Boston service requests
land where an independent point-in-polygon (shapely, outside Django) says they should.

The files live in ../shared/data beside the checkout (never in the repository); these tests
are skipped where they are absent.
"""

import time
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command

from mapideas.models import Idea
from neighborhoods.models import Neighborhood
from neighborhoods.services import slug_for

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
BOSTON = SHARED_DATA / "boston"
CHICAGO = SHARED_DATA / "chicago"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is not on this machine"),
]


def command(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("path", "args", "count", "repaired"),
    [
        (BOSTON / "boston_neighborhoods_cth.geojson", ["--name-field", "name"], 26, 4),
        (CHICAGO / "chicago_neighborhoods_cth.geojson", ["--name-field", "name"], 98, 4),
        (
            CHICAGO / "chicago_community_areas_pop.geojson",
            ["--name-field", "community", "--population-field", "POP2010"],
            77,
            1,
        ),
        (
            CHICAGO / "chicago_community_areas_acs2014.geojson",
            ["--name-field", "community", "--population-field", "Pop2014"],
            77,
            1,
        ),
        (
            CHICAGO / "chicago77_no_prj" / "Chicago77.shp",
            ["--name-field", "COMMUNITY", "--source-srid", "3435"],
            77,
            0,
        ),
        (
            SHARED_DATA / "philadelphia" / "philadelphia_neighborhoods_cth.geojson",
            ["--name-field", "name"],
            158,
            0,
        ),
    ],
    ids=["boston", "chicago-98", "chicago-pop", "chicago-acs", "chicago-no-prj", "philadelphia"],
)
def test_it_imports_every_real_boundary_file_with_a_clear_report(path, args, count, repaired):
    dry_run = command("import_neighborhoods", str(path), *args)
    assert f"Read {count} neighborhoods" in dry_run
    assert dry_run.count("repaired (") == repaired
    assert "Dry run: nothing was written" in dry_run

    command("import_neighborhoods", str(path), *args, "--commit")

    stored = Neighborhood.objects.filter(version__is_active=True)
    assert stored.count() == count
    assert all(n.geometry.valid for n in stored)
    assert all(n.area_m2 > 0 for n in stored)


def test_it_refuses_the_shapefile_without_prj_until_told_its_crs():
    with pytest.raises(CommandError, match="--source-srid"):
        command(
            "import_neighborhoods",
            str(CHICAGO / "chicago77_no_prj" / "Chicago77.shp"),
            "--name-field",
            "COMMUNITY",
        )


def test_it_reads_chicagos_2010_population_in_full():
    path = CHICAGO / "chicago_community_areas_pop.geojson"
    command(
        "import_neighborhoods",
        str(path),
        "--name-field",
        "community",
        "--population-field",
        "POP2010",
        "--commit",
    )
    total = sum(Neighborhood.objects.values_list("population", flat=True))
    assert total == 2_695_598  # the official 2010 census count for Chicago


def independent_owner(xs: np.ndarray, ys: np.ndarray) -> list[str | None]:
    """Which Boston neighborhood covers each point, by shapely alone: the file read again,
    repaired, and the smallest covering polygon taken (Boston's polygons do not overlap)."""
    frame = gpd.read_file(BOSTON / "boston_neighborhoods_cth.geojson")
    shapes = shapely.make_valid(frame.geometry.values)
    slugs = [slug_for(name.strip(), "") for name in frame["name"]]
    areas = shapely.area(shapes)
    tree = shapely.STRtree(shapes)
    points = shapely.points(xs, ys)
    point_index, shape_index = tree.query(points, predicate="covered_by")
    owner: list[str | None] = [None] * len(points)
    best_area = [float("inf")] * len(points)
    for p, s in zip(point_index, shape_index, strict=True):
        if areas[s] < best_area[p]:
            owner[p], best_area[p] = slugs[s], areas[s]
    return owner


def test_it_routes_121k_real_boston_requests_where_shapely_says(capsys):
    command(
        "import_neighborhoods",
        str(BOSTON / "boston_neighborhoods_cth.geojson"),
        "--name-field",
        "name",
        "--commit",
    )
    started = time.perf_counter()
    output = command(
        "import_ideas",
        str(BOSTON / "boston_311_2015.csv.gz"),
        "--lat-field",
        "LATITUDE",
        "--lon-field",
        "LONGITUDE",
        "--title-field",
        "CASE_TITLE",
        "--channel",
        "phone",
        "--commit",
    )
    seconds = time.perf_counter() - started
    assert "Imported 121129 ideas." in output  # 121,145 rows, 16 of them without a title
    assert "16 rows could not be imported" in output

    rows = list(Idea.objects.values_list("location", "neighborhood__slug"))
    xs = np.array([location.x for location, _ in rows])
    ys = np.array([location.y for location, _ in rows])
    expected = independent_owner(xs, ys)
    agree = sum(1 for (_, got), want in zip(rows, expected, strict=True) if got == want)
    triaged = sum(1 for _, got in rows if got is None)
    with capsys.disabled():
        print(
            f"\n  Boston 311: {len(rows)} pins routed in {seconds:.1f} s; "
            f"{agree}/{len(rows)} agree with shapely; {triaged} in gaps sent to triage"
        )
    assert agree == len(rows)
