"""Following a pin and the emails it brings: authors and followers are told of every status
change and public answer (an outbox row per follower, written with the change); anonymous
people follow with an email address they confirm first; every email can be stopped in one
click, without logging in."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from pytest_django.asserts import assertContains

from mapideas.models import EmailOutbox, Follower, Idea
from mapideas.notifications import services as notifications
from mapideas.participation.services import follow, follow_confirm, unfollow
from mapideas.plumbing.tokens import id_from_token
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_mark_duplicate, idea_status_change, ideas_bulk_update
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db
S = Idea.Status
ADDRESS = "zq-follower-4410@mail.example"


@pytest.fixture
def author(make_user):
    user = make_user("zq-author-4410")
    user.email = "zq-author-4410@mail.example"
    user.save()
    return user


@pytest.fixture
def idea(city, category, author) -> Idea:
    return idea_create(
        kind="issue", title="Broken swing", category=category, location=IN_EAST, author=author
    )


def link_in(body: str, marker: str) -> str:
    (line,) = [line for line in body.splitlines() if marker in line]
    return line.split(marker, 1)[1].strip().split()[-1]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_the_author_follows_their_pin_and_hears_of_each_change(idea, author, east_member):
    assert Follower.objects.filter(idea=idea, user=author, confirmed_at__isnull=False).exists()

    idea_status_change(idea=idea, status=S.PLANNED, answer="Next spring.", actor=east_member)
    idea_status_change(idea=idea, status=S.PLANNED, answer="Parts ordered.", actor=east_member)

    first, second = EmailOutbox.objects.order_by("pk")
    assert first.to == author.email
    assert first.subject == f"Pin #{idea.pk} “Broken swing”: status: Planned"
    assert "East Team set the status" in first.body
    assert "Next spring." in first.body
    assert second.subject == f"Pin #{idea.pk} “Broken swing”: East Team answered"
    assert "Stop following it (one click, no login): http" in first.body
    assert first.unsubscribe_url in first.body
    assert first.sent_at is None  # sent later, by send_notifications
    assert east_member.username not in first.body


def test_an_author_without_email_follows_nothing(city, category, make_user):
    idea = idea_create(
        kind="issue", title="x", category=category, location=IN_EAST, author=make_user("noemail")
    )
    assert not Follower.objects.filter(idea=idea).exists()


def test_user_text_cannot_break_the_subject_line(city, category, author, east_member):
    idea = idea_create(
        kind="issue",
        title="Swing\r\nBcc: victim@mail.example",
        category=category,
        location=IN_EAST,
        author=author,
    )
    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=east_member)

    (row,) = EmailOutbox.objects.all()
    assert "\n" not in row.subject and "\r" not in row.subject
    assert "Swing Bcc: victim@mail.example" in row.subject


def test_a_signed_in_person_follows_and_unfollows_on_the_page(client, idea, make_user, east_member):
    dora = make_user("dora")
    dora.email = "dora@mail.example"
    dora.save()
    client.force_login(dora)

    assert client.post(f"/ideas/{idea.pk}/follow/").status_code == 302
    assert client.post(f"/ideas/{idea.pk}/follow/").status_code == 302
    assert Follower.objects.filter(idea=idea, user=dora).count() == 1
    assertContains(client.get(f"/ideas/{idea.pk}/"), 'id="unfollow-form"')
    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=east_member)
    assert set(EmailOutbox.objects.values_list("to", flat=True)) == {
        "dora@mail.example",
        "zq-author-4410@mail.example",
    }

    assert client.post(f"/ideas/{idea.pk}/unfollow/").status_code == 302
    assert not Follower.objects.filter(idea=idea, user=dora).exists()


def test_anonymous_people_confirm_their_address_before_any_email(idea, east_member):
    browser = Client()

    response = browser.post(f"/ideas/{idea.pk}/follow/", {"email": ADDRESS})

    assert response.status_code == 302
    follower = Follower.objects.get(email=ADDRESS)
    assert follower.confirmed_at is None
    (confirmation,) = EmailOutbox.objects.filter(to=ADDRESS)
    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=east_member)
    assert EmailOutbox.objects.filter(to=ADDRESS).count() == 1  # only the confirmation

    confirm_path = path_of(link_in(confirmation.body, "within 7 days:"))
    assert browser.get(confirm_path).status_code == 200  # a page with a button, no change
    follower.refresh_from_db()
    assert follower.confirmed_at is None
    assert browser.post(confirm_path).status_code == 302
    follower.refresh_from_db()
    assert follower.confirmed_at is not None

    idea_status_change(idea=idea, status=S.PLANNED, answer="Soon.", actor=east_member)
    assert EmailOutbox.objects.filter(to=ADDRESS).count() == 2


def test_following_again_sends_no_second_confirmation_the_same_day(idea):
    follow(idea=idea, email=ADDRESS)
    follow(idea=idea, email=ADDRESS)

    assert Follower.objects.filter(email=ADDRESS).count() == 1
    assert EmailOutbox.objects.filter(to=ADDRESS).count() == 1


def test_a_bad_email_or_link_is_refused(idea):
    response = Client().post(f"/ideas/{idea.pk}/follow/", {"email": "not an address"})
    assert response.status_code == 400
    assert not Follower.objects.filter(user__isnull=True).exists()

    assert Client().post("/follow/confirm/forged:token/").status_code == 400
    assert follow_confirm(token="forged") is None


def test_the_one_click_link_unfollows_without_login_or_csrf(idea, author, east_member):
    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=east_member)
    (row,) = EmailOutbox.objects.all()
    browser = Client(enforce_csrf_checks=True)

    assert browser.get(path_of(row.unsubscribe_url)).status_code == 200
    assert Follower.objects.filter(idea=idea, user=author).exists()  # GET changes nothing
    response = browser.post(path_of(row.unsubscribe_url), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert not Follower.objects.filter(idea=idea, user=author).exists()
    idea_status_change(idea=idea, status=S.PLANNED, actor=east_member)
    assert EmailOutbox.objects.count() == 1
    # A forged link does nothing.
    assert browser.post("/unsubscribe/1:forged/").status_code == 400


def test_unfollow_needs_a_person_or_a_link(idea):
    with pytest.raises(PermissionDenied):
        unfollow(idea=idea, user=None)


def test_bulk_changes_and_duplicates_tell_the_followers(
    idea, category, author, east_member, make_user
):
    original = idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)
    follow(idea=original, user=author)
    ideas_bulk_update(ideas=[idea.pk], status=S.ACKNOWLEDGED, actor=east_member)
    assert EmailOutbox.objects.count() == 1

    follow(idea=idea, email=ADDRESS)
    Follower.objects.filter(email=ADDRESS).update(confirmed_at="2026-01-01T00:00:00Z")
    idea_mark_duplicate(idea=idea, original=original, actor=east_member)

    told = EmailOutbox.objects.filter(subject__contains="Duplicate")
    assert set(told.values_list("to", flat=True)) == {author.email, ADDRESS}
    assert f"#{original.pk}" in told.first().body
    # Followers moved to the original, one per person.
    assert Follower.objects.filter(idea=original, user=author).count() == 1
    assert Follower.objects.filter(
        idea=original, email=ADDRESS, confirmed_at__isnull=False
    ).exists()
    assert not Follower.objects.filter(idea=idea).exists()


def test_a_refused_change_queues_nothing(idea, west_member):
    with pytest.raises(PermissionDenied):
        idea_status_change(idea=idea, status=S.ACKNOWLEDGED, actor=west_member)
    assert not EmailOutbox.objects.exists()


def test_the_follow_rate_limit_answers_429(idea, settings):
    settings.MAPIDEAS_RATE_FOLLOW = (1, 600)
    first = Client().post(f"/ideas/{idea.pk}/follow/", {"email": ADDRESS})
    second = Client().post(f"/ideas/{idea.pk}/follow/", {"email": "x" + ADDRESS})

    assert (first.status_code, second.status_code) == (302, 429)
    assert int(second["Retry-After"]) > 0


def test_followers_addresses_and_names_stay_private(client, idea, author, east_member):
    follow(idea=idea, email=ADDRESS)
    idea_status_change(idea=idea, status=S.ACKNOWLEDGED, answer="Seen.", actor=east_member)
    urls = [f"/ideas/{idea.pk}/", "/api/ideas/", "/export/ideas.geojson", "/export/ideas.csv"]

    for url in urls:
        response = Client().get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for private in (ADDRESS, author.email, author.username, east_member.username):
            assert private.encode() not in body, (url, private)


def test_tokens_are_signed_for_one_use(idea, author):
    follower = Follower.objects.get(idea=idea, user=author)
    token = notifications.unsubscribe_token(follower)

    # An unsubscribe token is no confirmation token, and the other way round.
    assert follow_confirm(token=token) is None
    assert (
        id_from_token(notifications.confirm_token(follower), salt=notifications.UNSUBSCRIBE_SALT)
        is None
    )
