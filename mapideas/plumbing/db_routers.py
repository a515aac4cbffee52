"""Reads that may be a little stale go to a PostgreSQL streaming replica
(docs/operations/scaling.md).

With `DATABASE_REPLICA_URL` set, settings add a database alias `replica`. Nothing is sent
there by default: the reads that may lag the primary by a second or so name it themselves,

    ideas = selectors.public_ideas().using(replica_alias())

namely the engagement layers and planner page (`geodata.engagement.query.parse_query`, which
the OGC computed collections and the engagement exports share), the planner heatmap and the
ideas export (`geodata.exports.views`), the OGC items (`geodata.ogc.collections`) and the public
lists of the API (`GET /api/ideas/`, `GET /api/neighborhoods/`).

Why explicit `.using()` rather than a router that sends every read to the replica: Django
routes by model, not by request, so a blanket router would also read a pin's page right
after its citizen created it (and be redirected to it), the session that was just written
at login, and the rate-limit counters (written on default by mapideas.plumbing.rate_counters)
from a replica that may not
have them yet. Why not a context variable set by the views either: the exports stream
after the view has returned, outside any `with` block, while a queryset keeps the alias
it was given until its last row is read.

`replica_alias()` answers "default" when no replica is configured, and also inside a
transaction on default: whatever that transaction wrote is visible only there. Under the
test runner the replica is a test mirror of default (settings: `TEST: {"MIRROR":
"default"}`), naming default's test database: reads then go through default too, so the
suite passes with `DATABASE_REPLICA_URL` set and no replica server.

The router makes every write go to default, even for an instance read from the replica
(Django would otherwise save it back where it came from), and migrations run on default
only: the replica gets the schema by replication.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"


def replica_alias() -> str:
    """The alias for reads that may be slightly stale: the replica when there is one."""
    if REPLICA not in settings.DATABASES or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if _is_default(settings.DATABASES[REPLICA]):
        return DEFAULT_DB_ALIAS
    return REPLICA


def _is_default(replica: dict) -> bool:
    """A replica alias that names default's own database: a test mirror (the test runner
    points it at default's test database; a test allowed default only may not open it), or
    DATABASE_REPLICA_URL set to the primary. Reading through default is then the same."""
    if not replica.get("TEST", {}).get("MIRROR"):
        return False
    # The connections' own dicts: the test runner renames the databases in them.
    default = settings.DATABASES[DEFAULT_DB_ALIAS]
    return all(replica.get(key) == default.get(key) for key in ("NAME", "HOST", "PORT"))


class PrimaryReplicaRouter:
    """Writes and migrations on default; reads where the queryset says (default unless a
    selector asked for `replica_alias()`)."""

    def db_for_read(self, model, **hints):
        # None: Django's own choice, the database the related instance came from, else
        # default. Never the replica unless asked for.
        return None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the same rows as default: a category read from one may be set
        # on a pin written to the other.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
