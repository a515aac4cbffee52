"""`manage.py add_member TEAM_SLUG USERNAME [--planner] [--password-stdin]`.

Only reads options and prints; the work is in `neighborhoods.services.member_add`.
"""

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from neighborhoods.models import Team
from neighborhoods.services import member_add

SLUGS_LISTED = 10


class Command(BaseCommand):
    help = (
        "Add a user to a district team, creating the user if needed (with a generated password "
        "shown once, unless --password-stdin gives one). It writes at once, with no dry run "
        "and no --commit: it changes only the one user and team it names."
    )
    # call_command(..., stdin=io.StringIO("...")) in tests, as Django's createsuperuser does.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", metavar="TEAM_SLUG", help="The team's slug.")
        parser.add_argument("username", metavar="USERNAME")
        parser.add_argument(
            "--planner",
            action="store_true",
            help="Also make the user a planner (sees every team and the planner page).",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input. For an existing "
            "user this replaces their password.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The options as add_arguments() declares them.
        slug: str = options["team"]
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise CommandError(self._unknown_team(slug))
        username: str = options["username"]
        planner: bool = options["planner"]
        existing = get_user_model().objects.filter(username=username).first()
        already_member = existing is not None and team.members.filter(pk=existing.pk).exists()

        password = None
        if options["password_stdin"]:
            password = self._read_password(options.get("stdin", sys.stdin))
            try:
                validate_password(password, user=existing or get_user_model()(username=username))
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from exc

        try:
            added = member_add(team=team, username=username, planner=planner, password=password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        if added.user_created:
            self.stdout.write(f"Created user {username!r} and added them to {team.name}.")
        elif already_member:
            self.stdout.write(f"{username!r} was already a member of {team.name}.")
        else:
            self.stdout.write(f"Added existing user {username!r} to {team.name}.")
        if password is not None and not added.user_created:
            self.stdout.write(f"Replaced the password of {username!r}.")
        if planner:
            self.stdout.write(f"{username!r} is a planner.")
        if added.generated_password is not None:
            self.stdout.write(f"Password for {username!r}: {added.generated_password}")
            self.stdout.write(
                "It is shown only this once: pass it on privately and have it changed "
                f"(manage.py changepassword {username})."
            )

    def _read_password(self, stdin) -> str:
        # Typed at a terminal, the password is not echoed.
        line = getpass.getpass("Password: ") if stdin.isatty() else stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CommandError("--password-stdin: the first line of standard input is empty.")
        return password

    @staticmethod
    def _unknown_team(slug: str) -> str:
        slugs = list(
            Team.objects.order_by("slug").values_list("slug", flat=True)[: SLUGS_LISTED + 1]
        )
        if not slugs:
            return f"No team {slug!r}: there are no teams yet (import neighborhoods first)."
        more = ", …" if len(slugs) > SLUGS_LISTED else ""
        return f"No team {slug!r}. Teams: {', '.join(slugs[:SLUGS_LISTED])}{more}."
