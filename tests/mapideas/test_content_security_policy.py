"""Every page is served under a Content-Security-Policy that runs only the scripts this site
wrote: files from the site itself, or inline scripts carrying the page's nonce."""

import re

import pytest
from django.test import Client

from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def nonce_of(response) -> str | None:
    """The page's nonce; None when the page has no inline script to allow."""
    nonces = [v for v in directives(response)["script-src"] if v.startswith("'nonce-")]
    assert len(nonces) <= 1
    return nonces[0].removeprefix("'nonce-").removesuffix("'") if nonces else None


@pytest.fixture
def pages(city, category):
    idea = idea_create(kind="idea", title="A bench", category=category, location=IN_EAST)
    return [
        "/",
        idea.get_absolute_url(),
        "/planner/",
        "/ogc/collections/ideas/items?f=html",
        "/admin/login/",
        "/accounts/login/",
    ]


def test_scripts_may_come_only_from_the_site_or_carry_the_pages_nonce(pages, planner):
    client = Client()
    client.force_login(planner)
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = directives(response)
        assert policy["script-src"][0] == "'self'"
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        nonce = nonce_of(response)
        for attributes in SCRIPT_TAG.findall(response.content.decode()):
            # Every script is a file of this site, an inline script with the nonce, or data
            # (json_script: a browser never runs application/json).
            with_nonce = nonce is not None and f'nonce="{nonce}"' in attributes
            data = 'type="application/json"' in attributes
            assert "src=" in attributes or with_nonce or data, (path, attributes)


def test_each_response_has_a_fresh_nonce(pages):
    first, second = Client().get("/"), Client().get("/")

    assert None is not nonce_of(first) != nonce_of(second)


def test_the_api_docs_start_swagger_from_a_file_not_an_inline_script(db):
    page = Client().get("/api/docs/")

    assert page.status_code == 200
    tags = SCRIPT_TAG.findall(page.content.decode())
    assert tags and all("src=" in attributes for attributes in tags)
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
