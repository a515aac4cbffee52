"""Open311's XML stays well-formed whatever text was stored before MapIdeas refused what it
cannot store (docs/decisions/0016-stored-text.md), and whatever a client puts in a query."""

import pytest
from django.db import connection

from mapideas.models import Category, Idea
from mapideas.submission.services import idea_create
from neighborhoods.models import Team
from tests.conftest import IN_EAST
from tests.mapideas.open311.open311_support import get, xml

pytestmark = pytest.mark.django_db


def hostile_text() -> str:
    controls = "".join(chr(c) for c in range(0x20)) + "".join(chr(c) for c in range(0x7F, 0xA0))
    if connection.vendor == "postgresql":
        # PostgreSQL's text cannot hold NUL at all, not even as old data.
        controls = controls.replace("\x00", "")
    return f"start {controls}\ufdd0\ufffe\uffff\U0001ffff end"


@pytest.fixture
def old_pin(city, category):
    bad = hostile_text()
    idea = idea_create(kind="issue", title="Hostile pin", category=category, location=IN_EAST)
    Idea.objects.filter(pk=idea.pk).update(title=bad, description=bad, answer=bad)
    Category.objects.filter(pk=category.pk).update(name=f"Parks {bad}")
    Team.objects.filter(pk=city.east_team.pk).update(name=f"East Team {bad}")
    return idea


@pytest.mark.parametrize(
    "path", ["requests", "services", "requests/{pk}", "services/parks-green-space", "discovery"]
)
def test_every_xml_answer_parses(old_pin, path):
    response = get(path.format(pk=old_pin.pk), "xml")

    assert response.status_code == 200, response.content[:300]
    root = xml(response)
    texts = "".join(root.itertext())
    assert "\uffff" not in texts and "\x01" not in texts


def test_the_descriptions_keep_what_xml_can_carry(old_pin):
    root = xml(get("requests", "xml"))

    description = root.findtext("request/description")
    assert description.startswith("start ") and description.endswith(" end")
    assert "\t\n" in description  # tab and newline are text


def test_an_error_echoing_a_query_parses(city):
    response = get("requests", "xml", service_code="parks\x01\uffff", status="open\x1b")

    assert 400 <= response.status_code < 500 or response.status_code == 200
    xml(response)
