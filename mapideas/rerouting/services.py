"""Bulk re-routing of open pins after a boundary change: set-based SQL, no Python loop.

It applies the rules of neighborhoods.routing.route() in SQL, in the same order:

1. one INSERT ... SELECT finds each open pin's owner neighborhood in the new version (a
   correlated `ST_Covers` subquery, ordered like OWNER_ORDER) and its team, or the triage
   team when no neighborhood covers it (an open pin is never dropped: the city shrank, a
   person must look at it);
2. one UPDATE per category rule overrides the team (city-wide rules first, so that rules for
   named neighborhoods win; within each kind the newest first, so that the oldest matching
   rule has the last word, as in `category_rule()`); then pins staff re-assigned by hand
   (Idea.team_set_by_staff) keep their team: a person decided who answers for them, and new
   polygons do not overrule that (their neighborhood still follows the polygons);
3. one INSERT ... SELECT writes a RoutingEvent for every pin whose team or neighborhood
   (by slug) changes, with the reason given;
4. one UPDATE ... FROM moves the pins; one DELETE empties the staging rows;
5. where the new version has overlapping neighborhoods, or open pins still carry "also in
   their area" teams from an earlier version, those are recomputed with one spatial join.

On PostgreSQL, steps 1-4 are one statement instead (_reroute_postgresql): data-modifying CTEs,
no staging rows, and a spatial join that runs polygon by polygon like a bare
`UPDATE ... FROM ... ST_Covers`. The rules, their order and the audit trail are the same;
`make bench` (row reroute_1m) times it against that bare UPDATE on 1M pins.

The caller holds the transaction (mapideas.rerouting.services.boundaries_activate).

PostGIS uses its GiST index for `ST_Covers` by itself. SpatiaLite has no such planner support
and evaluates ST_Covers against every neighborhood of the version (its R*Tree is not used: the
table rebuilds SQLite does on ALTER leave it unmaintained), which is fine for hundreds of
polygons and the pin counts SpatiaLite is meant for.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from mapideas.audit import services as audit
from mapideas.backoffice import queue as backoffice
from mapideas.models import (
    Idea,
    RerouteStaging,
    RoutingEvent,
    ViewportCellCount,
    ViewportCount,
)
from neighborhoods.models import BoundaryVersion, CategoryRule, Neighborhood
from neighborhoods.routing import triage_team
from neighborhoods.services import version_switch

# What a re-route writes, for the ANALYZE that ends a command which activated boundaries: the
# pins, their routing history and "also in their area" teams, and the viewport counts kept by
# triggers (a pin that changes team or neighborhood moves between their rows).
REROUTED_TABLES = (
    Idea,
    RoutingEvent,
    Idea.also_in_teams.through,
    ViewportCount,
    ViewportCellCount,
)


@dataclass(frozen=True)
class RerouteResult:
    open_ideas: int
    moved: int  # pins whose team or neighborhood changed, each with a RoutingEvent
    team_changed: int


def _owner_subquery() -> str:
    """SQL for the id of the neighborhood of version %(version)s owning idea row `i`.

    On SpatiaLite the R*Tree of the neighborhood polygons narrows the candidates to those whose
    bounding box holds the point (SQLite's planner cannot use it on its own; the index is kept
    alive by mapideas.plumbing.spatialite); PostGIS uses its GiST index for ST_Covers by itself.
    """
    rtree = ""
    if connection.vendor == "sqlite":
        rtree = (
            " AND n.id IN (SELECT pkid FROM idx_neighborhoods_neighborhood_geometry"
            " WHERE xmin <= ST_X(i.location) AND xmax >= ST_X(i.location)"
            " AND ymin <= ST_Y(i.location) AND ymax >= ST_Y(i.location))"
        )
    return (
        "SELECT n.id FROM neighborhoods_neighborhood n"
        f" WHERE n.version_id = %(version)s AND ST_Covers(n.geometry, i.location){rtree}"
        " ORDER BY n.priority DESC, n.area_m2, n.slug LIMIT 1"
    )


def reroute_open_ideas(
    *, version: BoundaryVersion, reason: str, cause: str = RoutingEvent.Cause.BOUNDARY_CHANGE
) -> RerouteResult:
    batch = uuid.uuid4().hex
    open_statuses = [str(s) for s in Idea.OPEN_STATUSES]
    params = {
        "batch": batch,
        "version": version.pk,
        "triage": triage_team().pk,
        "now": timezone.now(),
        "cause": str(cause),
        "reason": reason,
    }
    status_list = ", ".join(f"%(status{k})s" for k in range(len(open_statuses)))
    params.update({f"status{k}": status for k, status in enumerate(open_statuses)})
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            open_count, moved, team_changed = _reroute_postgresql(
                cursor, version, status_list, params
            )
        else:
            open_count, moved, team_changed = _reroute_staged(
                cursor, version, batch, status_list, params
            )
        # 5. "Also in their area", where this version has overlapping neighborhoods, or where
        # open pins carry teams from the version before (which may no longer overlap there).
        if version.overlap_area_m2 > 0 or (
            Idea.also_in_teams.through.objects.filter(idea__status__in=open_statuses).exists()
        ):
            _recompute_also_in(cursor, version, status_list, params)
    return RerouteResult(open_ideas=open_count, moved=moved, team_changed=team_changed)


def _reroute_staged(
    cursor, version: BoundaryVersion, batch: str, status_list: str, params: dict
) -> tuple[int, int, int]:
    """Steps 1-4 through staging rows, in SQL that SpatiaLite and PostgreSQL both run."""
    # 1. Each open pin's new owner and that owner's team (triage where none covers it).
    # MATERIALIZED: as a plain subquery, SQLite flattened it and ran the owner subquery twice
    # per pin (for the column and again for the LEFT JOIN). The statement must start with
    # INSERT: Python's sqlite3 gives no rowcount for one starting with WITH.
    cursor.execute(
        "INSERT INTO mapideas_reroutestaging"
        " (batch, idea_id, from_neighborhood_id, from_team_id, to_neighborhood_id, to_team_id)"
        " WITH s AS MATERIALIZED (SELECT %(batch)s AS batch, i.id AS idea_id,"
        " i.neighborhood_id AS from_nb, i.team_id AS from_team,"
        f" ({_owner_subquery()}) AS to_nb"
        f" FROM mapideas_idea i WHERE i.status IN ({status_list}))"
        " SELECT s.batch, s.idea_id, s.from_nb, s.from_team, s.to_nb,"
        " COALESCE(n.team_id, %(triage)s)"
        " FROM s LEFT JOIN neighborhoods_neighborhood n ON n.id = s.to_nb",
        params,
    )
    open_count = cursor.rowcount
    # 2. Category rules override the team; a team chosen by staff overrides both.
    _apply_category_rules(cursor, batch, version)
    cursor.execute(
        "UPDATE mapideas_reroutestaging SET to_team_id = from_team_id"
        " WHERE batch = %(batch)s AND idea_id IN"
        " (SELECT id FROM mapideas_idea WHERE team_set_by_staff)",
        params,
    )
    # 3. The audit trail, for pins whose team or neighborhood (by slug) changes.
    cursor.execute(
        "INSERT INTO mapideas_routingevent (idea_id, cause, from_neighborhood_id,"
        " to_neighborhood_id, from_team_id, to_team_id, boundary_version_id, reason,"
        " created_at)"
        " SELECT st.idea_id, %(cause)s, st.from_neighborhood_id, st.to_neighborhood_id,"
        " st.from_team_id, st.to_team_id, %(version)s, %(reason)s, %(now)s"
        " FROM mapideas_reroutestaging st"
        " LEFT JOIN neighborhoods_neighborhood nb_from ON nb_from.id = st.from_neighborhood_id"
        " LEFT JOIN neighborhoods_neighborhood nb_to ON nb_to.id = st.to_neighborhood_id"
        " WHERE st.batch = %(batch)s AND (st.from_team_id <> st.to_team_id"
        " OR COALESCE(nb_from.slug, '') <> COALESCE(nb_to.slug, ''))",
        params,
    )
    moved = cursor.rowcount
    cursor.execute(
        "SELECT COUNT(*) FROM mapideas_reroutestaging"
        " WHERE batch = %(batch)s AND from_team_id <> to_team_id",
        params,
    )
    team_changed = cursor.fetchone()[0]
    # 4. Move the pins (every open pin now points at the new version's polygon).
    cursor.execute(
        "UPDATE mapideas_idea SET neighborhood_id = st.to_neighborhood_id,"
        " team_id = st.to_team_id, updated_at = %(now)s,"
        # A pin that changes team leaves its assignee behind (a member of the old team).
        " assignee_id = CASE WHEN st.to_team_id <> mapideas_idea.team_id THEN NULL"
        " ELSE mapideas_idea.assignee_id END"
        " FROM mapideas_reroutestaging st"
        " WHERE st.batch = %(batch)s AND st.idea_id = mapideas_idea.id",
        params,
    )
    cursor.execute("DELETE FROM mapideas_reroutestaging WHERE batch = %(batch)s", params)
    return open_count, moved, team_changed


def _reroute_postgresql(
    cursor, version: BoundaryVersion, status_list: str, params: dict
) -> tuple[int, int, int]:
    """Steps 1-4 as one PostgreSQL statement: the same rules and audit trail, nothing staged.

    Why (measured with `make bench`, 1M open pins, the 77 Chicago polygons of ~550 vertices):
    the staged steps took ~300 s against ~47 s for the bare UPDATE ... FROM ... ST_Covers,
    70% of it in step 1. Its correlated owner subquery runs per pin, unprepared (each call
    reads and unpacks a TOASTed polygon), and EXPLAIN showed it evaluated three times per pin
    (for the column, and twice for the LEFT JOIN's hash key); then 1M staging rows are
    written, indexed, joined back by a nested loop (the planner expects a few hundred), and
    deleted. Here the join runs polygon by polygon over the pins' GiST index (each polygon
    prepared once, as in the bare UPDATE); DISTINCT ON keeps one owner per pin in
    OWNER_ORDER; the CTEs are materialised once and read by the INSERT of the events and by
    the UPDATE, which all see the same snapshot. Now ~1.2x the bare UPDATE: the rest is
    the RoutingEvent rows and their foreign-key checks.
    """
    cases = []
    for k, (rule, neighborhood_ids) in enumerate(reversed(_rules_in_order(version))):
        # Reversed: the rule applied last by the staged UPDATEs is the first CASE to match.
        params[f"rule{k}_team"] = rule.team_id
        params[f"rule{k}_category"] = rule.category
        where = f"c.slug = %(rule{k}_category)s"
        if neighborhood_ids is not None:
            where += " AND o.neighborhood_id IN ({})".format(
                ", ".join(str(int(pk)) for pk in neighborhood_ids)
            )
        cases.append(f" WHEN {where} THEN %(rule{k}_team)s")
    to_team = "COALESCE(o.team_id, %(triage)s)"
    category_join = ""
    if cases:
        to_team = f"CASE{''.join(cases)} ELSE {to_team} END"
        category_join = " JOIN mapideas_category c ON c.id = i.category_id"
    # A team chosen by staff (Idea.team_set_by_staff) overrides the polygons and the rules.
    to_team = f"CASE WHEN i.team_set_by_staff THEN i.team_id ELSE {to_team} END"
    cursor.execute(
        # 1. Each open pin's owner in the new version: the first covering one in OWNER_ORDER.
        "WITH owner AS MATERIALIZED ("
        " SELECT DISTINCT ON (i.id) i.id AS idea_id, n.id AS neighborhood_id, n.team_id, n.slug"
        " FROM neighborhoods_neighborhood n"
        " JOIN mapideas_idea i ON ST_Covers(n.geometry, i.location)"
        f" WHERE n.version_id = %(version)s AND i.status IN ({status_list})"
        " ORDER BY i.id, n.priority DESC, n.area_m2, n.slug),"
        # 1-2. Every open pin with its owner's team, a category rule's, or triage's (or the
        # one staff chose).
        " moves AS MATERIALIZED ("
        " SELECT i.id AS idea_id, i.neighborhood_id AS from_nb, i.team_id AS from_team,"
        f" o.neighborhood_id AS to_nb, {to_team} AS to_team,"
        " COALESCE(nb_from.slug, '') <> COALESCE(o.slug, '') AS slug_changed"
        " FROM mapideas_idea i"
        " LEFT JOIN owner o ON o.idea_id = i.id"
        " LEFT JOIN neighborhoods_neighborhood nb_from ON nb_from.id = i.neighborhood_id"
        f"{category_join}"
        f" WHERE i.status IN ({status_list})),"
        # 3. The audit trail, for pins whose team or neighborhood (by slug) changes.
        " events AS ("
        " INSERT INTO mapideas_routingevent (idea_id, cause, from_neighborhood_id,"
        " to_neighborhood_id, from_team_id, to_team_id, boundary_version_id, reason,"
        " created_at)"
        " SELECT idea_id, %(cause)s, from_nb, to_nb, from_team, to_team, %(version)s,"
        " %(reason)s, %(now)s FROM moves WHERE from_team <> to_team OR slug_changed"
        " RETURNING 1),"
        # 4. Move the pins (every open pin now points at the new version's polygon). A
        # data-modifying CTE always runs to completion, read or not.
        " moved AS ("
        " UPDATE mapideas_idea SET neighborhood_id = m.to_nb, team_id = m.to_team,"
        " updated_at = %(now)s,"
        # A pin that changes team leaves its assignee behind (a member of the old team).
        " assignee_id = CASE WHEN m.to_team <> m.from_team THEN NULL"
        " ELSE mapideas_idea.assignee_id END"
        " FROM moves m WHERE m.idea_id = mapideas_idea.id)"
        " SELECT (SELECT COUNT(*) FROM moves), (SELECT COUNT(*) FROM events),"
        " (SELECT COUNT(*) FROM moves WHERE from_team <> to_team)",
        params,
    )
    open_count, moved, team_changed = cursor.fetchone()
    return open_count, moved, team_changed


def _recompute_also_in(cursor, version: BoundaryVersion, status_list: str, params: dict) -> None:
    through = Idea.also_in_teams.through._meta.db_table
    cursor.execute(
        f"DELETE FROM {through} WHERE idea_id IN"
        f" (SELECT id FROM mapideas_idea WHERE status IN ({status_list}))",
        params,
    )
    # The other covering neighborhoods' teams, as in route(): not the owner's (whose team a
    # category rule may have overridden), and not the team the pin went to.
    cursor.execute(
        f"INSERT INTO {through} (idea_id, team_id)"
        " SELECT DISTINCT i.id, n.team_id FROM mapideas_idea i"
        " JOIN neighborhoods_neighborhood n ON n.version_id = %(version)s"
        " AND ST_Covers(n.geometry, i.location)"
        f" WHERE i.status IN ({status_list}) AND n.team_id <> i.team_id"
        " AND n.id <> i.neighborhood_id",
        params,
    )


def _rules_in_order(version: BoundaryVersion) -> list[tuple[CategoryRule, list[int] | None]]:
    """The category rules in the order they are applied, each with the ids of its named
    neighborhoods in `version` (None for a city-wide rule; a rule none of whose
    neighborhoods exist in `version` is left out).

    City-wide first, named neighborhoods last, and within each the newest first: the last
    rule that matches a pin wins, and it must be the rule route() picks (the oldest rule for
    that neighborhood, else city-wide).
    """
    ordered: list[tuple[CategoryRule, list[int] | None]] = []
    for rule in sorted(CategoryRule.objects.all(), key=lambda r: (bool(r.slugs), -r.pk)):
        if not rule.slugs:
            ordered.append((rule, None))
            continue
        ids = list(
            Neighborhood.objects.filter(version=version, slug__in=rule.slugs).values_list(
                "pk", flat=True
            )
        )
        if ids:
            ordered.append((rule, ids))
    return ordered


def _apply_category_rules(cursor, batch: str, version: BoundaryVersion) -> None:
    """Category rules override the staged team, one UPDATE each, in _rules_in_order."""
    for rule, ids in _rules_in_order(version):
        where = ""
        rule_params = {"batch": batch, "team": rule.team_id, "category": rule.category}
        if ids is not None:
            where = " AND to_neighborhood_id IN ({})".format(", ".join(str(int(pk)) for pk in ids))
        cursor.execute(
            "UPDATE mapideas_reroutestaging SET to_team_id = %(team)s"
            " WHERE batch = %(batch)s AND to_team_id IS NOT NULL"
            " AND idea_id IN (SELECT i.id FROM mapideas_idea i"
            " JOIN mapideas_category c ON c.id = i.category_id"
            f" WHERE c.slug = %(category)s){where}",
            rule_params,
        )


@dataclass(frozen=True)
class NewIdeasRouted:
    routed: int
    refused_ids: list[int]  # outside the service area: the caller removes them


def route_new_ideas(*, idea_ids: list[int], version: BoundaryVersion) -> NewIdeasRouted:
    """Route freshly inserted pins (a bulk import) set-based, with the rules of route().

    The pins must already exist (any team; no neighborhood). Pins outside the service area
    are not touched and come back in `refused_ids`; every other pin gets its neighborhood,
    team, "also in their area" teams and a RoutingEvent saying why, as idea_create would.
    The caller holds the transaction.
    """
    batch = uuid.uuid4().hex
    params: dict[str, str | int | datetime] = {
        "batch": batch,
        "version": version.pk,
        "triage": triage_team().pk,
        "now": timezone.now(),
        "cause": str(RoutingEvent.Cause.CREATED),
    }
    RerouteStaging.objects.bulk_create(
        [RerouteStaging(batch=batch, idea_id=pk, from_team_id=0) for pk in idea_ids],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        # 1. The owner neighborhood, then its team; triage inside the service area; refused
        # (no team) outside it.
        if connection.vendor == "postgresql":
            # One spatial join, polygon by polygon (as a bare UPDATE ... FROM would run it),
            # DISTINCT ON keeping the owner of each pin.
            cursor.execute(
                "UPDATE mapideas_reroutestaging SET to_neighborhood_id = owner.nid"
                " FROM (SELECT DISTINCT ON (st.idea_id) st.idea_id, n.id AS nid"
                " FROM mapideas_reroutestaging st"
                " JOIN mapideas_idea i ON i.id = st.idea_id"
                " JOIN neighborhoods_neighborhood n ON n.version_id = %(version)s"
                " AND ST_Covers(n.geometry, i.location)"
                " WHERE st.batch = %(batch)s"
                " ORDER BY st.idea_id, n.priority DESC, n.area_m2, n.slug) owner"
                " WHERE mapideas_reroutestaging.batch = %(batch)s"
                " AND mapideas_reroutestaging.idea_id = owner.idea_id",
                params,
            )
        else:
            cursor.execute(
                "UPDATE mapideas_reroutestaging SET to_neighborhood_id = (SELECT n.id"
                " FROM mapideas_idea i, neighborhoods_neighborhood n"
                " WHERE i.id = mapideas_reroutestaging.idea_id"
                f" AND n.id = ({_owner_subquery()}))"
                " WHERE batch = %(batch)s",
                params,
            )
        cursor.execute(
            "UPDATE mapideas_reroutestaging SET to_team_id = (SELECT n.team_id"
            " FROM neighborhoods_neighborhood n WHERE n.id = to_neighborhood_id)"
            " WHERE batch = %(batch)s AND to_neighborhood_id IS NOT NULL",
            params,
        )
        cursor.execute(
            "UPDATE mapideas_reroutestaging SET to_team_id = %(triage)s"
            " WHERE batch = %(batch)s AND to_neighborhood_id IS NULL AND EXISTS (SELECT 1"
            " FROM neighborhoods_boundaryversion v JOIN mapideas_idea i"
            " ON i.id = mapideas_reroutestaging.idea_id"
            " WHERE v.id = %(version)s AND ST_Covers(v.service_area, i.location))",
            params,
        )
        cursor.execute(
            "SELECT idea_id FROM mapideas_reroutestaging"
            " WHERE batch = %(batch)s AND to_team_id IS NULL ORDER BY idea_id",
            params,
        )
        refused = [row[0] for row in cursor.fetchall()]
        # 2. Category rules (they leave refused pins refused).
        _apply_category_rules(cursor, batch, version)
        # 3. Why each pin went where it went, in the words route() uses.
        cursor.execute(
            "INSERT INTO mapideas_routingevent (idea_id, cause, to_neighborhood_id, to_team_id,"
            " boundary_version_id, reason, created_at)"
            " SELECT st.idea_id, %(cause)s, st.to_neighborhood_id, st.to_team_id, %(version)s,"
            " CASE"
            " WHEN st.to_team_id <> COALESCE(n.team_id, %(triage)s) THEN"
            " 'Category rule: ' || c.slug || ' in ' || COALESCE(n.name, 'the city')"
            " || ' goes to ' || t.name || '.'"
            " WHEN n.id IS NULL THEN"
            " 'Outside every neighborhood but inside the service area: city-wide triage.'"
            " ELSE 'Inside ' || n.name || '.' END,"
            " i.created_at"
            " FROM mapideas_reroutestaging st"
            " JOIN mapideas_idea i ON i.id = st.idea_id"
            " JOIN mapideas_category c ON c.id = i.category_id"
            " JOIN neighborhoods_team t ON t.id = st.to_team_id"
            " LEFT JOIN neighborhoods_neighborhood n ON n.id = st.to_neighborhood_id"
            " WHERE st.batch = %(batch)s AND st.to_team_id IS NOT NULL",
            params,
        )
        routed = cursor.rowcount
        # 4. Place the pins, and the teams of the other neighborhoods covering them.
        cursor.execute(
            "UPDATE mapideas_idea SET neighborhood_id = st.to_neighborhood_id,"
            " team_id = st.to_team_id, updated_at = %(now)s"
            " FROM mapideas_reroutestaging st"
            " WHERE st.batch = %(batch)s AND st.idea_id = mapideas_idea.id"
            " AND st.to_team_id IS NOT NULL",
            params,
        )
        if version.overlap_area_m2 > 0:
            through = Idea.also_in_teams.through._meta.db_table
            cursor.execute(
                f"INSERT INTO {through} (idea_id, team_id)"
                " SELECT DISTINCT st.idea_id, n.team_id FROM mapideas_reroutestaging st"
                " JOIN mapideas_idea i ON i.id = st.idea_id"
                " JOIN neighborhoods_neighborhood n ON n.version_id = %(version)s"
                " AND ST_Covers(n.geometry, i.location)"
                " WHERE st.batch = %(batch)s AND st.to_team_id IS NOT NULL"
                " AND n.team_id <> st.to_team_id"
                " AND (st.to_neighborhood_id IS NULL OR n.id <> st.to_neighborhood_id)",
                params,
            )
        cursor.execute("DELETE FROM mapideas_reroutestaging WHERE batch = %(batch)s", params)
    return NewIdeasRouted(routed=routed, refused_ids=refused)


@transaction.atomic
def boundaries_activate(
    *, version: BoundaryVersion, reason: str = "", actor: User | AnonymousUser | None = None
) -> RerouteResult:
    """Switch routing to `version` and re-route the open pins, all in one transaction.

    Closed pins keep the neighborhood and team that closed them (and their history). The
    staff member who switched (`actor`, from the staff pages) is in the audit log.
    """
    previous = version_switch(version)
    reason = reason or (
        f"Boundaries changed from {previous.label!r} to {version.label!r}."
        if previous
        else f"Boundaries set to {version.label!r}."
    )
    result = reroute_open_ideas(version=version, reason=reason)
    # Back offices follow after the commit, in batches: not a row per pin in here.
    transaction.on_commit(partial(backoffice.forwards_follow_boundaries, version.pk))
    audit.audit_record(
        actor=actor,
        action=audit.Action.BOUNDARIES,
        summary=audit.in_site_language(
            lambda: (
                gettext("Boundaries “%(label)s” switched on: %(reason)s")
                % {"label": version.label, "reason": reason}
            )
        ),
    )
    return result
