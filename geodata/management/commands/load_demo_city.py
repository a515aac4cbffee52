"""load_demo_city: Chicago's community areas, nine district teams and a few hundred pins."""

from django.core.management.base import BaseCommand, CommandParser

from geodata.demo import load_demo_city
from neighborhoods.models import Neighborhood

DEMO_PASSWORD = "demo"  # noqa: S105 - printed to the console, for the demo only


class Command(BaseCommand):
    help = "Load the demo city (Chicago, from the libpysal package) with demo pins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already holds neighborhoods",
        )
        parser.add_argument("--ideas", type=int, default=400, help="how many demo pins")
        parser.add_argument("--seed", type=int, default=77)
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help=f"also create a 'planner' and one member per team, password {DEMO_PASSWORD!r}",
        )

    def handle(self, *args, **options) -> None:
        if options["if_empty"] and Neighborhood.objects.exists():
            self.stdout.write("The database already holds neighborhoods: demo city not loaded.")
            return
        loaded = load_demo_city(
            ideas=options["ideas"],
            seed=options["seed"],
            demo_password=DEMO_PASSWORD if options["demo_users"] else None,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo city loaded: {loaded.neighborhoods} neighborhoods, {loaded.teams} teams, "
                f"{loaded.ideas} pins."
            )
        )
        if loaded.demo_users:
            self.stdout.write(
                f"Demo accounts (password {DEMO_PASSWORD!r}): 'planner' sees everything; each team "
                f"has a member named after its slug: {', '.join(loaded.demo_users[1:])}."
            )
