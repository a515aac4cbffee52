"""`/staff/boundaries/`: planners upload a boundary file, read its dry run, commit, activate."""

import json
import zipfile
from io import BytesIO

import geopandas as gpd
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects
from shapely.geometry import box

from geodata.imports import uploads
from mapideas.models import Idea
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from neighborhoods.models import BoundaryVersion
from tests.conftest import IN_EAST
from tests.layered_city import layered_version

pytestmark = pytest.mark.django_db

URL = "/staff/boundaries/"


@pytest.fixture(autouse=True)
def upload_root(tmp_path, monkeypatch):
    root = tmp_path / "uploads"
    monkeypatch.setattr(uploads, "UPLOAD_ROOT", root)
    return root


def geojson(features: list[tuple[dict, tuple[float, float, float, float]]]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": properties,
                    "geometry": box(*bounds).__geo_interface__,
                }
                for properties, bounds in features
            ],
        }
    ).encode()


# The city redraws: East Side goes to the West Team, and a new neighborhood appears.
REDRAWN = geojson(
    [
        ({"NAME": "East Side", "TEAM": "West Team", "POP": 9100}, (4.010, 50.000, 4.020, 50.010)),
        ({"NAME": "Dunes", "TEAM": "Harbor Team", "POP": 300}, (4.020, 50.000, 4.030, 50.010)),
    ]
)

BOW_TIE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"NAME": "Knot"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[4.0, 50.0], [4.01, 50.01], [4.01, 50.0], [4.0, 50.01], [4.0, 50.0]]
                    ],
                },
            }
        ],
    }
).encode()


def upload(client, content: bytes = REDRAWN, name: str = "wards.geojson", **fields):
    data = {"name_field": "NAME", "team_field": "TEAM", "repair": "on", **fields}
    data["file"] = SimpleUploadedFile(name, content)
    return client.post(URL, data)


def commit(client, response):
    return client.post("/staff/boundaries/commit/", {"token": response.context["token"]})


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def east_pin(city, category) -> Idea:
    return idea_create(kind="idea", title="Bench", category=category, location=IN_EAST)


# --- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", URL),
        ("post", URL),
        ("post", "/staff/boundaries/commit/"),
        ("post", "/staff/boundaries/discard/"),
        ("post", "/staff/boundaries/1/activate/"),
    ],
)
def test_it_sends_an_anonymous_visitor_to_the_login_page(client, city, method, url):
    response = getattr(client, method)(url)

    assertRedirects(response, f"/accounts/login/?next={url}", fetch_redirect_response=False)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", URL),
        ("post", URL),
        ("post", "/staff/boundaries/commit/"),
        ("post", "/staff/boundaries/1/activate/"),
    ],
)
def test_it_forbids_a_team_member_who_is_not_a_planner(client, west_member, method, url):
    client.force_login(west_member)

    response = getattr(client, method)(url, {"reason": "x"})

    assert response.status_code == 403
    assert BoundaryVersion.objects.count() == 1


def test_it_lists_the_versions_to_a_planner_with_the_active_one_marked(client, city, planner):
    layered_version(label="draft wards")
    client.force_login(planner)

    response = client.get(URL)

    assert response.status_code == 200
    versions = list(response.context["versions"])
    assert [(v.label, v.is_active, v.neighborhood_count) for v in versions] == [
        ("draft wards", False, 4),
        ("test city", True, 4),
    ]
    assertContains(response, "<strong>Active</strong>", count=1)
    assertContains(response, f"Activate #{versions[0].pk}")
    assertContains(response, 'enctype="multipart/form-data"')


def test_it_lets_a_superuser_in(client, city, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw-for-tests")
    client.force_login(admin)

    assert client.get(URL).status_code == 200


def test_the_planner_page_links_to_it(client, planner):
    client.force_login(planner)

    assertContains(client.get("/planner/"), f'href="{URL}"')


# --- dry run and commit --------------------------------------------------------------------


def test_it_shows_the_dry_run_report_and_writes_nothing(client, planner, east_pin, upload_root):
    client.force_login(planner)

    response = upload(client)

    assert response.status_code == 200
    assertContains(response, "Dry run of wards.geojson")
    assertContains(response, "Nothing has been written yet.")
    assertContains(response, "Read 2 neighborhoods")
    assertContains(response, "<li>1 new: Dunes</li>", html=True)
    assertContains(response, "<li>1 changed: East Side</li>", html=True)
    assertContains(response, "<li>3 removed: Enclave, Harbor, West Side</li>", html=True)
    assertContains(response, "1 open pin would move to another team (1 re-routed in all).")
    assertContains(response, "<li>East Team → West Team: 1</li>", html=True)
    assertContains(response, "Commit these boundaries")
    assert BoundaryVersion.objects.count() == 1
    assert Idea.objects.get(pk=east_pin.pk).team.name == "East Team"
    token = response.context["token"]
    assert (upload_root / token).is_dir()
    assert client.session["geodata.boundary_upload"]["token"] == token


def test_it_commits_the_previewed_upload_as_the_active_version(
    client, city, planner, east_pin, upload_root
):
    client.force_login(planner)
    preview = upload(client, population_field="POP")

    response = commit(client, preview)

    assertRedirects(response, URL)
    active = BoundaryVersion.objects.get(is_active=True)
    assert active.label.startswith("wards.geojson, ")
    assert dict(active.neighborhoods.values_list("name", "population")) == {
        "East Side": 9100,
        "Dunes": 300,
    }
    east_pin.refresh_from_db()
    assert (east_pin.team, east_pin.neighborhood.version) == (city.west_team, active)
    assert texts(response) == [
        f"Boundary version #{active.pk} is active: 1 open pins moved to another team "
        "(1 re-routed in all)."
    ]
    assert not any(upload_root.iterdir())
    assert "geodata.boundary_upload" not in client.session
    # The same token cannot be committed twice.
    again = client.post("/staff/boundaries/commit/", {"token": preview.context["token"]})
    assert "no longer here" in texts(again)[0]
    assert BoundaryVersion.objects.count() == 2


def test_it_reads_a_zipped_shapefile(client, planner, city, tmp_path):
    frame = gpd.GeoDataFrame(
        {"NAME": ["East Side"], "TEAM": ["East Team"]},
        geometry=[box(4.010, 50.000, 4.020, 50.010)],
        crs=4326,
    ).to_crs(31370)
    frame.to_file(tmp_path / "wards.shp", engine="pyogrio")
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in tmp_path.glob("wards.*"):
            zipped.write(part, part.name)
    client.force_login(planner)

    response = upload(client, archive.getvalue(), name="wards.zip")

    assert response.status_code == 200, response.context["form"].errors
    assertContains(response, "EPSG:31370")
    commit(client, response)
    assert BoundaryVersion.objects.get(is_active=True).neighborhoods.get().name == "East Side"


def test_it_refuses_to_commit_an_upload_that_is_not_this_sessions(client, planner, city):
    client.force_login(planner)
    upload(client)

    response = client.post("/staff/boundaries/commit/", {"token": "x" * 32})

    assert "no longer here" in texts(response)[0]
    assert BoundaryVersion.objects.count() == 1


def test_it_commits_an_upload_once_when_two_requests_race_for_it(client, planner, city):
    client.force_login(planner)
    preview = upload(client)
    assert uploads.upload_claim(preview.context["token"]) is not None  # the other request

    response = commit(client, preview)

    assert "no longer here" in texts(response)[0]
    assert BoundaryVersion.objects.count() == 1


def test_it_refuses_to_commit_when_the_active_boundaries_changed_since_the_dry_run(
    client, planner, city
):
    client.force_login(planner)
    preview = upload(client)
    boundaries_activate(version=layered_version())

    response = commit(client, preview)

    assert "changed since this dry run" in texts(response)[0]
    assert not BoundaryVersion.objects.filter(label__startswith="wards").exists()


def test_it_discards_an_upload(client, planner, city, upload_root):
    client.force_login(planner)
    preview = upload(client)

    client.post("/staff/boundaries/discard/", {"token": preview.context["token"]})

    assert not any(upload_root.iterdir())
    assert "geodata.boundary_upload" not in client.session


# --- bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "fields", "field", "message"),
    [
        (REDRAWN, "wards.geojson", {"name_field": "name"}, "name_field", "no field 'name'"),
        (REDRAWN, "wards.geojson", {"team_field": "DISTRICT"}, "team_field", "no field"),
        (REDRAWN, "wards.geojson", {"source_srid": "4326"}, None, None),
        (
            geojson([({"NAME": "East Side", "POP": "lots"}, (4.01, 50.0, 4.02, 50.01))]),
            "wards.geojson",
            {"population_field": "POP", "team_field": ""},
            "population_field",
            "East Side: POP is 'lots'",
        ),
        (REDRAWN, "wards.geojson", {"source_srid": "999999"}, "source_srid", "unknown EPSG"),
        (REDRAWN, "wards.txt", {}, "file", "Unsupported file type .txt"),
        (REDRAWN, "wards.shp", {}, "file", "as a .zip"),
        (b"{not json", "wards.geojson", {}, "file", "wards.geojson: could not be read"),
        (b"not a zip", "wards.zip", {}, "file", "not a zip file"),
        (
            BOW_TIE,
            "knot.geojson",
            {"repair": "", "team_field": ""},
            "repair",
            "Knot (feature 1): invalid polygon",
        ),
    ],
    ids=[
        "name-field",
        "team-field",
        "good-srid",
        "population",
        "wrong-srid",
        "txt",
        "bare-shp",
        "broken-json",
        "broken-zip",
        "no-repair",
    ],
)
def test_it_shows_what_is_wrong_with_the_file_next_to_the_field(
    client, planner, city, upload_root, content, name, fields, field, message
):
    client.force_login(planner)

    response = upload(client, content, name=name, **fields)

    if field is None:  # a control: the same upload with a right answer is fine
        assert response.status_code == 200
        return
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert str(upload_root) not in errors[field][0]  # the server's path is not shown
    assertContains(response, 'class="field-error"', status_code=400)
    assertNotContains(response, "Commit these boundaries", status_code=400)
    assert BoundaryVersion.objects.count() == 1
    assert not upload_root.exists() or not any(upload_root.iterdir())


def test_it_refuses_a_file_over_the_size_limit(client, planner, city, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 100)
    client.force_login(planner)

    response = upload(client)

    assert response.status_code == 400
    assert "larger than" in response.context["form"].errors["file"][0]


# --- activating a stored version -----------------------------------------------------------


def test_it_brings_an_earlier_version_back_with_a_reason(client, planner, city, east_pin):
    first = BoundaryVersion.objects.get(is_active=True)
    boundaries_activate(version=layered_version())
    client.force_login(planner)

    response = client.post(
        f"/staff/boundaries/{first.pk}/activate/", {"reason": "The 2025 wards were wrong"}
    )

    assertRedirects(response, URL)
    first.refresh_from_db()
    assert first.is_active
    east_pin.refresh_from_db()
    assert (east_pin.team, east_pin.neighborhood) == (city.east_team, city.east)
    assert east_pin.routing_events.last().reason == "The 2025 wards were wrong"
    assert texts(response)[0].startswith(f"Boundary version #{first.pk} is active:")


def test_it_asks_for_a_reason_before_activating(client, planner, city):
    draft = layered_version(label="draft")
    client.force_login(planner)

    response = client.post(f"/staff/boundaries/{draft.pk}/activate/", {"reason": "  "})

    assert response.status_code == 400
    assertContains(response, "This field is required.", status_code=400)
    draft.refresh_from_db()
    assert not draft.is_active


def test_it_does_not_activate_the_active_version_again(client, planner, city):
    active = BoundaryVersion.objects.get(is_active=True)
    client.force_login(planner)

    response = client.post(f"/staff/boundaries/{active.pk}/activate/", {"reason": "Again"})

    assert texts(response) == [f"Boundary version #{active.pk} is already active."]


def test_it_is_404_for_an_unknown_version(client, planner):
    client.force_login(planner)

    assert client.post("/staff/boundaries/999/activate/", {"reason": "x"}).status_code == 404
