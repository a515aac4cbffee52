"""Comments on a pin's page: signed-in people only, escaped, signed with a neutral label (the
team's name for staff replies), never a name or an email; moderators hide them with a
reason."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.models import COMMENT_MAX_LENGTH, Comment, Idea
from mapideas.participation.services import comment_add, comment_hide
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

NAME = "zq-commenter-5521"
EMAIL = "zq-commenter-5521@mail.example"


@pytest.fixture
def idea(city, category) -> Idea:
    return idea_create(kind="idea", title="More benches", category=category, location=IN_EAST)


@pytest.fixture
def citizen(make_user):
    user = make_user(NAME)
    user.email = EMAIL
    user.first_name, user.last_name = "Zoe", "Quist"
    user.save()
    return user


def test_a_signed_in_person_comments_under_a_neutral_label(client, idea, citizen):
    client.force_login(citizen)

    response = client.post(f"/ideas/{idea.pk}/comments/", {"text": "Yes, by the pond!"})

    assert response.status_code == 302
    (comment,) = Comment.objects.all()
    assert (comment.author, comment.team) == (citizen, None)
    page = Client().get(f"/ideas/{idea.pk}/")
    assertContains(page, "Yes, by the pond!")
    assertContains(page, comment.public_author)
    assert comment.public_author.startswith("Citizen #")
    for private in (NAME, EMAIL, "Quist"):
        assertNotContains(page, private)


def test_the_label_is_stable_on_a_pin_and_differs_across_pins(idea, category, citizen):
    other = idea_create(kind="idea", title="Swings", category=category, location=IN_EAST)
    one = comment_add(idea=idea, author=citizen, text="a")
    two = comment_add(idea=idea, author=citizen, text="b")
    three = comment_add(idea=other, author=citizen, text="c")

    assert one.public_author == two.public_author
    assert one.public_author != three.public_author


def test_anonymous_commenting_is_off(idea):
    page = Client().get(f"/ideas/{idea.pk}/")
    assertContains(page, "anonymous commenting is off")
    assertNotContains(page, 'id="comment-form"')

    response = Client().post(f"/ideas/{idea.pk}/comments/", {"text": "Hello"})

    assert response.status_code == 403
    assert not Comment.objects.exists()
    with pytest.raises(PermissionDenied):
        comment_add(idea=idea, author=None, text="Hello")


def test_comments_are_escaped(client, idea, citizen):
    client.force_login(citizen)
    client.post(f"/ideas/{idea.pk}/comments/", {"text": '<script>alert("c")</script>'})

    page = Client().get(f"/ideas/{idea.pk}/")

    assert '<script>alert("c")' not in page.content.decode()
    assertContains(page, "&lt;script&gt;alert(&quot;c&quot;)&lt;/script&gt;")


def test_too_long_or_empty_comments_are_refused(client, idea, citizen):
    client.force_login(citizen)

    long = client.post(f"/ideas/{idea.pk}/comments/", {"text": "x" * (COMMENT_MAX_LENGTH + 1)})
    empty = client.post(f"/ideas/{idea.pk}/comments/", {"text": "   "})

    assert (long.status_code, empty.status_code) == (400, 400)
    assertContains(long, f"at most {COMMENT_MAX_LENGTH} characters", status_code=400)
    assert not Comment.objects.exists()
    with pytest.raises(ValidationError):
        comment_add(idea=idea, author=citizen, text="x" * (COMMENT_MAX_LENGTH + 1))


def test_a_staff_reply_is_signed_by_the_team(idea, east_member):
    comment = comment_add(idea=idea, author=east_member, text="We will look at it.")

    page = Client().get(f"/ideas/{idea.pk}/")

    assert comment.public_author == "East Team"
    assertContains(page, '<strong class="comment-author">East Team</strong>', html=True)
    assertNotContains(page, east_member.username)


def test_the_pin_team_hides_a_comment_with_a_reason(client, idea, citizen, east_member):
    comment = comment_add(idea=idea, author=citizen, text="Rude words here")
    client.force_login(east_member)

    response = client.post(
        f"/ideas/{idea.pk}/comments/{comment.pk}/hide/", {"reason": "Insults are not allowed."}
    )

    assert response.status_code == 302
    page = Client().get(f"/ideas/{idea.pk}/")
    assertNotContains(page, "Rude words here")
    assertContains(page, "A comment was hidden by moderators: Insults are not allowed.")
    comment.refresh_from_db()
    assert comment.hidden_by == east_member


def test_a_reason_is_required_to_hide(client, idea, citizen, east_member):
    comment = comment_add(idea=idea, author=citizen, text="Hm")
    client.force_login(east_member)

    response = client.post(f"/ideas/{idea.pk}/comments/{comment.pk}/hide/", {"reason": " "})

    assert response.status_code == 400
    comment.refresh_from_db()
    assert not comment.is_hidden


def test_planners_and_admins_may_hide_others_may_not(
    client, idea, citizen, west_member, planner, make_user
):
    comment = comment_add(idea=idea, author=citizen, text="Hm")
    for person in (citizen, west_member, make_user("other-citizen")):
        client.force_login(person)
        response = client.post(
            f"/ideas/{idea.pk}/comments/{comment.pk}/hide/", {"reason": "Because"}
        )
        assert response.status_code == 403
        with pytest.raises(PermissionDenied):
            comment_hide(comment=comment, reason="Because", actor=person)
    assert (
        Client()
        .post(f"/ideas/{idea.pk}/comments/{comment.pk}/hide/", {"reason": "Because"})
        .status_code
        == 403
    )
    comment.refresh_from_db()
    assert not comment.is_hidden

    comment_hide(comment=comment, reason="Off topic.", actor=planner)
    comment.refresh_from_db()
    assert comment.is_hidden


def test_only_moderators_see_the_hide_buttons(client, idea, citizen, east_member):
    comment_add(idea=idea, author=citizen, text="Hm")
    url = f"/ideas/{idea.pk}/"

    assertNotContains(Client().get(url), "hide-form")
    client.force_login(citizen)
    assertNotContains(client.get(url), "hide-form")
    client.force_login(east_member)
    assertContains(client.get(url), "hide-form")


def test_a_comment_of_another_pin_cannot_be_hidden_through_this_one(
    client, idea, category, citizen, east_member
):
    other = idea_create(kind="idea", title="Swings", category=category, location=IN_EAST)
    comment = comment_add(idea=other, author=citizen, text="Hm")
    client.force_login(east_member)

    response = client.post(f"/ideas/{idea.pk}/comments/{comment.pk}/hide/", {"reason": "x"})

    assert response.status_code == 404
