"""`manage.py send_notifications`: send the pending emails of the outbox.

Run it from cron or a systemd timer every minute (README, "Following a pin"); `make run`
does not. Every run first queues the area alerts that are due (mapideas.alerts), so immediate
alerts go out within a minute and weekly ones once a week, asks "Is it fixed?" about the pins
marked done that are due (mapideas.outcomes.fix_checks), and deletes the citizens' sign-ups
and answers on closed pins whose link expired unused (mapideas.accounts, mapideas.outcomes),
as it forgets alerts never confirmed. Only
reads options and prints; the work is in mapideas.notifications, mapideas.alerts,
mapideas.outcomes and mapideas.accounts.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from mapideas.accounts import services as accounts
from mapideas.alerts import services as alerts
from mapideas.notifications import services as notifications
from mapideas.outcomes import fix_checks
from mapideas.outcomes import services as outcomes


class Command(BaseCommand):
    help = (
        "Queue the area alerts that are due (immediate ones on every run, weekly ones a week "
        "after their last) and the 'Is it fixed?' questions that are due, then send the "
        "pending notification emails (mapideas.models.EmailOutbox) through the email "
        "backend; failed ones are retried on later runs, up to MAPIDEAS_EMAIL_MAX_ATTEMPTS. "
        "Run it every minute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=50, help="Emails locked and sent per transaction."
        )
        parser.add_argument(
            "--digest",
            action="store_true",
            help="First queue the daily digest of new pins of each team that asked for one "
            "(run it so once a day, e.g. at 07:00).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = max(1, int(options["batch_size"]))
        purged = accounts.unconfirmed_signups_purge()
        self.stdout.write(f"Deleted {purged} sign-up(s) never completed.")
        purged = outcomes.unconfirmed_feedback_purge()
        self.stdout.write(f"Deleted {purged} answer(s) on closed pins never confirmed.")
        if options["digest"]:
            self.stdout.write(f"Queued {notifications.queue_digests()} team digest(s).")
        if connection.features.has_select_for_update_skip_locked:
            self._queue_due()
            result = notifications.send_pending(batch_size=batch_size)
        else:
            # SQLite has no row locks to skip: one sender at a time, by a file lock.
            lock = settings.VAR_DIR / "send_notifications.lock"
            with notifications.single_runner(lock) as alone:
                if not alone:
                    self.stdout.write("Another send_notifications is running; nothing done.")
                    return
                # Inside the lock: without row locks, two runs could queue one alert twice.
                self._queue_due()
                result = notifications.send_pending(batch_size=batch_size)
        self.stdout.write(f"Sent {result.sent}, failed {result.failed}.")
        if result.failed:
            self.stderr.write(
                f"{result.failed} email(s) failed; they are retried later (see last_error in "
                "the admin's email outbox)."
            )

    def _queue_due(self) -> None:
        self.stdout.write(f"Queued {alerts.queue_area_alerts()} area alert email(s).")
        # Here too: on SQLite, inside the file lock (one run at a time); on PostgreSQL, each
        # pin's row lock and the FixCheck's unique constraint keep two runs from asking twice.
        self.stdout.write(f"Queued {fix_checks.fix_checks_queue()} 'Is it fixed?' email(s).")
