"""`manage.py sync_backoffice`: forward pins to the teams' back offices and read their
answers back (mapideas.backoffice).

Run it from cron or a systemd timer every minute, beside send_notifications, and once a day
with --reconcile. Several may run at once (each takes a row with a conditional UPDATE). Only
reads options and prints; the work is in mapideas.backoffice.services.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mapideas.backoffice import services as backoffice


class Command(BaseCommand):
    help = (
        "Forward the queued pins to their teams' back offices (Open311 GeoReport v2), follow "
        "up tokens, look for requests that may have arrived before posting them again, and "
        "read the back offices' statuses and answers back onto the pins. Failures are retried "
        "on later runs, without end. Run it every minute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reconcile",
            action="store_true",
            help=(
                "First queue every pin that should be at a back office and is not, and leave "
                "the requests of pins that moved away (run it daily)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = backoffice.sync(reconcile=bool(options["reconcile"]))
        if options["reconcile"]:
            self.stdout.write(f"Queued {result.queued} pin(s) found missing.")
        self.stdout.write(
            f"Forwarded {result.forwarded}, waiting for a number {result.tokens}, being "
            f"checked {result.uncertain}, held for staff {result.held}, failed {result.failed}; "
            f"{result.statuses_applied} answer(s) read back."
        )
        for error in result.errors:
            self.stderr.write(error)
        if result.held:
            self.stderr.write(
                f"{result.held} pin(s) may have reached a back office and could not be "
                "confirmed: check them on the staff page /staff/backoffice/."
            )
