"""Bulk re-routing of open pins after a boundary change: set-based SQL, no Python loop.

It applies the rules of neighborhoods.routing.route() in SQL, in the same order:

1. one INSERT ... SELECT finds each open pin's owner neighborhood in the new version (a
   correlated `ST_Covers` subquery, ordered like OWNER_ORDER) and its team, or the triage
   team when no neighborhood covers it (an open pin is never dropped: the city shrank, a
   person must look at it);
2. one UPDATE per category rule overrides the team (city-wide rules first, so that rules for
   named neighborhoods win; within each kind the newest first, so that the oldest matching
   rule has the last word, as in `category_rule()`);
3. one INSERT ... SELECT writes a RoutingEvent for every pin whose team or neighborhood
   (by slug) changes, with the reason given;
4. one UPDATE ... FROM moves the pins; one DELETE empties the staging rows;
5. where the new version has overlapping neighborhoods, or open pins still carry "also in
   their area" teams from an earlier version, those are recomputed with one spatial join.

The caller holds the transaction (mapideas.services.boundaries_activate).

PostGIS uses its GiST index for `ST_Covers` by itself. SpatiaLite has no such planner support
and evaluates ST_Covers against every neighborhood of the version (its R*Tree is not used: the
table rebuilds SQLite does on ALTER leave it unmaintained), which is fine for hundreds of
polygons and the pin counts SpatiaLite is meant for.
"""

import uuid
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from mapideas.models import Idea, RoutingEvent
from neighborhoods.models import BoundaryVersion, CategoryRule, Neighborhood
from neighborhoods.routing import triage_team


@dataclass(frozen=True)
class RerouteResult:
    open_ideas: int
    moved: int  # pins whose team or neighborhood changed, each with a RoutingEvent
    team_changed: int


def _owner_subquery() -> str:
    """SQL for the id of the neighborhood of version %(version)s owning idea row `i`."""
    return (
        "SELECT n.id FROM neighborhoods_neighborhood n"
        " WHERE n.version_id = %(version)s AND ST_Covers(n.geometry, i.location)"
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
        # 1. Each open pin's new owner and that owner's team (triage where none covers it).
        cursor.execute(
            "INSERT INTO mapideas_reroutestaging"
            " (batch, idea_id, from_neighborhood_id, from_team_id, to_neighborhood_id, to_team_id)"
            " SELECT s.batch, s.idea_id, s.from_nb, s.from_team, s.to_nb,"
            " COALESCE(n.team_id, %(triage)s)"
            " FROM (SELECT %(batch)s AS batch, i.id AS idea_id, i.neighborhood_id AS from_nb,"
            f" i.team_id AS from_team, ({_owner_subquery()}) AS to_nb"
            f" FROM mapideas_idea i WHERE i.status IN ({status_list})) s"
            " LEFT JOIN neighborhoods_neighborhood n ON n.id = s.to_nb",
            params,
        )
        open_count = cursor.rowcount
        # 2. Category rules override the team: city-wide first, named neighborhoods last, and
        # within each the newest first: the last UPDATE that matches a pin wins, and it must
        # be the rule route() picks (the oldest rule for that neighborhood, else city-wide).
        rules = sorted(CategoryRule.objects.all(), key=lambda r: (bool(r.slugs), -r.pk))
        for rule in rules:
            where = ""
            rule_params = {"batch": batch, "team": rule.team_id, "category": rule.category}
            if rule.slugs:
                ids = list(
                    Neighborhood.objects.filter(version=version, slug__in=rule.slugs).values_list(
                        "pk", flat=True
                    )
                )
                if not ids:
                    continue
                where = " AND to_neighborhood_id IN ({})".format(
                    ", ".join(str(int(pk)) for pk in ids)
                )
            cursor.execute(
                "UPDATE mapideas_reroutestaging SET to_team_id = %(team)s"
                " WHERE batch = %(batch)s AND idea_id IN (SELECT i.id FROM mapideas_idea i"
                " JOIN mapideas_category c ON c.id = i.category_id"
                f" WHERE c.slug = %(category)s){where}",
                rule_params,
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
            " team_id = st.to_team_id, updated_at = %(now)s"
            " FROM mapideas_reroutestaging st"
            " WHERE st.batch = %(batch)s AND st.idea_id = mapideas_idea.id",
            params,
        )
        cursor.execute("DELETE FROM mapideas_reroutestaging WHERE batch = %(batch)s", params)
        # 5. "Also in their area", where this version has overlapping neighborhoods, or where
        # open pins carry teams from the version before (which may no longer overlap there).
        if version.overlap_area_m2 > 0 or (
            Idea.also_in_teams.through.objects.filter(idea__status__in=open_statuses).exists()
        ):
            _recompute_also_in(cursor, version, status_list, params)
    return RerouteResult(open_ideas=open_count, moved=moved, team_changed=team_changed)


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
