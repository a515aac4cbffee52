"""activate_boundaries [VERSION [--commit]]: list boundary versions, or switch routing to one.

Switching re-routes every open pin, so it follows the rule of the commands that change many
rows (mapideas.plumbing.commands): a dry run unless --commit, the switch and the re-route done
inside a transaction rolled back at the end, so the dry run says exactly which pins would move.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mapideas.plumbing.commands import (
    DRY_RUN_DONE,
    DRY_RUN_HELP,
    add_commit_argument,
    analyze_tables,
    rolled_back_unless,
)
from mapideas.rerouting.services import REROUTED_TABLES, boundaries_activate
from neighborhoods.models import BoundaryVersion


class Command(BaseCommand):
    help = (
        "Without arguments, list the boundary versions. With a version number, make it the "
        "one routing uses and re-route the open pins (an earlier version can be brought back). "
        + DRY_RUN_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", nargs="?", type=int)
        parser.add_argument("--reason", default="", help="why (kept with every moved pin)")
        add_commit_argument(parser)

    def handle(self, *args, **options) -> None:
        commit: bool = options["commit"]
        if options["version"] is None:
            if commit:
                raise CommandError("--commit needs a VERSION to activate.")
            for listed in BoundaryVersion.objects.all():
                count = listed.neighborhoods.count()
                self.stdout.write(
                    f"#{listed.pk}{' *' if listed.is_active else '  '} {listed.label} "
                    f"({count} neighborhoods, created {listed.created_at:%Y-%m-%d %H:%M})"
                )
            return
        version = BoundaryVersion.objects.filter(pk=options["version"]).first()
        if version is None:
            raise CommandError(
                f"No boundary version #{options['version']}; list them without arguments."
            )
        if version.is_active:
            raise CommandError(f"Boundary version #{version.pk} is already active.")
        with rolled_back_unless(commit):
            result = boundaries_activate(version=version, reason=options["reason"])
        if commit:
            analyze_tables(*REROUTED_TABLES)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Boundary version #{version.pk} is active. {result.team_changed} open pins "
                    f"moved to another team ({result.moved} re-routed in all, "
                    f"of {result.open_ideas} open)."
                )
            )
        else:
            self.stdout.write(
                f"Boundary version #{version.pk} would be active. {result.team_changed} open "
                f"pins would move to another team ({result.moved} re-routed in all, "
                f"of {result.open_ideas} open)."
            )
            self.stdout.write(self.style.WARNING(DRY_RUN_DONE))
