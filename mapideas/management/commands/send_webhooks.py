"""`manage.py send_webhooks`: send the pending webhook deliveries (mapideas.webhooks).

Run it from cron or a systemd timer every minute, beside send_notifications; `make run`
does not. Several may run at once (each takes a delivery with a conditional UPDATE). Only
reads options and prints; the work is in mapideas.webhooks.services.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mapideas.webhooks import services as webhooks


class Command(BaseCommand):
    help = (
        "Send the pending webhook deliveries, oldest first and each pin's in order; a "
        "receiver that fails is backed off (1 to 60 minutes) and its deliveries are tried "
        "again on a later run, without end. Run it every minute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=50, help="Deliveries read per query.")

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = webhooks.delivered_prune()
        if pruned:
            self.stdout.write(f"Forgot {pruned} delivery(ies) delivered over 30 days ago.")
        result = webhooks.send_pending(batch_size=max(1, int(options["batch_size"])))
        self.stdout.write(f"Delivered {result.delivered}, failed {result.failed}.")
        if result.endpoints_backed_off:
            self.stderr.write(
                f"{result.endpoints_backed_off} receiver(s) failed and are backed off; their "
                "deliveries wait (see the staff page /staff/webhooks/)."
            )
