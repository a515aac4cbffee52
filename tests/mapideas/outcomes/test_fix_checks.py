""" "Is it fixed?" questions, queued: some days after a pin is marked done (its team's
fix_check_days), its author and each confirmed follower get one email, in the pin's
language, with a link per answer; never twice to one person about one pin, never for a
team that asks nobody, a pin not public or not done, or a closure long past. The clock is
the test's (`now=`)."""

import hashlib
import io
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from mapideas.models import EmailOutbox, FixCheck, FixFeedback, Follower, Idea
from mapideas.outcomes import fix_checks
from mapideas.outcomes.selectors import person_hash_of
from mapideas.pins.default_categories import default_categories_create
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from neighborhoods.models import Team
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db

CLOSED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AUTHOR = "zq-fix-author@mail.example"
FOLLOWER = "zq-fix-follower@mail.example"
LINK = re.compile(r"https?://\S+/ideas/fixed/([A-Za-z0-9_-]+)/\?answer=(yes|no)")


@pytest.fixture
def author(make_user):
    user = make_user("zq-fix-author")
    user.email = AUTHOR
    user.save(update_fields=["email"])
    return user


def close(idea: Idea, member, *, at: datetime = CLOSED) -> Idea:
    idea_status_change(idea=idea, status=Idea.Status.DONE, answer="New chain fitted.", actor=member)
    Idea.objects.filter(pk=idea.pk).update(closed_at=at)
    # On the test's clock, everyone followed before the closure.
    Follower.objects.filter(idea=idea, confirmed_at__gt=at).update(confirmed_at=at)
    EmailOutbox.objects.all().delete()  # the followers' news of the closure: not the question
    return Idea.objects.get(pk=idea.pk)


@pytest.fixture
def done(city, category, author, east_member) -> Idea:
    """A pin of East Team (asks after 7 days, the default) by an author with an email, with
    one follower by email, marked done at CLOSED."""
    idea = idea_create(
        kind="issue", title="Broken swing", category=category, location=IN_EAST, author=author
    )
    Follower.objects.create(idea=idea, email=FOLLOWER, confirmed_at=CLOSED - timedelta(days=3))
    return close(idea, east_member)


def questions() -> list[EmailOutbox]:
    return list(EmailOutbox.objects.filter(subject__startswith="Is it fixed?").order_by("pk"))


def test_the_author_and_each_follower_are_asked_once_after_the_teams_delay(done, author):
    assert Team.objects.get(slug="east-team").fix_check_days == 7
    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7) - timedelta(minutes=1)) == 0
    assert questions() == []

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7)) == 2
    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7, minutes=1)) == 0
    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=20)) == 0

    emails = questions()
    assert sorted(e.to for e in emails) == sorted([AUTHOR, FOLLOWER])
    checks = FixCheck.objects.filter(idea=done)
    assert sorted(c.person_hash for c in checks) == sorted(
        [person_hash_of(AUTHOR), person_hash_of(FOLLOWER)]
    )
    asked_at = CLOSED + timedelta(days=7)
    for check in checks:
        assert (check.closed_at, check.sent_at) == (CLOSED, asked_at)
        assert check.expires_at == asked_at + timedelta(days=fix_checks.LINK_DAYS)
        assert check.answered_at is None
    assert checks.get(person_hash=person_hash_of(AUTHOR)).user == author
    for email in emails:
        assert email.subject == f"Is it fixed? Pin #{done.pk} “Broken swing”"
        assert "East Team marked pin" in email.body
        assert "New chain fitted." in email.body
        links = LINK.findall(email.body)
        assert [answer for _token, answer in links] == ["yes", "no"]
        assert links[0][0] == links[1][0]  # one token, two answers
        # Only the token's SHA-256 is kept.
        token = links[0][0]
        assert FixCheck.objects.filter(token_hash=hashlib.sha256(token.encode()).hexdigest())
        assert not FixCheck.objects.filter(token_hash=token).exists()
    # Both follow the pin (the author from the start): each email stops the pin's emails.
    for email in emails:
        assert email.unsubscribe_url and email.unsubscribe_url in email.body


def test_the_delay_is_each_teams_own(done):
    Team.objects.filter(slug="east-team").update(fix_check_days=2)

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=2) - timedelta(seconds=1)) == 0
    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=2)) == 2


def test_a_team_that_asks_nobody_sends_nothing(done):
    Team.objects.filter(slug="east-team").update(fix_check_days=None)

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=8)) == 0
    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=60)) == 0
    assert not FixCheck.objects.exists()


def test_a_closure_long_past_is_not_asked_about(done):
    """A team that turns the question on does not mail about the pins of past years."""
    late = CLOSED + timedelta(days=7 + fix_checks.LATEST_DAYS)
    assert fix_checks.fix_checks_queue(now=late + timedelta(minutes=1)) == 0
    assert fix_checks.fix_checks_queue(now=late - timedelta(minutes=1)) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_by_moderation_at": CLOSED},
        {"awaiting_confirmation": True},
        {"status": Idea.Status.DECLINED},
        {"status": Idea.Status.IN_PROGRESS},
    ],
    ids=["hidden", "unconfirmed", "declined", "reopened"],
)
def test_a_pin_not_public_or_not_done_is_not_asked_about(done, change):
    Idea.objects.filter(pk=done.pk).update(**change)

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=8)) == 0
    assert not FixCheck.objects.exists() and questions() == []


def test_an_author_who_follows_with_the_same_address_is_one_person(
    city, category, author, east_member
):
    idea = idea_create(
        kind="issue", title="Leaning lamp", category=category, location=IN_EAST, author=author
    )
    # The account follows (from the start), and the same address, spelled otherwise, too.
    Follower.objects.create(idea=idea, email=" ZQ-Fix-Author@Mail.Example", confirmed_at=CLOSED)
    close(idea, east_member)

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7)) == 1
    (email,) = questions()
    assert email.to == AUTHOR
    assert FixCheck.objects.get().person_hash == person_hash_of(AUTHOR)


def test_an_author_without_a_following_is_asked_without_a_stop_link(
    city, category, author, east_member
):
    idea = idea_create(
        kind="issue", title="Leaning lamp", category=category, location=IN_EAST, author=author
    )
    Follower.objects.filter(idea=idea).delete()
    close(idea, east_member)

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7)) == 1
    (email,) = questions()
    assert email.unsubscribe_url == ""
    assert "because you sent this pin" in email.body


def test_unconfirmed_followers_and_authors_without_email_are_not_asked(
    city, category, make_user, east_member
):
    idea = idea_create(
        kind="issue", title="x", category=category, location=IN_EAST, author=make_user("noemail")
    )
    Follower.objects.create(idea=idea, email="zq-unconfirmed@mail.example")
    close(idea, east_member)

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7)) == 0
    # Nobody to ask: the pin is found again on later runs, and still nobody is asked.
    assert fix_checks.due_idea_ids(now=CLOSED + timedelta(days=7)) == []


def test_a_pin_asked_about_leaves_the_due_list_for_good(done):
    """Who follows the pin after the question answers on its page: the pin is not looked at
    again every minute."""
    fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7))
    assert fix_checks.due_idea_ids(now=CLOSED + timedelta(days=7, minutes=1)) == []
    Follower.objects.create(
        idea=done, email="zq-late@mail.example", confirmed_at=CLOSED + timedelta(days=9)
    )

    assert fix_checks.due_idea_ids(now=CLOSED + timedelta(days=9, minutes=1)) == []
    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=9, minutes=1)) == 0
    assert FixCheck.objects.filter(idea=done).count() == 2


def test_a_run_asks_about_a_bounded_number_of_pins_and_the_next_the_rest(
    done, city, category, author, east_member, monkeypatch
):
    other = close(
        idea_create(
            kind="issue", title="Leaning lamp", category=category, location=IN_EAST, author=author
        ),
        east_member,
    )
    monkeypatch.setattr(fix_checks, "PINS_PER_RUN", 1)
    now = CLOSED + timedelta(days=7)

    assert fix_checks.fix_checks_queue(now=now) == 2  # the first pin's author and follower
    assert fix_checks.fix_checks_queue(now=now + timedelta(minutes=1)) == 1  # the other's
    assert fix_checks.fix_checks_queue(now=now + timedelta(minutes=2)) == 0
    assert {c.idea_id for c in FixCheck.objects.all()} == {done.pk, other.pk}


def test_someone_who_answered_on_the_pins_page_is_not_asked(done):
    FixFeedback.objects.create(
        idea=done,
        closed_at=CLOSED,
        verdict=FixFeedback.Verdict.FIXED,
        source=FixFeedback.Source.PIN_PAGE,
        person_hash=person_hash_of(FOLLOWER),
        confirmed_at=CLOSED + timedelta(days=1),
    )

    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7)) == 1
    assert [e.to for e in questions()] == [AUTHOR]
    # Their question is settled, so no later run asks it.
    settled = FixCheck.objects.get(person_hash=person_hash_of(FOLLOWER))
    assert settled.answered_at == CLOSED + timedelta(days=1)
    assert fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7, minutes=1)) == 0


def test_a_person_is_asked_once_per_pin_ever_even_after_a_new_closure(done, east_member):
    fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7))
    idea_status_change(
        idea=done, status=Idea.Status.IN_PROGRESS, answer="Broken again.", actor=east_member
    )
    reclosed = close(Idea.objects.get(pk=done.pk), east_member, at=CLOSED + timedelta(days=20))

    assert fix_checks.fix_checks_queue(now=reclosed.closed_at + timedelta(days=7)) == 0
    assert FixCheck.objects.count() == 2


def test_the_email_is_in_the_pins_language(done):
    Idea.objects.filter(pk=done.pk).update(language="fr")

    fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7))

    for email in questions():
        assert "2 mars 2026" in email.body  # the closure's date, as French writes it
        assert "March" not in email.body


def test_the_subject_is_one_line_whatever_the_title(city, category, author, east_member):
    idea = idea_create(
        kind="issue",
        title="Swing\r\nBcc: victim@mail.example",
        category=category,
        location=IN_EAST,
        author=author,
    )
    close(idea, east_member)

    fix_checks.fix_checks_queue(now=CLOSED + timedelta(days=7))

    (email,) = questions()
    assert "\n" not in email.subject and "\r" not in email.subject
    assert email.subject == f"Is it fixed? Pin #{idea.pk} “Swing Bcc: victim@mail.example”"


def test_send_notifications_asks_once_whatever_how_often_it_runs(done, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    Idea.objects.filter(pk=done.pk).update(closed_at=timezone.now() - timedelta(days=8))

    call_command("send_notifications", stdout=io.StringIO())
    out = io.StringIO()
    call_command("send_notifications", stdout=out)

    asked = [m for m in mail.outbox if m.subject.startswith("Is it fixed?")]
    assert sorted(m.to[0] for m in asked) == sorted([AUTHOR, FOLLOWER])
    assert "Queued 0 'Is it fixed?' email(s)." in out.getvalue()


@pytest.fixture
def categories_after_a_flush(transactional_db) -> None:
    # The flush after another transactional test (a browser test, say) removed the default
    # categories the data migration wrote.
    default_categories_create()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked,
    reason="SQLite has no row locks: send_notifications runs one at a time there (a file lock)",
)
def test_two_runs_at_once_ask_each_person_once(categories_after_a_flush, done):
    now = CLOSED + timedelta(days=7)
    start = threading.Barrier(4)
    counts: list[int] = []

    def run() -> None:
        start.wait()
        try:
            counts.append(fix_checks.fix_checks_queue(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 2
    assert sorted(e.to for e in questions()) == sorted([AUTHOR, FOLLOWER])
    assert FixCheck.objects.count() == 2
