"""activate_boundaries [VERSION]: list boundary versions, or switch routing to one of them."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mapideas.rerouting.services import boundaries_activate
from neighborhoods.models import BoundaryVersion


class Command(BaseCommand):
    help = (
        "Without arguments, list the boundary versions. With a version number, make it the "
        "one routing uses and re-route the open pins (an earlier version can be brought back)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", nargs="?", type=int)
        parser.add_argument("--reason", default="", help="why (kept with every moved pin)")

    def handle(self, *args, **options) -> None:
        if options["version"] is None:
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
        result = boundaries_activate(version=version, reason=options["reason"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Boundary version #{version.pk} is active. {result.team_changed} open pins "
                f"moved to another team ({result.moved} re-routed in all, "
                f"of {result.open_ideas} open)."
            )
        )
