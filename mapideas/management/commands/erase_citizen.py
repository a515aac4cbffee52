"""`manage.py erase_citizen EMAIL`: erase what is held about an email address, for a request
that arrived by mail (answer from that mailbox first: the address is the only proof).

Only reads options and prints; the work is in `mapideas.accounts.personal_data.citizen_erase`.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mapideas.accounts.personal_data import citizen_erase


class Command(BaseCommand):
    help = (
        "Erase the accounts with this email address (their pins and comments stay, "
        "anonymised; supports stay counted) and what is kept under the address alone: "
        "contact fields of pins, follows, area alerts, emails in the outbox. Prints what "
        "was erased. It writes at once, with no dry run and no --commit: it changes only what "
        "is held about the one address it names."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", metavar="EMAIL")

    def handle(self, *args: object, **options: object) -> None:
        try:
            erasure = citizen_erase(email=str(options["email"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for line in erasure.lines():
            self.stdout.write(line)
