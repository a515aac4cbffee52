"""GET /api/categories/: every category as {slug, name}, in the admin's order."""

import pytest
from rest_framework.test import APIClient

from mapideas.models import Category

pytestmark = pytest.mark.django_db

URL = "/api/categories/"


def test_it_lists_the_default_categories_as_slug_and_name():
    response = APIClient().get(URL)

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert {"slug": "parks-green-space", "name": "Parks and green space"} in body
    assert all(set(item) == {"slug", "name"} for item in body)
    assert len(body) == Category.objects.count()


def test_it_lists_categories_by_position_then_name():
    Category.objects.update(position=5)
    Category.objects.create(slug="zebra-crossings", name="Zebra crossings", position=1)

    names = [item["name"] for item in APIClient().get(URL).json()]

    assert names[0] == "Zebra crossings"
    assert names[1:] == sorted(names[1:])


def test_it_shows_a_category_added_in_the_admin():
    Category.objects.create(slug="noise", name="Noise", position=99)

    body = APIClient().get(URL).json()

    assert body[-1] == {"slug": "noise", "name": "Noise"}


def test_it_refuses_to_create_a_category():
    response = APIClient().post(URL, {"slug": "x", "name": "X"}, format="json")

    assert response.status_code == 405
    assert not Category.objects.filter(slug="x").exists()
