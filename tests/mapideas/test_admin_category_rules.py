"""Category rules in the admin: a category picked from those that exist, neighborhoods named by
slugs of the active boundary version."""

import pytest
from django.contrib.auth import get_user_model
from pytest_django.asserts import assertContains

from mapideas.admin import CategoryRuleForm
from mapideas.models import Category
from neighborhoods.models import CategoryRule, Team
from neighborhoods.routing import route
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/neighborhoods/categoryrule/add/"


@pytest.fixture
def admin_client_(client, db):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(root)
    return client


def form(city, **data) -> CategoryRuleForm:
    fields = {"category": "parks-green-space", "team": city.harbor_team.pk}
    fields.update(data)
    return CategoryRuleForm(data=fields)


def test_it_offers_the_existing_categories_by_slug(city):
    Category.objects.create(slug="noise", name="Noise")

    choices = dict(CategoryRuleForm().fields["category"].choices)

    assert set(choices) == {""} | set(Category.objects.values_list("slug", flat=True))
    assert choices["noise"] == "Noise (noise)"


def test_it_refuses_a_category_that_does_not_exist(city):
    given = form(city, category="parks")

    assert not given.is_valid()
    assert list(given.errors) == ["category"]


def test_it_accepts_a_city_wide_rule(city):
    given = form(city, neighborhood_slugs="")

    assert given.is_valid(), given.errors
    rule = given.save()
    assert rule.slugs == []


def test_it_accepts_slugs_of_the_active_version_and_keeps_one_per_line(city):
    given = form(city, neighborhood_slugs=" east-side, west-side\n\nenclave,east-side ")

    assert given.is_valid(), given.errors
    rule = given.save()
    assert rule.neighborhood_slugs == "east-side\nwest-side\nenclave"


def test_it_names_every_unknown_slug(city):
    given = form(city, neighborhood_slugs="east-side, eastside\nOld Town, west-side")

    assert not given.is_valid()
    (message,) = given.errors["neighborhood_slugs"]
    assert "eastside, Old Town" in message
    assert "test city" in message  # the active version it checked against
    assert "east-side," not in message


def test_it_refuses_slugs_when_no_boundaries_are_active(db):
    team = Team.objects.create(name="Parks Team", slug="parks-team")
    given = CategoryRuleForm(
        data={"category": "parks-green-space", "team": team.pk, "neighborhood_slugs": "harbor"}
    )

    assert not given.is_valid()
    assert "No boundary version is active" in given.errors["neighborhood_slugs"][0]


def test_it_adds_a_rule_in_the_admin_that_routes_the_next_pin(admin_client_, city, category):
    page = admin_client_.get(ADD_URL)
    assertContains(page, '<option value="parks-green-space">', status_code=200)

    response = admin_client_.post(
        ADD_URL,
        {
            "category": category.slug,
            "team": city.harbor_team.pk,
            "neighborhood_slugs": "east-side",
            "note": "Harbor crew mows the east parks.",
        },
    )

    assert response.status_code == 302
    rule = CategoryRule.objects.get()
    assert (rule.category, rule.team, rule.slugs) == (
        category.slug,
        city.harbor_team,
        ["east-side"],
    )
    assert route(IN_EAST, category.slug).team == city.harbor_team


def test_it_shows_the_unknown_slugs_on_the_admin_page(admin_client_, city, category):
    response = admin_client_.post(
        ADD_URL,
        {"category": category.slug, "team": city.harbor_team.pk, "neighborhood_slugs": "docks"},
    )

    assertContains(response, "docks", status_code=200)
    assertContains(response, "Not a neighborhood of the active boundary version")
    assert not CategoryRule.objects.exists()


def test_it_lists_rules_with_where_they_apply(admin_client_, city, category):
    CategoryRule.objects.create(category=category.slug, team=city.harbor_team)
    CategoryRule.objects.create(
        category="streets-sidewalks", team=city.east_team, neighborhood_slugs="harbor\nenclave"
    )

    response = admin_client_.get("/admin/neighborhoods/categoryrule/")

    assertContains(response, "city-wide")
    assertContains(response, "harbor, enclave")
