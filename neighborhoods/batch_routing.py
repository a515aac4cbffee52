"""route() for many points at once, for a bulk import (geodata.imports.ideas).

The rules are route()'s (neighborhoods.routing), applied the same way: the neighborhoods of the
version covering each point come from the database in OWNER_ORDER, and the owner, its category
rule (category_rule() itself, asked once per category and owner), the team and the "also in
their area" teams are picked in Python exactly as route() picks them. Only the queries differ:
one per few hundred points for the covering neighborhoods, one for the service area of the
points no neighborhood covers, instead of one or two per point.
"""

# ruff: noqa: S608 - SQL assembled from this module's constants and the loop's own integers.

from django.db import connection

from neighborhoods.models import BoundaryVersion, CategoryRule, Neighborhood, Team
from neighborhoods.routing import OWNER_ORDER, Route, category_rule, triage_team

# Points per query of BatchRouter: 3 bound values each on SQLite, whose default limit is
# 32,766 of them (999 before SQLite 3.32).
_BATCH_POINTS = 300

# OWNER_ORDER in SQL, for the neighborhoods `n` covering a point.
_OWNER_ORDER_SQL = ", ".join(
    f"n.{name[1:]} DESC" if name.startswith("-") else f"n.{name}" for name in OWNER_ORDER
)


class BatchRouter:
    """route() for many points at once, as a bulk import needs it: one query per few hundred
    points for the neighborhoods covering them, one for the service area of those no
    neighborhood covers, and the rest in Python with the rules of route() (the owner in
    OWNER_ORDER, its category rule, "also in their area" teams).

    It reads the neighborhoods and teams of `version` once, and each rule it needs once: build
    one per import, inside its transaction.
    """

    def __init__(self, version: BoundaryVersion) -> None:
        self.version = version
        self.neighborhoods = {
            n.pk: n
            for n in Neighborhood.objects.filter(version=version)
            .select_related("team")
            .defer("geometry")
        }
        for neighborhood in self.neighborhoods.values():
            neighborhood.version = version
        self.rules: dict[tuple[str, str | None], CategoryRule | None] = {}
        self.triage = triage_team()

    def _rule(self, category: str, neighborhood_slug: str | None) -> CategoryRule | None:
        key = (category, neighborhood_slug)
        if key not in self.rules:
            self.rules[key] = category_rule(category, neighborhood_slug)
        return self.rules[key]

    def route(self, points: list[tuple[float, float]], categories: list[str]) -> list[Route | None]:
        """Where each WGS84 point (longitude, latitude) with the category slug at the same
        index goes, as route() would send it; None for a point outside the service area."""
        covering: dict[int, list[Neighborhood]] = {}
        for start in range(0, len(points), _BATCH_POINTS):
            chunk = points[start : start + _BATCH_POINTS]
            for k, neighborhood_id in self._covers(chunk, start):
                covering.setdefault(k, []).append(self.neighborhoods[neighborhood_id])
        uncovered = [k for k in range(len(points)) if k not in covering]
        served: set[int] = set()
        for start in range(0, len(uncovered), _BATCH_POINTS):
            ks = uncovered[start : start + _BATCH_POINTS]
            served.update(self._in_service_area([(k, *points[k]) for k in ks]))
        routes: list[Route | None] = []
        for k, category in enumerate(categories):
            candidates = covering.get(k)
            if candidates:
                owner = candidates[0]
                rule = self._rule(category, owner.slug)
                team = rule.team if rule else owner.team
                also_in: list[Team] = []
                for other in candidates[1:]:
                    if other.team != team and other.team not in also_in:
                        also_in.append(other.team)
                routes.append(
                    Route(owner, team, also_in=tuple(also_in), rule=rule, version=self.version)
                )
            elif k in served:
                rule = self._rule(category, None)
                routes.append(
                    Route(None, rule.team if rule else self.triage, rule=rule, version=self.version)
                )
            else:
                routes.append(None)
        return routes

    def _values(self, points: list[tuple[int, float, float]]) -> tuple[str, list[float]]:
        # The indexes are this code's own integers, written into the SQL; the coordinates are
        # bound (exactly the floats the pins will store, so ST_Covers decides as for them).
        rows = ", ".join(f"({int(k)}, %s, %s)" for k, _x, _y in points)
        return f"WITH p(k, x, y) AS (VALUES {rows})", [c for _k, x, y in points for c in (x, y)]

    def _point(self) -> str:
        if connection.vendor == "postgresql":
            return "ST_SetSRID(ST_MakePoint(p.x::float8, p.y::float8), 4326)"
        return "MakePoint(p.x, p.y, 4326)"

    def _covers(self, points: list[tuple[float, float]], first: int) -> list[tuple[int, int]]:
        """(index, neighborhood id) of every neighborhood covering each point, owner first."""
        values, params = self._values([(first + k, x, y) for k, (x, y) in enumerate(points)])
        if connection.vendor == "postgresql":
            condition = f"ST_Covers(n.geometry, {self._point()})"
        else:
            # SpatiaLite: the R*Tree narrows the candidates (see _owner_subquery in
            # mapideas.rerouting.services); ST_Covers answers -1 on an error, hence `= 1`.
            condition = (
                "n.id IN (SELECT pkid FROM idx_neighborhoods_neighborhood_geometry"
                " WHERE xmin <= p.x AND xmax >= p.x AND ymin <= p.y AND ymax >= p.y)"
                f" AND ST_Covers(n.geometry, {self._point()}) = 1"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"{values} SELECT p.k, n.id FROM p JOIN neighborhoods_neighborhood n"
                f" ON n.version_id = %s AND {condition}"
                f" ORDER BY p.k, {_OWNER_ORDER_SQL}",
                [*params, self.version.pk],
            )
            return cursor.fetchall()

    def _in_service_area(self, points: list[tuple[int, float, float]]) -> list[int]:
        values, params = self._values(points)
        covers = f"ST_Covers(v.service_area, {self._point()})"
        if connection.vendor != "postgresql":
            covers += " = 1"
        with connection.cursor() as cursor:
            cursor.execute(
                f"{values} SELECT p.k FROM p JOIN neighborhoods_boundaryversion v"
                f" ON v.id = %s AND {covers}",
                [*params, self.version.pk],
            )
            return [k for (k,) in cursor.fetchall()]
