"""Shared by the tests/mapideas/test_open311_*.py files: a key, a form POST, XML reading."""

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from django.contrib.gis.geos import Point
from django.test import Client

from tests.conftest import IN_EAST

ROOT = "/open311/v2"


def form(key: str | None, point: Point = IN_EAST, **fields) -> dict:
    """A POST requests body as the spec's example sends it (lat/long, service_code, …)."""
    data = {
        "service_code": "streets-sidewalks",
        "lat": point.y,
        "long": point.x,
        "description": "Deep pothole\nin front of the bakery, since Monday.",
    }
    if key is not None:
        data["api_key"] = key
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def post(data: dict, fmt: str = "json"):
    """POST requests.{fmt}, form-encoded as the spec says."""
    return Client().post(
        f"{ROOT}/requests.{fmt}",
        urlencode(data, doseq=True),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )


def get(path: str, fmt: str = "json", **params):
    return Client().get(f"{ROOT}/{path}.{fmt}", params)


def xml(response) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 (our own response, not untrusted)


def errors(response, status: int) -> list[str]:
    """The descriptions of a spec error list (JSON or XML), checking its shape and codes."""
    assert response.status_code == status, response.content
    if response["Content-Type"].startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        items = [(int(e.findtext("code")), e.findtext("description")) for e in root]
        assert all(error.tag == "error" for error in root)
    else:
        assert response["Content-Type"].startswith("application/json")
        items = [(e["code"], e["description"]) for e in response.json()]
    assert items, "an error response lists at least one error"
    assert all(code == status for code, _ in items)
    return [description for _, description in items]
