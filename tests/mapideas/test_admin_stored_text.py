"""The admin's text boxes keep the stored-text rule (mapideas.plumbing.stored_text) for every
model, whichever app registered its admin: staff type names that every page, export and XML
answer then carries."""

import pytest
from django.contrib.auth import get_user_model
from pytest_django.asserts import assertContains

from mapideas.models import Category
from neighborhoods.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(root)
    return client


def test_a_team_name_that_cannot_be_stored_is_refused_in_the_admin(staff_client):
    response = staff_client.post(
        "/admin/neighborhoods/team/add/",
        {
            "name": "Harbor\uffff Team",
            "slug": "harbor",
            "response_target_days": 10,
            "notify": "none",
        },
    )

    assert response.status_code == 200
    assertContains(response, "contains a character that cannot be stored (U+FFFF)")
    assert not Team.objects.filter(slug="harbor").exists()


def test_a_category_name_or_its_translation_that_cannot_be_stored_is_refused(staff_client):
    for name, name_fr in (("Noise\x07", "Bruit"), ("Noise", "Bruit\ufdd0")):
        response = staff_client.post(
            "/admin/mapideas/category/add/",
            {"name": name, "name_fr": name_fr, "slug": "noise", "position": 5},
        )

        assert response.status_code == 200
        assertContains(response, "contains a character that cannot be stored")
        assert not Category.objects.filter(slug="noise").exists()


def test_a_plain_name_is_still_accepted(staff_client):
    response = staff_client.post(
        "/admin/mapideas/category/add/",
        {"name": "Noise", "name_fr": "Bruit", "slug": "noise", "position": 5},
    )

    assert response.status_code == 302, response.content
    assert Category.objects.get(slug="noise").name == "Noise"
