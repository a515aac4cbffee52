"""`manage.py send_notifications`: sends the outbox's pending emails through Django's email
backend (locmem here), marks them sent, retries failures later up to a cap, and locks rows
with SKIP LOCKED where the database has it."""

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mapideas.models import EmailOutbox, Idea
from mapideas.notifications.services import send_pending
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(city, category, make_user, east_member) -> EmailOutbox:
    author = make_user("zq-author-9912")
    author.email = "author@mail.example"
    author.save()
    idea = idea_create(
        kind="issue", title="Broken swing", category=category, location=IN_EAST, author=author
    )
    idea_status_change(
        idea=idea, status=Idea.Status.DECLINED, answer="<b>Not ours</b>", actor=east_member
    )
    return EmailOutbox.objects.get()


def run() -> str:
    out = StringIO()
    call_command("send_notifications", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_sends_pending_emails_once(queued, mailoutbox):
    assert "Sent 1, failed 0." in run()

    (message,) = mailoutbox
    assert message.to == ["author@mail.example"]
    assert message.subject == queued.subject
    assert message.content_subtype == "plain"
    assert not getattr(message, "alternatives", [])
    assert "<b>Not ours</b>" in message.body  # plain text: shown as typed, never rendered
    assert message.extra_headers["List-Unsubscribe"] == f"<{queued.unsubscribe_url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    queued.refresh_from_db()
    assert queued.sent_at is not None
    assert queued.attempts == 1

    assert "Sent 0, failed 0." in run()
    assert len(mailoutbox) == 1


def test_it_keeps_failures_and_retries_them_later(queued, mailoutbox):
    with mock.patch.object(EmailMessage, "send", side_effect=OSError("SMTP down")):
        assert "Sent 0, failed 1." in run()

    queued.refresh_from_db()
    assert queued.sent_at is None
    assert queued.attempts == 1
    assert queued.last_error == "OSError: SMTP down"
    assert queued.next_attempt_at > timezone.now()
    assert "Sent 0, failed 0." in run()  # not due yet

    EmailOutbox.objects.filter(pk=queued.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert "Sent 1, failed 0." in run()
    queued.refresh_from_db()
    assert (queued.attempts, queued.last_error) == (2, "")
    assert len(mailoutbox) == 1


def test_it_gives_up_at_the_cap(queued, mailoutbox, settings):
    settings.MAPIDEAS_EMAIL_MAX_ATTEMPTS = 2
    EmailOutbox.objects.filter(pk=queued.pk).update(attempts=2)

    assert "Sent 0, failed 0." in run()
    assert mailoutbox == []


def test_it_skips_rows_another_sender_holds_where_the_database_can(queued, mailoutbox):
    with CaptureQueriesContext(connection) as queries:
        send_pending()

    selects = [q["sql"] for q in queries.captured_queries if "mapideas_emailoutbox" in q["sql"]]
    locked = any("SKIP LOCKED" in sql for sql in selects)
    assert locked == connection.features.has_select_for_update_skip_locked
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    ("env", "debug", "expected"),
    [
        ({}, False, "filebased"),
        ({}, True, "console"),
        ({"EMAIL_HOST": "smtp.city.example"}, False, "smtp"),
        ({"EMAIL_BACKEND": "console"}, False, "console"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}, False, "locmem"),
    ],
)
def test_the_email_backend_comes_from_the_environment(monkeypatch, env, debug, expected):
    from mapideas import settings as project_settings

    for name in ("EMAIL_BACKEND", "EMAIL_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(project_settings, "DEBUG", debug)

    assert f".{expected}." in project_settings._email_backend()


def test_a_malformed_email_backend_stops_start_up(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from mapideas import settings as project_settings

    monkeypatch.setenv("EMAIL_BACKEND", "pigeon")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_BACKEND"):
        project_settings._email_backend()
