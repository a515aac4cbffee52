"""The page an "Is it fixed?" link opens: it shows the pin and two answers and answers
nothing on a GET (mail scanners open links); "yes" is one press, "no" asks a short note and
an optional photo. A link works once, until it expires; a token MapIdeas never sent is a
404; the token names no one. The answer counts at once (the email reached the address),
limited as every submission, with the network's hash for the reopening rule."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from mapideas.models import EmailOutbox, FixCheck, FixFeedback, Follower, Idea, TimelinePhoto
from mapideas.outcomes import fix_checks
from mapideas.outcomes.selectors import person_hash_of
from mapideas.plumbing.hashing import keyed_hash
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg, upload

pytestmark = pytest.mark.django_db

AUTHOR = "zq-page-author@mail.example"
FOLLOWER = "zq-page-follower@mail.example"
LINK = re.compile(r"https?://[^/\s]+(/ideas/fixed/[A-Za-z0-9_-]+/)\?answer=yes")


@pytest.fixture
def author(make_user):
    user = make_user("zq-page-author")
    user.email = AUTHOR
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def idea(city, category, author, east_member) -> Idea:
    idea = idea_create(
        kind="issue",
        title="Swing <b>chain</b> snapped",
        description="By the pond.",
        category=category,
        location=IN_EAST,
        author=author,
    )
    Follower.objects.create(idea=idea, email=FOLLOWER, confirmed_at=timezone.now())
    idea_status_change(idea=idea, status=Idea.Status.DONE, answer="New chain.", actor=east_member)
    return Idea.objects.get(pk=idea.pk)


@pytest.fixture
def links(idea) -> dict[str, str]:
    """Each person's link (its path), as emailed: asked a week after the closure."""
    EmailOutbox.objects.all().delete()
    assert idea.closed_at is not None
    fix_checks.fix_checks_queue(now=idea.closed_at + timedelta(days=7, minutes=1))
    found = {}
    for email in EmailOutbox.objects.all():
        (path,) = LINK.findall(email.body)
        found[email.to] = path
    assert set(found) == {AUTHOR, FOLLOWER}
    return found


def check_of(path: str) -> FixCheck:
    token = path.rstrip("/").rsplit("/", 1)[1]
    return FixCheck.objects.get(token_hash=hashlib.sha256(token.encode()).hexdigest())


def test_a_get_shows_the_pin_and_its_answers_and_answers_nothing(client, links, idea):
    for answer in ("", "?answer=yes", "?answer=no", "?answer=maybe"):
        response = client.get(links[FOLLOWER] + answer)

        assert response.status_code == 200
        assertContains(response, "Swing &lt;b&gt;chain&lt;/b&gt; snapped")  # escaped
        assertContains(response, '<dd id="fix-check-status">Done</dd>', html=True)
        assertContains(response, "New chain.")
        assertContains(response, 'id="fix-check-yes"')
        assertContains(response, 'id="fix-check-no"')
        assertContains(response, 'name="csrfmiddlewaretoken"')
        assertNotContains(response, FOLLOWER)
        assertNotContains(response, AUTHOR)
    assert not FixFeedback.objects.exists()
    assert not FixCheck.objects.filter(answered_at__isnull=False).exists()


def test_the_link_clicked_puts_its_answer_first(client, links):
    def order(query: str) -> list[str]:
        text = client.get(links[FOLLOWER] + query).content.decode()
        return re.findall(r'id="fix-check-(yes|no)"', text)

    assert order("?answer=yes") == ["yes", "no"]
    assert order("") == ["yes", "no"]
    assert order("?answer=no") == ["no", "yes"]


def test_yes_counts_the_fix_once_and_uses_the_link_up(client, links, idea):
    path = links[FOLLOWER]

    response = client.post(path, {"answer": "yes"})

    assert response.status_code == 302 and response["Location"] == idea.get_absolute_url()
    feedback = FixFeedback.objects.get()
    assert (feedback.verdict, feedback.source) == ("fixed", "fix_check")
    assert feedback.person_hash == person_hash_of(FOLLOWER)
    assert feedback.confirmed_at is not None and feedback.email == ""
    assert feedback.ip_hash == keyed_hash("ip", "127.0.0.1")  # the network counts once
    assert Idea.objects.get(pk=idea.pk).fix_confirmed_count == 1
    assert check_of(path).answered_at is not None
    assertContains(client.get(response["Location"]), "your answer is counted")

    again = client.get(path)
    assertContains(again, "already answered")
    assertNotContains(again, 'id="fix-check-yes"')
    assert client.post(path, {"answer": "no", "note": "Broken again."}).status_code == 409
    assert FixFeedback.objects.count() == 1
    assert Idea.objects.get(pk=idea.pk).fix_confirmed_count == 1


def test_the_author_answers_as_their_account(client, links, author):
    assert client.post(links[AUTHOR], {"answer": "yes"}).status_code == 302
    assert FixFeedback.objects.get().user == author


def test_no_asks_a_short_note_tied_to_its_field(client, links, idea):
    path = links[FOLLOWER]

    response = client.post(path, {"answer": "no", "note": "  "})

    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="id_note_error"' in text
    (textarea,) = re.findall(r"<textarea[^>]*>", text)
    assert 'aria-describedby="' in textarea and "id_note_error" in textarea
    assert 'aria-invalid="true"' in textarea
    assert not FixFeedback.objects.exists()
    assert check_of(path).answered_at is None  # still open
    # The note has the model's limit.
    long = client.post(path, {"answer": "no", "note": "x" * 1001})
    assert long.status_code == 400 and 'id="id_note_error"' in long.content.decode()


def test_no_with_a_note_and_a_photo_disputes_the_fix(client, links, idea):
    path = links[FOLLOWER]

    response = client.post(
        path, {"answer": "no", "note": "The chain is gone again.", "photo": upload(gps_jpeg())}
    )

    assert response.status_code == 302
    feedback = FixFeedback.objects.get()
    assert (feedback.verdict, feedback.note) == ("still_there", "The chain is gone again.")
    photo = TimelinePhoto.objects.get()
    assert (photo.feedback, photo.role) == (feedback, "dispute")
    assert Idea.objects.get(pk=idea.pk).dispute_count == 1
    assert check_of(path).answered_at is not None


def test_a_photo_that_is_no_photo_is_refused_naming_it_and_the_link_stays_open(client, links):
    path = links[FOLLOWER]

    response = client.post(
        path,
        {"answer": "no", "note": "Still broken.", "photo": upload(b"not a picture", "x.jpg")},
    )

    assert response.status_code == 400
    assertContains(response, 'id="id_photo_error"', status_code=400)
    assert not FixFeedback.objects.exists() and not TimelinePhoto.objects.exists()
    assert check_of(path).answered_at is None


def test_an_expired_link_says_so_and_answers_nothing(client, links):
    path = links[FOLLOWER]
    FixCheck.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(path + "?answer=yes")
    assert response.status_code == 410
    assertContains(response, "This link expired", status_code=410)
    assertNotContains(response, 'id="fix-check-yes"', status_code=410)
    assert client.post(path, {"answer": "yes"}).status_code == 410
    assert not FixFeedback.objects.exists()


def test_a_token_never_sent_is_a_404_page(client, links):
    for token in ("forged", "x" * 43, hashlib.sha256(b"x").hexdigest()):
        response = client.get(f"/ideas/fixed/{token}/")
        assert response.status_code == 404
        assertContains(response, "This link opens nothing", status_code=404)
        assert client.post(f"/ideas/fixed/{token}/", {"answer": "yes"}).status_code == 404
    # Nor is a token's stored hash a token.
    stored = check_of(links[FOLLOWER]).token_hash
    assert client.get(f"/ideas/fixed/{stored}/").status_code == 404
    assert not FixFeedback.objects.exists()


def test_a_pin_reopened_since_has_nothing_to_confirm(client, links, idea, east_member):
    idea_status_change(
        idea=idea, status=Idea.Status.IN_PROGRESS, answer="Looking again.", actor=east_member
    )

    response = client.get(links[FOLLOWER])
    assertContains(response, "no longer marked done")
    assertNotContains(response, 'id="fix-check-yes"')
    assert client.post(links[FOLLOWER], {"answer": "yes"}).status_code == 409
    assert not FixFeedback.objects.exists()


def test_a_pin_hidden_since_shows_nothing_of_it(client, links, idea):
    Idea.objects.filter(pk=idea.pk).update(hidden_by_moderation_at=timezone.now())

    response = client.get(links[FOLLOWER])
    assert response.status_code == 404
    assertNotContains(response, "Swing", status_code=404)
    assert client.post(links[FOLLOWER], {"answer": "yes"}).status_code == 404
    assert not FixFeedback.objects.exists()


def test_someone_who_answered_on_the_pins_page_since_is_told_once_counts(client, links, idea):
    FixFeedback.objects.create(
        idea=idea,
        closed_at=idea.closed_at,
        verdict=FixFeedback.Verdict.FIXED,
        source=FixFeedback.Source.PIN_PAGE,
        person_hash=person_hash_of(FOLLOWER),
        confirmed_at=timezone.now(),
    )

    response = client.post(links[FOLLOWER], {"answer": "no", "note": "Still there."})

    assert response.status_code == 302
    assertContains(client.get(response["Location"]), "You already answered")
    assert FixFeedback.objects.count() == 1
    assert check_of(links[FOLLOWER]).answered_at is not None


def test_the_token_carries_no_personal_data(links):
    tokens = [path.rstrip("/").rsplit("/", 1)[1] for path in links.values()]
    assert len(set(tokens)) == 2
    for token in tokens:
        # Random (secrets.token_urlsafe(32)): 43 characters that decode to no address, name
        # or account, however read; only its SHA-256 is stored.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert not FixCheck.objects.filter(token_hash=token).exists()
    from tests.mapideas.test_no_personal_data_in_urls import readings

    for path in links.values():
        for reading in readings(path):
            assert "zq-page" not in reading


def test_a_get_needs_no_session_and_a_post_needs_the_csrf_token(links):
    browser = Client(enforce_csrf_checks=True)
    assert browser.get(links[FOLLOWER]).status_code == 200
    refused = browser.post(links[FOLLOWER], {"answer": "yes"})
    assert refused.status_code == 403 and b"CSRF" in refused.content
    assert not FixFeedback.objects.exists()


def test_answers_are_limited_as_submissions(client, links, settings):
    settings.MAPIDEAS_RATE_LIMITS = True
    settings.MAPIDEAS_RATE_SUBMISSIONS = (1, 3600)

    assert client.post(links[AUTHOR], {"answer": "yes"}).status_code == 302
    refused = client.post(links[FOLLOWER], {"answer": "yes"})

    assert refused.status_code == 429 and refused["Retry-After"]
    assert FixFeedback.objects.count() == 1
    assert check_of(links[FOLLOWER]).answered_at is None
