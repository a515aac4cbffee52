"""The plan the database chooses for a query, as text: what tests of indexes assert on."""

from django.db import connection
from django.db.models import QuerySet


def plan(queryset: QuerySet) -> str:
    """EXPLAIN (PostgreSQL) or EXPLAIN QUERY PLAN (SQLite) of `queryset`, one line per step.

    On PostgreSQL, sequential scans are off for the query: a test's few rows fit in a page,
    which a scan reads faster than any index, and the test asks which index the planner
    takes when it takes one. Call it inside the test's transaction (SET LOCAL)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())
