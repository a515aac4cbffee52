"""`manage.py open311_key CLIENT_NAME`, `--revoke PREFIX_OR_NAME`, `--list`.

Only reads options and prints; the work is in `mapideas.open311.services.open311_client_create` and
`open311_client_revoke`.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mapideas.models import Open311Client
from mapideas.open311.services import open311_client_create, open311_client_revoke


class Command(BaseCommand):
    help = (
        "Issue an Open311 API key to a client application (printed once), revoke one "
        "(--revoke, by key prefix or client name), or list them (--list). It writes at once, "
        "with no dry run and no --commit: it changes only the one client it names."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", metavar="CLIENT_NAME", help="Who the key is for.")
        parser.add_argument(
            "--revoke",
            metavar="PREFIX_OR_NAME",
            help="Revoke the live key with this prefix "
            "(the first characters of the key, as --list shows) or of this client.",
        )
        parser.add_argument("--list", action="store_true", help="List clients and their keys.")

    def handle(self, *args: object, **options: object) -> None:
        chosen = [bool(options["name"]), bool(options["revoke"]), bool(options["list"])]
        if sum(chosen) != 1:
            raise CommandError("Give a CLIENT_NAME, or --revoke PREFIX_OR_NAME, or --list.")
        if options["list"]:
            self._list()
        elif options["revoke"]:
            self._revoke(str(options["revoke"]).strip())
        else:
            self._issue(str(options["name"]))

    def _issue(self, name: str) -> None:
        try:
            issued = open311_client_create(name=name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        # The key alone on standard output, so `KEY=$(manage.py open311_key NAME)` works;
        # what it is for goes to standard error, for the person at the terminal.
        self.stdout.write(issued.key)
        self.stderr.write(
            f"That is the Open311 key for {issued.client.name}. It is shown only this once "
            f"(only its first characters, {issued.client.key_prefix}, are kept): pass it on "
            "privately."
        )

    def _revoke(self, given: str) -> None:
        live = Open311Client.objects.filter(revoked_at__isnull=True)
        matches = list(live.filter(key_prefix=given)) or list(live.filter(name=given))
        if not matches:
            raise CommandError(f"No live key has the prefix or client name {given!r} (see --list).")
        if len(matches) > 1:
            names = ", ".join(f"{c.name} ({c.key_prefix})" for c in matches)
            raise CommandError(f"{given!r} matches several live keys: {names}. Give the name.")
        client = open311_client_revoke(client=matches[0])
        self.stdout.write(f"Revoked the key {client.key_prefix}… of {client.name}.")

    def _list(self) -> None:
        clients = Open311Client.objects.order_by("name", "-created_at")
        if not clients:
            self.stdout.write("No Open311 clients yet.")
        for client in clients:
            state = f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "live"
            self.stdout.write(
                f"{client.key_prefix}  {client.name}  issued {client.created_at:%Y-%m-%d}  {state}"
            )
