"""Boundary versions in the admin: to read, never to edit (imports and activation do that)."""

import pytest
from django.contrib.auth import get_user_model
from pytest_django.asserts import assertContains, assertNotContains

from neighborhoods.models import BoundaryVersion

pytestmark = pytest.mark.django_db

URL = "/admin/neighborhoods/boundaryversion/"


@pytest.fixture
def admin_client_(client, db):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(root)
    return client


def test_it_lists_versions_with_their_counts(admin_client_, city):
    response = admin_client_.get(URL)

    assert response.status_code == 200
    assertContains(response, "test city")
    assertContains(response, '<td class="field-neighborhood_count">4</td>', html=True)
    assertContains(response, '<td class="field-team_count">3</td>', html=True)


def test_it_shows_a_version_read_only_without_a_map_widget(admin_client_, city):
    version = BoundaryVersion.objects.get(is_active=True)
    BoundaryVersion.objects.filter(pk=version.pk).update(report="Repaired: West Side.")

    response = admin_client_.get(f"{URL}{version.pk}/change/")

    assert response.status_code == 200
    assertContains(response, "Repaired: West Side.")
    assertNotContains(response, "<textarea")
    assertNotContains(response, 'type="submit" value="Save"')
    assertNotContains(response, "service_area")
    assert "openlayers" not in response.content.decode().lower()


def test_it_cannot_add_change_or_delete_a_version(admin_client_, city):
    version = BoundaryVersion.objects.get(is_active=True)

    assert admin_client_.get(f"{URL}add/").status_code == 403
    assert admin_client_.post(f"{URL}{version.pk}/change/", {"label": "x"}).status_code == 403
    assert admin_client_.get(f"{URL}{version.pk}/delete/").status_code == 403
    version.refresh_from_db()
    assert version.label == "test city"
