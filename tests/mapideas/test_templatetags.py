"""The template tags of mapideas/templatetags/mapideas_tags.py: {% page_vocabulary %}, the
status words and category names the scripts read (mapideas/vocabulary.js)."""

import json
import re

import pytest
from django.template import engines
from django.test import Client
from django.utils import translation

from mapideas.models import Category, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(
    r'\A<script id="page-vocabulary" type="application/json">(?P<data>.*)</script>\Z', re.DOTALL
)
PAYLOAD = "</script><script>alert(1)</script>"


def render_vocabulary() -> str:
    return engines["django"].from_string("{% load mapideas_tags %}{% page_vocabulary %}").render()


def words_in(markup: str) -> dict:
    found = SCRIPT.match(markup)
    assert found, markup
    return json.loads(found["data"])


def test_the_status_words_are_the_labels_in_the_pages_language():
    with translation.override("fr"):
        words = words_in(render_vocabulary())
        labels = {status.value: str(status.label) for status in Idea.Status}

    assert words["statuses"] == labels
    assert words["statuses"]["under_review"] == "En cours d'examen"


def test_the_categories_are_named_in_the_pages_language(category):
    with translation.override("nl"):
        words = words_in(render_vocabulary())

    assert words["categories"][category.slug] == "Parken en groen"
    assert set(words["categories"]) == set(Category.objects.values_list("slug", flat=True))


def test_a_category_name_cannot_end_the_script_element():
    Category.objects.create(
        slug="hostile", name=PAYLOAD, name_translations={"fr": "Parcs " + PAYLOAD + " & <b>"}
    )
    for language, name in (("en", PAYLOAD), ("fr", "Parcs " + PAYLOAD + " & <b>")):
        with translation.override(language):
            markup = render_vocabulary()

        # One element, closed once, at the end: the name's </script> and <script> are
        # escaped JSON (\u003C...), which a browser never reads as a tag.
        assert markup.count("<script") == 1 and markup.count("</script>") == 1
        assert "alert(1)</script>" not in markup and "<b>" not in markup
        # ...and the script reading it gets the name back, as text.
        assert words_in(markup)["categories"]["hostile"] == name


def test_the_pages_with_maps_give_the_scripts_their_vocabulary_first(city, category):
    idea = idea_create(kind="idea", title="A bench", category=category, location=IN_EAST)
    for path in ("/", idea.get_absolute_url()):
        page = Client(HTTP_ACCEPT_LANGUAGE="fr").get(path).content.decode()

        order = [
            page.index('id="page-vocabulary"'),
            page.index("mapideas/vocabulary.js"),
            page.index("mapideas/api.js"),
            page.index("mapideas/pin-map.js"),
        ]
        assert order == sorted(order), path
        found = re.search(r'<script id="page-vocabulary"[^>]*>.*?</script>', page, re.DOTALL)
        assert found is not None
        words = words_in(found[0])
        assert words["statuses"]["new"] == "Nouveau"
        assert words["categories"][category.slug] == "Parcs et espaces verts"
