"""Django's own floor for a pin, served by the pin_creation_http row (bench/rows.py).

`POST /bench/pin-sql/` runs the pin's SQL alone (the statements pgbench runs for that row,
PGBENCH_PIN_SCRIPT) through Django's cursor, in a view of the same project: the same
gunicorn, settings, middleware and database connections as `POST /api/ideas/`, and no
domain logic (no validation, routing decision, idempotency or rate rule, serializer). What
separates MapIdeas from it is the cost of what MapIdeas decides per pin; what separates it
from the ceiling 1/(1/healthz + 1/sql) is what Django and psycopg cost for those statements.

Its pins copy a random stored pin's row, as pgbench's do, and are deleted with the row's
others. Only the bench serves this URL (bench/django_floor_settings.py), never `make run`.
"""

# ruff: noqa: S608 - SQL assembled from the table's own column names.

import json
import random
from functools import cache

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@cache
def _statements() -> tuple[str, int, int]:
    """The pin's INSERT (a copy of a stored pin's row, with a new key and times) and the
    range of stored pins' ids to copy from."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'mapideas_idea'"
            " AND column_name <> 'id' ORDER BY ordinal_position"
        )
        columns = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT min(id), max(id) FROM mapideas_idea")
        first, last = cursor.fetchone()
    fresh = {"created_at": "now()", "updated_at": "now()", "idempotency_key": "%s"}
    insert = (
        f"INSERT INTO mapideas_idea ({', '.join(columns)})"
        f" SELECT {', '.join(fresh.get(c, c) for c in columns)} FROM mapideas_idea"
        " WHERE id = %s RETURNING id"
    )
    return insert, first, last


@csrf_exempt
def pin_sql(request: HttpRequest) -> JsonResponse:
    insert, first, last = _statements()
    body = json.loads(request.body)
    lon, lat = body["location"]["coordinates"]
    key = request.headers["Idempotency-Key"]
    copied = random.randint(first, last)  # noqa: S311 (which row to copy, not a secret)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, slug, name, name_translations, position FROM mapideas_category"
            " WHERE slug = %s",
            [body["category"]],
        )
        cursor.fetchall()
        cursor.execute(
            "SELECT id, idempotency_fingerprint FROM mapideas_idea WHERE idempotency_key = %s",
            [key],
        )
        cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mapideas_ratelimitcounter (bucket, identity, window_start, window_end,"
            " hits) VALUES ('submit', 'bench', 0, 1, 1)"
            " ON CONFLICT (bucket, identity, window_start, window_end)"
            " DO UPDATE SET hits = mapideas_ratelimitcounter.hits + 1 RETURNING hits"
        )
        cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.id, n.team_id FROM neighborhoods_neighborhood n"
            " JOIN neighborhoods_boundaryversion v ON v.id = n.version_id"
            " WHERE v.is_active AND ST_Covers(n.geometry, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
            " ORDER BY n.priority DESC, n.area_m2, n.slug",
            [float(lon), float(lat)],
        )
        cursor.fetchall()
        cursor.execute("SELECT 1 FROM neighborhoods_boundaryversion WHERE is_active FOR SHARE")
        cursor.execute(insert, [f"django-floor-{key}", copied])
        (pk,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO mapideas_routingevent (idea_id, cause, to_neighborhood_id, to_team_id,"
            " boundary_version_id, reason, created_at)"
            " SELECT %s, 'created', neighborhood_id, team_id,"
            " (SELECT id FROM neighborhoods_boundaryversion WHERE is_active), 'Bench.', now()"
            " FROM mapideas_idea WHERE id = %s",
            [pk, copied],
        )
        cursor.execute("SELECT id, events FROM mapideas_webhookendpoint WHERE active")
        cursor.fetchall()
        cursor.execute("SELECT id FROM mapideas_backofficeendpoint WHERE active AND team_id = 1")
        cursor.fetchall()
    return JsonResponse({"type": "Feature", "id": pk}, status=201)


urlpatterns = [path("bench/pin-sql/", pin_sql), path("", include("mapideas.urls"))]
