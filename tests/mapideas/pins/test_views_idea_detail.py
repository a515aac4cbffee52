"""`/ideas/<id>/`: a pin's public page."""

import pytest
from django.contrib.auth import get_user_model
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.models import Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, ON_ISLAND

pytestmark = pytest.mark.django_db


def test_it_shows_the_team_the_neighborhood_and_the_status(client, city, category):
    idea = idea_create(
        kind="issue",
        title="Ferry shelter leaks",
        description="Drips on the bench.\nEvery time it rains.",
        category=category,
        location=ON_ISLAND,
    )
    Idea.objects.filter(pk=idea.pk).update(status=Idea.Status.IN_PROGRESS)

    response = client.get(f"/ideas/{idea.pk}/")

    assert response.status_code == 200
    assertContains(response, "<h1>Ferry shelter leaks</h1>", html=True)
    assertContains(response, '<dd id="idea-team">Harbor Team</dd>', html=True)
    assertContains(response, '<dd id="idea-neighborhood">Harbor</dd>', html=True)
    assertContains(response, '<dd class="status status-in_progress">In progress</dd>', html=True)
    assertContains(response, "Issue · Parks and green space")
    assertContains(response, "<p>Drips on the bench.<br>Every time it rains.</p>", html=True)
    # The map opens on the pin, inside the outline of its neighborhood only.
    assertContains(response, f'data-focus-lat="{ON_ISLAND.y:.6f}"')
    assertContains(response, f'data-focus-lon="{ON_ISLAND.x:.6f}"')
    assertContains(response, '"name": "Harbor"')
    assertNotContains(response, '"name": "East Side"')


def test_it_says_how_the_input_reached_the_city_and_where_it_was_gathered(client, city, category):
    web = idea_create(kind="idea", title="Online", category=category, location=IN_EAST)
    met = idea_create(
        kind="idea",
        title="From the town hall",
        category=category,
        location=IN_EAST,
        channel=Idea.Channel.MEETING,
        event_name="Town hall, 3 March",
        contact_name="Rosa Parks",
        contact_phone="+1 555 0100",
    )

    online = client.get(f"/ideas/{web.pk}/")
    offline = client.get(f"/ideas/{met.pk}/")

    assertContains(online, '<dd id="idea-channel">Web map</dd>', html=True)
    assertNotContains(online, 'id="idea-event"')
    assertContains(offline, '<dd id="idea-channel">Meeting or workshop</dd>', html=True)
    assertContains(
        offline, '<dd id="idea-event">Town hall, 3 March (meeting or workshop)</dd>', html=True
    )
    # The resident's contact is for staff only.
    assertNotContains(offline, "Rosa Parks")
    assertNotContains(offline, "555 0100")


def test_it_is_404_for_an_unknown_idea(client, city):
    assert client.get("/ideas/999999/").status_code == 404


def test_it_escapes_html_in_what_people_typed(client, city, category):
    idea = idea_create(
        kind="idea",
        title='<script>alert("title")</script>',
        description='<img src=x onerror="alert(1)">',
        category=category,
        location=IN_EAST,
    )

    response = client.get(f"/ideas/{idea.pk}/")

    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;") == 2  # h1, title
    assertContains(response, "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;")


def test_it_never_shows_who_pinned_it(client, city, category):
    author = get_user_model().objects.create(username="zq-author-5521", email="zq@mail.example")
    idea = idea_create(
        kind="idea", title="Bench", category=category, location=IN_EAST, author=author
    )

    response = client.get(f"/ideas/{idea.pk}/")

    assertNotContains(response, "zq-author-5521")
    assertNotContains(response, "zq@mail.example")
