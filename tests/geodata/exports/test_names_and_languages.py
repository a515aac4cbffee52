"""Names from one place, by one rule (neighborhoods.translated_names; docs/interfaces.md,
"Names and languages"): the APIs answer in the request's language, the exports in the
city's unless `lang=` asks for another, and every name has its slug beside it.

Asked in French, /api/categories/, /api/ideas/, one pin's API, the viewport, the OGC API's
items and /export/ideas.geojson?lang=fr name every category and team the same way; without
`lang=`, every export format names them in the city's language (English here), whatever the
browser asks; an unknown `lang` is a 400 naming it."""

import csv
import io
import json
from pathlib import Path

import pyogrio.raw
import pytest
from django.test import Client
from rest_framework.test import APIClient

from geodata.exports import formats as export_formats
from mapideas.models import Category, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, IN_WEST

pytestmark = pytest.mark.django_db

CITY = "3.99,49.99,4.07,50.02"
FRENCH_CATEGORY = "Jardins et parcs publics"
FRENCH_LIGHTING = "Éclairage public"
FRENCH_TEAMS = {"west-team": "Équipe Ouest", "east-team": "Équipe Est"}
# What every output names per pin: (category, category_name, team, team_slug,
# neighborhood, neighborhood_slug).
NAMED = ("category", "category_name", "team", "team_slug", "neighborhood", "neighborhood_slug")
# A Shapefile's field names are at most ten characters (geodata.exports.formats).
SHAPEFILE_NAMES = {short: name for name, short in export_formats.SHAPEFILE_FIELDS.items()}


@pytest.fixture
def pins(city, category):
    """Three pins: West (parks), East (lighting), and one in the gap no neighborhood covers
    (the triage team has it); French names for the categories and the two teams."""
    category.name_translations = {"fr": FRENCH_CATEGORY, "nl": "Parken"}
    category.save()
    lighting = Category.objects.get(slug="lighting-safety")
    lighting.name_translations = {"fr": FRENCH_LIGHTING}
    lighting.save()
    for team in (city.west_team, city.east_team):
        team.name_translations = {"fr": FRENCH_TEAMS[team.slug], "nl": f"{team.name} (nl)"}
        team.save()
    return [
        idea_create(kind="idea", title="Banc", category=category, location=IN_WEST),
        idea_create(kind="issue", title="Lampe", category=lighting, location=IN_EAST),
        idea_create(kind="idea", title="Trou", category=category, location=IN_EMPTY_HOLE),
    ]


def expected(pins: list[Idea], language: str) -> dict[int, tuple]:
    """What every output must say of each pin, from the models' own display names."""
    from django.utils import translation

    with translation.override(language):
        return {
            pin.pk: (
                pin.category.slug,
                pin.category.display_name,
                pin.team.display_name,
                pin.team.slug,
                pin.neighborhood.name if pin.neighborhood else None,
                pin.neighborhood.slug if pin.neighborhood else None,
            )
            for pin in Idea.objects.select_related("category", "team", "neighborhood").filter(
                pk__in=[p.pk for p in pins]
            )
        }


def named(features: list[dict]) -> dict[int, tuple]:
    return {f["properties"]["id"]: tuple(f["properties"][k] for k in NAMED) for f in features}


def french_api(path: str, **params):
    response = APIClient().get(path, params, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200, response.content
    return response


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_french_names_are_the_same_in_every_output(pins):
    want = expected(pins, "fr")
    # The French names are the staff's, not the city's own.
    assert {row[1] for row in want.values()} == {FRENCH_CATEGORY, FRENCH_LIGHTING}
    assert {row[2] for row in want.values()} >= set(FRENCH_TEAMS.values())

    listed = french_api("/api/ideas/", page_size=100).json()["features"]
    one_pin = [french_api(f"/api/ideas/{pin.pk}/").json() for pin in pins]
    viewport = french_api("/api/ideas/viewport/", bbox=CITY, zoom=16).json()
    ogc = french_api("/ogc/collections/ideas/items", f="json").json()["features"]
    # lang=fr decides, whatever the browser asks (Dutch here).
    download = Client().get("/export/ideas.geojson", {"lang": "fr"}, HTTP_ACCEPT_LANGUAGE="nl")
    assert download.status_code == 200
    exported = json.loads(streamed(download))["features"]

    assert viewport["mode"] == "pins"
    for features in (listed, one_pin, viewport["features"], ogc, exported):
        assert named(features) == want

    categories = {c["slug"]: c["name"] for c in french_api("/api/categories/").json()}
    for slug, category_name, *_rest in want.values():
        assert categories[slug] == category_name


def test_the_api_answers_in_the_citys_language_when_asked_nothing(pins):
    want = expected(pins, "en")

    response = APIClient().get("/api/ideas/", {"page_size": 100})

    assert named(response.json()["features"]) == want
    categories = {c["slug"]: c["name"] for c in APIClient().get("/api/categories/").json()}
    assert categories["parks-green-space"] == Category.objects.get(slug="parks-green-space").name


def _records(extension: str, raw: bytes, tmp_path: Path) -> list[dict]:
    """Every feature's properties, whatever the format, under the properties' own names."""
    if extension == "geojson":
        return [f["properties"] for f in json.loads(raw)["features"]]
    if extension == "csv":
        return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    path = tmp_path / f"ideas.{extension}"
    path.write_bytes(raw)
    name = f"/vsizip/{path}" if extension.endswith(".zip") else str(path)
    meta, _fids, _geometry, columns = pyogrio.raw.read(name)
    fields = [SHAPEFILE_NAMES.get(f, f) if extension == "shp.zip" else f for f in meta["fields"]]
    records = [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]
    if extension == "kml":
        # GDAL reads the Placemark's own id as `id`, and the property `id` as `id2`.
        for record in records:
            record["id"] = record.pop("id2")
    return records


@pytest.mark.parametrize("extension", list(export_formats.FORMATS))
def test_every_export_format_names_them_in_the_citys_language_by_default(pins, tmp_path, extension):
    want = expected(pins, "en")

    # A French browser does not change the file: only lang= does.
    response = Client().get(f"/export/ideas.{extension}", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    records = _records(extension, streamed(response), tmp_path)
    got = {
        int(r["id"]): tuple(None if r[k] in ("", None) else r[k] for k in NAMED) for r in records
    }
    assert got == want


@pytest.mark.parametrize("extension", ["geojson", "csv", "gpkg"])
def test_lang_asks_an_export_for_another_language(pins, tmp_path, extension):
    want = expected(pins, "fr")

    response = Client().get(f"/export/ideas.{extension}", {"lang": "fr"})

    assert response.status_code == 200
    records = _records(extension, streamed(response), tmp_path)
    got = {
        int(r["id"]): tuple(None if r[k] in ("", None) else r[k] for k in NAMED) for r in records
    }
    assert got == want


def test_lang_names_the_teams_of_the_neighborhoods_layer(pins):
    def teams(**params) -> dict[str, tuple[str, str]]:
        response = Client().get("/export/neighborhoods.geojson", params)
        assert response.status_code == 200
        features = json.loads(streamed(response))["features"]
        return {f["id"]: (f["properties"]["team"], f["properties"]["team_slug"]) for f in features}

    english, french = teams(), teams(lang="fr")

    assert english["west-side"] == ("West Team", "west-team")
    assert french["west-side"] == ("Équipe Ouest", "west-team")
    assert french["east-side"] == ("Équipe Est", "east-team")
    # Not translated: the city's name stands.
    assert french["harbor"] == ("Harbor Team", "harbor-team")


def test_lang_names_the_teams_of_the_engagement_layers(pins):
    def teams(**params) -> dict[str, str]:
        response = Client().get("/export/engagement-neighborhoods.geojson", params)
        assert response.status_code == 200, response
        features = json.loads(streamed(response))["features"]
        return {f["properties"]["slug"]: f["properties"]["team"] for f in features}

    assert teams()["west-side"] == "West Team"
    assert teams(lang="fr")["west-side"] == "Équipe Ouest"
    assert teams(lang="en")["west-side"] == "West Team"


@pytest.mark.parametrize("layer", ["ideas", "neighborhoods", "engagement-neighborhoods"])
@pytest.mark.parametrize("lang", ["xx", "fr-be", "FR", "french"])
def test_an_unknown_lang_is_a_400_naming_lang(city, layer, lang):
    response = Client().get(f"/export/{layer}.geojson", {"lang": lang})

    assert response.status_code == 400
    assert list(response.json()) == ["lang"]


def test_the_400_for_lang_is_in_the_requests_language(city):
    response = Client().get("/export/ideas.csv", {"lang": "xx"}, HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 400
    # Django REST framework's own message, from its French catalog.
    assert "xx" in response.json()["lang"][0]
    assert "n'est pas un choix valide" in response.json()["lang"][0]


def test_an_empty_lang_is_the_citys_language(pins):
    response = Client().get("/export/ideas.geojson", {"lang": ""})

    assert response.status_code == 200
    assert named(json.loads(streamed(response))["features"]) == expected(pins, "en")


def test_the_planner_pages_downloads_pass_the_pages_language(planner, client):
    client.force_login(planner)

    french = client.get("/planner/", HTTP_ACCEPT_LANGUAGE="fr")
    english = client.get("/planner/", HTTP_ACCEPT_LANGUAGE="en")

    assert french.status_code == english.status_code == 200
    french_page, english_page = french.content.decode(), english.content.decode()
    for extension in export_formats.FORMATS:
        assert f'href="/export/ideas.{extension}?lang=fr"' in french_page
        assert f'href="/export/neighborhoods.{extension}?lang=fr"' in french_page
        # In the city's language the links are the exports' defaults, as they always were.
        assert f'href="/export/ideas.{extension}"' in english_page
        assert f'href="/export/neighborhoods.{extension}"' in english_page
    # The API link needs no lang=: it answers in the request's language.
    assert 'href="/api/ideas/"' in french_page
