"""The one rule of the management commands that import or change many rows: a dry run unless
--commit, as mapit does it.

A dry run does everything a commit does (reads, checks, routes, writes) inside one transaction
and rolls it back at the end, so its report (counts, the first rows refused) is exactly what
--commit would do, and nothing stays. The commands that follow the rule use the three pieces
below; tests/test_management_commands.py checks that every command either does or says why not.
Those that loaded many rows end, once committed, with analyze_tables (import_ideas, which only
inserts, with vacuum_analyze_tables).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandParser
from django.db import connection, models, transaction

# The sentence every such command's --help ends with.
DRY_RUN_HELP = (
    "A dry run unless --commit: it checks everything and reports what would change, "
    "then rolls back and writes nothing."
)

# The last line of every dry run's output.
DRY_RUN_DONE = "Dry run: nothing was written. Run again with --commit to apply."


def add_commit_argument(parser: CommandParser) -> None:
    """The --commit option, worded the same in every command."""
    parser.add_argument(
        "--commit",
        action="store_true",
        help="write the changes (without it: a dry run, nothing is written)",
    )


@contextmanager
def rolled_back_unless(commit: bool) -> Iterator[None]:
    """Run the block in one transaction; roll it back at the end unless `commit`.

    The services the block calls keep their own transactions: inside this one they become
    savepoints, so what they write is visible to the rest of the block (and to the report)
    and goes with the rollback. An error rolls everything back, committed or not.
    """
    with transaction.atomic():
        yield
        if not commit:
            transaction.set_rollback(True)


def analyze_tables(*tables: type[models.Model]) -> None:
    """ANALYZE the tables of these models (every table without any): what a command that
    committed many rows does last.

    The planner's statistics would otherwise describe the tables as they were before the load
    until autovacuum (off on some servers) came round, and the map's queries would be planned
    for a few rows instead of the many just loaded. Run after the commit (outside the
    command's transaction): on PostgreSQL it then takes its lock only for its own time.
    """
    names = [connection.ops.quote_name(model._meta.db_table) for model in tables]
    with connection.cursor() as cursor:
        if not names:
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(names)}")
        else:
            for name in names:
                cursor.execute(f"ANALYZE {name}")


def vacuum_analyze_tables(*tables: type[models.Model]) -> str | None:
    """VACUUM (ANALYZE) the tables of these models on PostgreSQL, ANALYZE them on SQLite: what
    a command that committed many new rows does last. Returns why VACUUM did not run, if it
    should have.

    ANALYZE alone leaves freshly written pages not all-visible until autovacuum comes round, so
    an index-only scan (the map's counts) still fetches each of their heap pages: 152 ms
    against 20.7 ms for a zoom-13 map right after a 20k-pin import. VACUUM sets the visibility
    map and removes the dead versions of rows the load updated (the summaries' triggers).
    It cannot run inside a transaction block: inside one (an outer atomic(), a test's
    transaction), the tables are only analysed and the reason is returned. SQLite rewrites
    rows in place and has no visibility map; its VACUUM rebuilds the whole file.
    """
    if connection.vendor != "postgresql" or not tables:
        analyze_tables(*tables)
        return None
    if connection.in_atomic_block or not connection.get_autocommit():
        analyze_tables(*tables)
        return (
            "VACUUM skipped: the command ran inside a transaction, where PostgreSQL cannot "
            "vacuum; the tables were analysed only (run VACUUM (ANALYZE) on them, or let "
            "autovacuum do it, for the map's counts to be fast)."
        )
    names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {names}")
    return None
