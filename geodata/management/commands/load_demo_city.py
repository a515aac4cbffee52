"""load_demo_city [--commit]: Chicago's community areas with their population and figures, nine
district teams, the holidays and a few hundred pins with months of history (geodata.demo).

It imports a whole city: a boundary version it activates (re-routing every open pin already
there), teams, pins and, if asked, accounts. So it follows the rule of the commands that import
many rows (mapideas.plumbing.commands): a dry run unless --commit. Run by mistake against a
real city's database, a dry run shows what would have been poured in; `make run` says --commit.
"""

from django.core.management.base import BaseCommand, CommandParser

from geodata.demo import DEMO_PINS, load_demo_city
from mapideas.plumbing.commands import (
    DRY_RUN_DONE,
    DRY_RUN_HELP,
    add_commit_argument,
    analyze_tables,
    rolled_back_unless,
)
from neighborhoods.models import Neighborhood

DEMO_PASSWORD = "demo"  # noqa: S105 - printed to the console, for the demo only


class Command(BaseCommand):
    help = (
        "Load the demo city (Chicago, from the libpysal package, with its 2020 population and "
        "published area figures) with demo pins and their history, as the active boundaries. "
        + DRY_RUN_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already holds neighborhoods",
        )
        parser.add_argument("--ideas", type=int, default=DEMO_PINS, help="how many demo pins")
        parser.add_argument("--seed", type=int, default=77)
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help=f"also create a 'planner' and one member per team, password {DEMO_PASSWORD!r}",
        )
        add_commit_argument(parser)

    def handle(self, *args, **options) -> None:
        commit: bool = options["commit"]
        if options["if_empty"] and Neighborhood.objects.exists():
            self.stdout.write("The database already holds neighborhoods: demo city not loaded.")
            if not commit:
                self.stdout.write(self.style.WARNING(DRY_RUN_DONE))
            return
        with rolled_back_unless(commit):
            loaded = load_demo_city(
                ideas=options["ideas"],
                seed=options["seed"],
                demo_password=DEMO_PASSWORD if options["demo_users"] else None,
            )
        if commit:
            # A whole city: boundaries, teams, figures, pins and their history, the counts.
            analyze_tables()
        counts = f"{loaded.neighborhoods} neighborhoods, {loaded.teams} teams, {loaded.ideas} pins."
        if commit:
            self.stdout.write(self.style.SUCCESS(f"Demo city loaded: {counts}"))
        else:
            self.stdout.write(f"The demo city would load: {counts}")
        if loaded.demo_users:
            accounts = "Demo accounts" if commit else "Demo accounts that would be created"
            self.stdout.write(
                f"{accounts} (password {DEMO_PASSWORD!r}): 'planner' sees everything; each team "
                f"has a member named after its slug: {', '.join(loaded.demo_users[1:])}."
            )
        if not commit:
            self.stdout.write(self.style.WARNING(DRY_RUN_DONE))
