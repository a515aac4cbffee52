"""/teams/<slug>/templates/: a team's members and planners list, create, change and delete its
response templates; everyone else is refused as from the workspace, and nothing is written."""

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.answers.services import template_save
from mapideas.models import ResponseTemplate

pytestmark = pytest.mark.django_db

LIST = "/teams/east-team/templates/"
NEW = "/teams/east-team/templates/new/"


def body(**overrides) -> dict:
    data = {
        "name": "Thanks <b>",
        "category": "",
        "status": "acknowledged",
        "texts_en": "Thank you, {team} has pin #{pin_number}.",
        "texts_fr": "",
        "texts_nl": "Dank u, {team}.",
    }
    return data | overrides


@pytest.fixture
def template(city, east_member):
    return template_save(
        team=city.east_team, actor=east_member, name="Seen", texts={"en": "Seen: {title}."}
    )


def test_a_member_creates_a_template_and_sees_it_listed(client, city, east_member, category):
    client.force_login(east_member)

    response = client.post(NEW, body(category="parks-green-space"))

    assert response.status_code == 302, response.content.decode()[:3000]
    saved = ResponseTemplate.objects.get()
    assert (saved.team, saved.category, saved.status) == (city.east_team, category, "acknowledged")
    assert saved.texts == {
        "en": "Thank you, {team} has pin #{pin_number}.",
        "nl": "Dank u, {team}.",
    }
    listed = client.get(LIST)
    assertContains(listed, "Thanks &lt;b&gt;")
    # The page says which languages fall back to the site's text.
    assertContains(listed, "Français: the text in English")


def test_the_form_lists_the_placeholders(client, city, east_member):
    client.force_login(east_member)

    response = client.get(NEW)

    for placeholder in ("{place}", "{team}", "{target_days}", "{pin_url}"):
        assertContains(response, placeholder)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"texts_fr": "Bonjour {nom}."}, "texts_fr", "{nom}"),
        ({"texts_en": "Hello {place."}, "texts_en", "brace"),
        ({"texts_en": ""}, "texts_en", "required"),
        ({"texts_nl": "x" * 5001}, "texts_nl", "5000"),
        ({"texts_nl": "bad \x07 bell"}, "texts_nl", "U+0007"),
        ({"status": "duplicate"}, "status", "valid choice"),
    ],
)
def test_a_refused_template_is_named_by_its_field_and_nothing_is_written(
    client, city, east_member, overrides, field, words
):
    client.force_login(east_member)

    response = client.post(NEW, body(**overrides))

    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index(f'id="id_{field}_error"') :][:600]
    assert words in error.replace("&#x27;", "'"), error
    assert not ResponseTemplate.objects.exists()


def test_a_member_changes_and_deletes_a_template(client, city, east_member, template):
    client.force_login(east_member)
    url = f"/teams/east-team/templates/{template.pk}/"
    assertContains(client.get(url), "Seen: {title}.")

    response = client.post(url, body(name="Seen again", status=""))

    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.status) == ("Seen again", "")

    response = client.post(f"{url}delete/")

    assert response.status_code == 302
    assert not ResponseTemplate.objects.exists()


@pytest.mark.parametrize("who", ["west_member", "citizen"])
def test_others_are_refused_and_nothing_changes(
    client, city, template, who, west_member, make_user
):
    client.force_login(west_member if who == "west_member" else make_user("cindy"))
    url = f"/teams/east-team/templates/{template.pk}/"

    assert client.get(LIST).status_code == 403
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, body()).status_code == 403
    assert client.post(url, body(name="Taken over")).status_code == 403
    assert client.post(f"{url}delete/").status_code == 403
    assert list(ResponseTemplate.objects.values_list("name", flat=True)) == ["Seen"]


def test_anonymous_people_are_sent_to_sign_in(client, city, template):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.post(f"/teams/east-team/templates/{template.pk}/delete/").status_code == 302
    assert ResponseTemplate.objects.exists()


def test_a_planner_reads_and_manages_any_teams_templates(client, city, planner, template):
    client.force_login(planner)

    assertContains(client.get(LIST), "Seen")
    assert client.post(NEW, body(name="From the planners")).status_code == 302


def test_another_teams_template_is_no_template_here(client, city, west_member, template):
    client.force_login(west_member)

    url = f"/teams/west-team/templates/{template.pk}/"

    assert client.get(url).status_code == 404
    assert client.post(f"{url}delete/").status_code == 404
    assert client.get(f"/teams/west-team/templates/{2**70}/").status_code == 404
    assert ResponseTemplate.objects.exists()


def test_the_workspace_links_to_the_templates(client, city, east_member, make_user):
    client.force_login(east_member)
    assertContains(client.get("/teams/east-team/"), LIST)
    client.force_login(make_user("cindy"))
    assertNotContains(client.get("/teams/east-team/"), LIST, status_code=403)
