"""The OpenAPI schema at /api/schema/ is generated from the code and covers every endpoint."""

from pathlib import Path

import pytest
from django.db import connection
from django.urls import get_resolver
from drf_spectacular.validation import validate_schema
from rest_framework.views import APIView


def api_view_paths() -> set[str]:
    """Every URL pattern served by a DRF view, as the schema spells its path."""
    paths = set()

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is None or not issubclass(view_class, APIView):
                continue
            if view_class.__module__.startswith("drf_spectacular"):
                continue
            paths.add(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    return paths


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_documents_every_api_view(schema):
    documented = {path.lstrip("/") for path in schema["paths"]}
    served = api_view_paths()
    assert served, "no API views found: the walk over the URL patterns is broken"
    # Path converters differ in spelling (`<int:id>` vs `{id}`); compare up to the first one.
    missing = {
        path
        for path in served
        if not any(doc.split("{")[0] == path.split("<")[0].split("(")[0] for doc in documented)
    }
    assert not missing, f"served but not in the schema: {sorted(missing)}"


def test_no_response_carries_personal_fields(schema):
    personal = {"author", "email", "ip", "name_of_author", "contact_email", "user"}
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            continue  # what a client may send (an Open311 email, say) is not what we show
        properties = set(component.get("properties", {}))
        properties |= set(
            component.get("properties", {}).get("properties", {}).get("properties", {})
        )
        assert not properties & personal, f"{name} exposes {properties & personal}"


def test_the_docs_page_uses_local_swagger_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page


def test_the_schema_is_the_published_one_byte_for_byte(client):
    """docs/api/openapi.json is the contract clients build against: a change to the API shows
    up here first, and is made on purpose (regenerate the file with the command below).

    One difference comes from the database: a positive integer column (a neighborhood's
    population) is 32-bit on PostgreSQL and 64-bit on SQLite, and DRF states its column's
    maximum. PostGIS is the production truth (openapi.json); SpatiaLite's copy says the same
    but for that bound (openapi-spatialite.json).
    """
    name = "openapi-spatialite.json" if connection.vendor == "sqlite" else "openapi.json"
    published = Path(__file__).resolve().parents[2] / "docs" / "api" / name
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    # The command ends the file with a newline; the view does not.
    assert response.content == published.read_bytes().removesuffix(b"\n"), (
        f"the OpenAPI schema changed; if that is intended, regenerate docs/api/{name} with "
        f"`python manage.py spectacular --format openapi-json --file docs/api/{name}` "
        "on that database"
    )
