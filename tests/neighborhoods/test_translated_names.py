"""Team and category names in the visitor's language: staff's translation, else the name."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from mapideas.models import Category
from neighborhoods.models import Team
from neighborhoods.translated_names import clean_translations, translated_name

pytestmark = pytest.mark.django_db


def test_the_active_language_picks_the_translation():
    names = {"fr": "Équipe Est", "nl": "Team Oost"}
    with translation.override("fr"):
        assert translated_name("East Team", names) == "Équipe Est"
    with translation.override("nl"):
        assert translated_name("East Team", names) == "Team Oost"
    with translation.override("en"):
        assert translated_name("East Team", names) == "East Team"


@pytest.mark.parametrize("stored", [None, {}, {"fr": ""}, {"fr": "   "}, {"nl": "Team Oost"}])
def test_a_missing_translation_falls_back_to_the_name(stored):
    with translation.override("fr"):
        assert translated_name("East Team", stored) == "East Team"


def test_a_regional_variant_uses_its_language():
    assert translated_name("East Team", {"fr": "Équipe Est"}, language="fr-BE") == "Équipe Est"


def test_translations_are_cleaned_before_they_are_stored():
    assert clean_translations({"fr": "  Équipe Est ", "nl": ""}) == {"fr": "Équipe Est"}
    assert clean_translations(None) == {}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"de": "Team Ost"}, "is not one of the site's other languages"),
        ({"fr": 3}, "must be text"),
        ({"fr": "x" * 201}, "longer than 200"),
        (["fr", "Équipe"], "must be an object"),
    ],
)
def test_bad_translations_are_refused_with_the_reason(value, reason):
    with pytest.raises(ValidationError, match=reason):
        clean_translations(value)


def test_a_team_and_a_category_show_their_translated_names(city, category):
    city.east_team.name_translations = {"fr": "Équipe Est"}
    city.east_team.save()
    category.name_translations = {"fr": "Bancs publics"}
    category.save()
    team = Team.objects.get(pk=city.east_team.pk)
    category = Category.objects.get(pk=category.pk)
    with translation.override("fr"):
        assert team.display_name == "Équipe Est"
        assert category.display_name == str(category) == "Bancs publics"
    assert team.display_name == team.name == "East Team"


def test_staff_translate_a_team_name_in_the_admin(city):
    admin = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client = Client()
    client.force_login(admin)
    team = city.east_team
    url = f"/admin/neighborhoods/team/{team.pk}/change/"
    page = client.get(url)
    assert "Name (Français)" in page.text and "Name (Nederlands)" in page.text

    form = {
        "name": team.name,
        "slug": team.slug,
        "response_target_days": 5,
        "notify": "none",
        "notify_email": "",
        # The team's settings of "Is it fixed?" and reopening, as the page shows them.
        "fix_check_days": 7,
        "reopen_threshold": 3,
        "reopen_window_days": 30,
        # The team's working week (its calendar), Monday to Friday.
        "working_weekdays": "1111100",
        "name_fr": " Équipe Est ",
        "name_nl": "",
    }
    response = client.post(url, form)

    assert response.status_code == 302, response.text[-2000:]
    team.refresh_from_db()
    assert team.name_translations == {"fr": "Équipe Est"}


def test_the_starting_categories_come_in_every_language():
    parks = Category.objects.get(slug="parks-green-space")
    assert parks.name == "Parks and green space"
    with translation.override("fr"):
        assert parks.display_name == "Parcs et espaces verts"
    with translation.override("nl"):
        assert parks.display_name == "Parken en groen"
