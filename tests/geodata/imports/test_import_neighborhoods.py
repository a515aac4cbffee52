"""import_neighborhoods: real boundary files in any format and CRS, messy ones included."""

import zipfile
from io import StringIO
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command
from shapely.geometry import MultiPolygon, Polygon, box

from mapideas.models import Idea, RoutingEvent
from mapideas.submission.services import idea_create
from neighborhoods.models import BoundaryVersion, Neighborhood, Team
from neighborhoods.routing import route
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    frame.to_file(path, engine="pyogrio", **kwargs)
    return path


def two_districts(crs: str | int = 4326) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {
            "NAME": ["Old Town", "Riverside"],
            "POP": [1200, 3400],
            "DISTRICT": ["North", "North"],
        },
        geometry=[box(4.00, 50.00, 4.01, 50.01), box(4.01, 50.00, 4.02, 50.01)],
        crs=4326,
    )
    return frame.to_crs(crs)


def run(path: Path, *args: str, commit: bool = True) -> str:
    out = StringIO()
    call_command(
        "import_neighborhoods", str(path), *args, *(["--commit"] if commit else []), stdout=out
    )
    return out.getvalue()


def counts() -> dict[str, int]:
    """The rows a boundary import or an activation writes."""
    return {
        "versions": BoundaryVersion.objects.count(),
        "active": BoundaryVersion.objects.get(is_active=True).pk,
        "neighborhoods": Neighborhood.objects.count(),
        "teams": Team.objects.count(),
        "routing events": RoutingEvent.objects.count(),
    }


def test_it_imports_a_geojson_with_one_team_per_neighborhood(tmp_path):
    output = run(write(two_districts(), tmp_path / "city.geojson"), "--name-field", "NAME")
    assert set(Neighborhood.objects.values_list("name", "team__name")) == {
        ("Old Town", "Old Town"),
        ("Riverside", "Riverside"),
    }
    assert "2 new" in output


def test_it_groups_neighborhoods_into_teams_and_reads_population(tmp_path):
    path = write(two_districts(), tmp_path / "city.geojson")
    run(path, "--name-field", "NAME", "--team-field", "DISTRICT", "--population-field", "POP")
    assert Team.objects.get(neighborhoods__name="Riverside").name == "North"
    assert Neighborhood.objects.get(name="Riverside").population == 3400


def test_it_reprojects_a_shapefile_in_a_projected_crs_to_wgs84(tmp_path):
    path = write(two_districts(crs=3857), tmp_path / "city.shp")
    run(path, "--name-field", "NAME")
    extent = Neighborhood.objects.get(name="Old Town").geometry.extent
    assert extent == pytest.approx((4.00, 50.00, 4.01, 50.01), abs=1e-6)


def test_it_reads_a_zipped_shapefile(tmp_path):
    shp = write(two_districts(crs=31370), tmp_path / "city.shp")
    archive = tmp_path / "city.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in tmp_path.glob("city.*"):
            if part != archive:
                zipped.write(part, part.name)
    assert shp.exists()
    run(archive, "--name-field", "NAME")
    assert Neighborhood.objects.count() == 2


def test_it_reads_a_geopackage(tmp_path):
    run(write(two_districts(crs=32631), tmp_path / "city.gpkg"), "--name-field", "NAME")
    assert route(shapely_point(4.015, 50.005)).neighborhood.name == "Riverside"


def shapely_point(x: float, y: float):
    from django.contrib.gis.geos import Point

    return Point(x, y, srid=4326)


def test_it_refuses_a_file_without_crs_and_names_source_srid(tmp_path):
    path = write(two_districts(crs=3857), tmp_path / "city.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(CommandError, match="--source-srid"):
        run(path, "--name-field", "NAME")
    assert not Neighborhood.objects.exists()
    run(path, "--name-field", "NAME", "--source-srid", "3857")
    assert Neighborhood.objects.count() == 2


def test_it_refuses_a_crs_that_puts_the_city_off_the_globe(tmp_path):
    path = write(two_districts(crs=3857), tmp_path / "city.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(CommandError, match="off the globe"):
        run(path, "--name-field", "NAME", "--source-srid", "4326")


def test_it_repairs_a_bow_tie_and_reports_it_by_name(tmp_path):
    bow_tie = Polygon([(4.0, 50.0), (4.01, 50.01), (4.01, 50.0), (4.0, 50.01), (4.0, 50.0)])
    frame = gpd.GeoDataFrame({"NAME": ["Knot"]}, geometry=[bow_tie], crs=4326)
    output = run(write(frame, tmp_path / "bad.geojson"), "--name-field", "NAME")
    assert "Knot: repaired (Self-intersection" in output
    stored = Neighborhood.objects.get(name="Knot").geometry
    assert stored.valid
    assert stored.area == pytest.approx(0.00005, rel=1e-6)  # both triangles kept


def test_it_refuses_an_invalid_polygon_with_no_repair(tmp_path):
    bow_tie = Polygon([(4.0, 50.0), (4.01, 50.01), (4.01, 50.0), (4.0, 50.01), (4.0, 50.0)])
    frame = gpd.GeoDataFrame({"NAME": ["Knot"]}, geometry=[bow_tie], crs=4326)
    with pytest.raises(CommandError, match="Knot .*invalid polygon"):
        run(write(frame, tmp_path / "bad.geojson"), "--name-field", "NAME", "--no-repair")
    assert not Neighborhood.objects.exists()


def test_it_keeps_islands_and_holes_and_orients_rings_for_rfc_7946(tmp_path):
    with_hole = Polygon(
        [(4.0, 50.0), (4.0, 50.01), (4.01, 50.01), (4.01, 50.0)],  # clockwise on purpose
        [[(4.004, 50.004), (4.006, 50.004), (4.006, 50.006), (4.004, 50.006)]],
    )
    island = box(4.05, 50.0, 4.06, 50.01)
    frame = gpd.GeoDataFrame(
        {"NAME": ["Bay"]}, geometry=[MultiPolygon([with_hole, island])], crs=4326
    )
    run(write(frame, tmp_path / "bay.geojson"), "--name-field", "NAME")
    stored = shapely.from_wkb(bytes(Neighborhood.objects.get().geometry.wkb))
    assert len(stored.geoms) == 2
    main = min(stored.geoms, key=lambda p: p.bounds[0])  # the western part, with the hole
    assert main.exterior.is_ccw
    assert len(main.interiors) == 1 and not main.interiors[0].is_ccw


def test_it_merges_features_that_share_a_name(tmp_path):
    frame = gpd.GeoDataFrame(
        {"NAME": ["Isles", "Isles"], "POP": [10, 5]},
        geometry=[box(4.0, 50.0, 4.01, 50.01), box(4.05, 50.0, 4.06, 50.01)],
        crs=4326,
    )
    output = run(
        write(frame, tmp_path / "isles.geojson"),
        "--name-field",
        "NAME",
        "--population-field",
        "POP",
    )
    isles = Neighborhood.objects.get()
    assert len(isles.geometry) == 2
    assert isles.population == 15
    assert "merged" in output


def test_it_names_the_missing_field_and_lists_the_ones_present(tmp_path):
    with pytest.raises(CommandError, match=r"no field 'name'.*NAME, POP, DISTRICT"):
        run(write(two_districts(), tmp_path / "city.geojson"), "--name-field", "name")


def test_it_refuses_a_bad_population_value_and_writes_nothing(tmp_path):
    frame = two_districts()
    frame["POP"] = ["1200", "lots"]
    with pytest.raises(CommandError, match="Riverside: POP is 'lots'"):
        run(
            write(frame, tmp_path / "c.geojson"),
            "--name-field",
            "NAME",
            "--population-field",
            "POP",
        )
    assert not Neighborhood.objects.exists()
    assert not Team.objects.filter(is_triage=False).exists()


def test_it_leaves_the_database_as_it_was_when_a_later_feature_fails(tmp_path, city):
    before = sorted(Neighborhood.objects.values_list("slug", "team__slug"))
    frame = two_districts()
    frame.loc[1, "NAME"] = None
    with pytest.raises(CommandError, match="Feature 2: NAME is empty"):
        run(write(frame, tmp_path / "c.geojson"), "--name-field", "NAME")
    assert sorted(Neighborhood.objects.values_list("slug", "team__slug")) == before


def test_it_refuses_points_and_unsupported_files(tmp_path):
    points = gpd.GeoDataFrame({"NAME": ["Dot"]}, geometry=[shapely.Point(4, 50)], crs=4326)
    with pytest.raises(CommandError, match="Dot .*not a polygon"):
        run(write(points, tmp_path / "dots.geojson"), "--name-field", "NAME")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CommandError, match="unsupported file type"):
        run(tmp_path / "notes.txt", "--name-field", "NAME")
    (tmp_path / "broken.geojson").write_text("{not json")
    with pytest.raises(CommandError, match="could not be read"):
        run(tmp_path / "broken.geojson", "--name-field", "NAME")
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "missing.gpkg", "--name-field", "NAME")


def test_it_writes_nothing_without_commit_and_says_so(tmp_path):
    output = run(
        write(two_districts(), tmp_path / "city.geojson"), "--name-field", "NAME", commit=False
    )

    assert "2 new" in output
    assert "Dry run: nothing was written" in output
    assert not Neighborhood.objects.exists()
    assert not BoundaryVersion.objects.exists()


def test_a_dry_run_moves_no_pin_and_ends_saying_how_to_write(tmp_path, city, category):
    pin = idea_create(kind="idea", title="Bench", category=category, location=IN_EAST)
    frame = gpd.GeoDataFrame(
        {"NAME": ["East Side"], "TEAM": ["Harbor Team"]},
        geometry=[box(4.010, 50.000, 4.020, 50.010)],
        crs=4326,
    )
    path = write(frame, tmp_path / "e.geojson")
    before = counts()

    output = run(path, "--name-field", "NAME", "--team-field", "TEAM", commit=False)

    assert "Open pins that would move to another team: 1" in output
    assert output.splitlines()[-1] == (
        "Dry run: nothing was written. Run again with --commit to apply."
    )
    assert counts() == before
    assert Idea.objects.get(pk=pin.pk).team == city.east_team


def test_it_keeps_the_old_version_and_re_routes_open_pins_to_the_new_one(tmp_path, city, category):
    open_pin = idea_create(kind="idea", title="Open", category=category, location=IN_EAST)
    closed_pin = idea_create(kind="idea", title="Closed", category=category, location=IN_EAST)
    Idea.objects.filter(pk=closed_pin.pk).update(status=Idea.Status.DONE)
    old_version = BoundaryVersion.objects.get(is_active=True)
    # The city redraws: East Side now belongs to the West Team.
    frame = gpd.GeoDataFrame(
        {"NAME": ["East Side"], "TEAM": ["West Team"]},
        geometry=[box(4.010, 50.000, 4.020, 50.010)],
        crs=4326,
    )
    path = write(frame, tmp_path / "e.geojson")

    preview = run(path, "--name-field", "NAME", "--team-field", "TEAM", commit=False)
    assert "Open pins that would move to another team: 1" in preview
    assert "East Team -> West Team: 1" in preview
    assert Idea.objects.get(pk=open_pin.pk).team == city.east_team

    output = run(path, "--name-field", "NAME", "--team-field", "TEAM")
    assert "Open pins that move to another team: 1" in output
    assert "removed (3): Enclave, Harbor, West Side" in output
    new_version = BoundaryVersion.objects.get(is_active=True)
    assert new_version != old_version
    assert old_version.neighborhoods.count() == 4  # kept, not edited in place
    open_pin.refresh_from_db()
    closed_pin.refresh_from_db()
    assert (open_pin.team, open_pin.neighborhood.version) == (city.west_team, new_version)
    assert (closed_pin.team, closed_pin.neighborhood) == (city.east_team, city.east)
    move = open_pin.routing_events.get(cause="boundary_change")
    assert (move.from_team, move.to_team, move.to_neighborhood.slug) == (
        city.east_team,
        city.west_team,
        "east-side",
    )
    assert move.boundary_version == new_version
    assert not closed_pin.routing_events.filter(cause="boundary_change").exists()


def test_it_reports_overlaps_and_gaps_with_their_area(tmp_path):
    frame = gpd.GeoDataFrame(
        {"NAME": ["A", "B", "C"]},
        geometry=[
            box(4.000, 50.000, 4.011, 50.010),  # overlaps B by 0.001 degree of longitude
            box(4.010, 50.000, 4.020, 50.010),
            box(4.000, 50.010, 4.020, 50.020).difference(box(4.005, 50.009, 4.006, 50.011)),
        ],
        crs=4326,
    )
    output = run(write(frame, tmp_path / "abc.geojson"), "--name-field", "NAME", commit=False)

    assert "Overlaps above 1 m² (1):" in output
    assert "  A / B: 79,7" in output  # ~71.7 m x 1,112 m
    assert "Gaps above 1 m² between neighborhoods (0)" not in output


def test_activate_boundaries_without_commit_says_what_would_move_and_moves_nothing(
    tmp_path, city, category
):
    pin = idea_create(kind="idea", title="Bench", category=category, location=IN_EAST)
    first = BoundaryVersion.objects.get(is_active=True)
    frame = gpd.GeoDataFrame(
        {"NAME": ["East Side"], "TEAM": ["Harbor Team"]},
        geometry=[box(4.010, 50.000, 4.020, 50.010)],
        crs=4326,
    )
    run(write(frame, tmp_path / "e.geojson"), "--name-field", "NAME", "--team-field", "TEAM")
    before = counts()

    out = StringIO()
    call_command("activate_boundaries", str(first.pk), "--reason", "Wrong file", stdout=out)

    assert out.getvalue().splitlines() == [
        f"Boundary version #{first.pk} would be active. 1 open pins would move to another "
        "team (1 re-routed in all, of 1 open).",
        "Dry run: nothing was written. Run again with --commit to apply.",
    ]
    assert counts() == before
    assert Idea.objects.get(pk=pin.pk).team == city.harbor_team

    out = StringIO()
    call_command("activate_boundaries", str(first.pk), "--commit", stdout=out)
    assert f"Boundary version #{first.pk} is active. 1 open pins moved" in out.getvalue()
    assert BoundaryVersion.objects.get(is_active=True) == first
    assert Idea.objects.get(pk=pin.pk).team == city.east_team


def test_activate_boundaries_refuses_commit_without_a_version(city):
    with pytest.raises(CommandError, match="--commit needs a VERSION"):
        call_command("activate_boundaries", "--commit", stdout=StringIO())


def test_it_brings_an_earlier_version_back_with_activate_boundaries(tmp_path, city, category):
    pin = idea_create(kind="idea", title="Bench", category=category, location=IN_EAST)
    first = BoundaryVersion.objects.get(is_active=True)
    frame = gpd.GeoDataFrame(
        {"NAME": ["East Side"], "TEAM": ["Harbor Team"]},
        geometry=[box(4.010, 50.000, 4.020, 50.010)],
        crs=4326,
    )
    run(write(frame, tmp_path / "e.geojson"), "--name-field", "NAME", "--team-field", "TEAM")
    assert Idea.objects.get(pk=pin.pk).team == city.harbor_team

    out = StringIO()
    call_command(
        "activate_boundaries", str(first.pk), "--reason", "Wrong file", "--commit", stdout=out
    )

    pin.refresh_from_db()
    assert (pin.team, pin.neighborhood) == (city.east_team, city.east)
    assert pin.routing_events.last().reason == "Wrong file"
    listing = StringIO()
    call_command("activate_boundaries", stdout=listing)
    assert f"#{first.pk} * test city" in listing.getvalue()


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="shared/data is not on this machine")
def test_it_imports_bostons_real_file_repairing_its_four_invalid_polygons():
    output = run(
        SHARED_DATA / "boston" / "boston_neighborhoods_cth.geojson", "--name-field", "name"
    )
    assert Neighborhood.objects.count() == 26
    assert output.count("repaired (") == 4
    assert all(n.geometry.valid for n in Neighborhood.objects.all())


def test_it_keeps_known_populations_when_a_new_file_has_none(tmp_path):
    path = write(two_districts(), tmp_path / "city.geojson")
    run(path, "--name-field", "NAME", "--population-field", "POP")

    output = run(path, "--name-field", "NAME")

    assert Neighborhood.objects.get(version__is_active=True, name="Riverside").population == 3400
    assert "0 changed" in output


@pytest.mark.parametrize("value", ["1,5", "12.5", "-3"])
def test_it_refuses_a_population_that_is_not_a_whole_head_count(tmp_path, value):
    frame = two_districts()
    frame["POP"] = ["12,345", value]
    with pytest.raises(CommandError, match=f"Riverside: POP is '{value}'"):
        run(
            write(frame, tmp_path / "c.geojson"),
            "--name-field",
            "NAME",
            "--population-field",
            "POP",
        )


def test_it_reads_thousands_separators_in_populations(tmp_path):
    frame = two_districts()
    frame["POP"] = ["12,345", "1,234,567"]
    run(write(frame, tmp_path / "c.geojson"), "--name-field", "NAME", "--population-field", "POP")
    assert Neighborhood.objects.get(name="Riverside").population == 1234567
