"""Reads of pins: the public querysets every page, API and export starts from; who sees a pin."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Point
from django.db.models import (
    Prefetch,
    QuerySet,
    prefetch_related_objects,
)

from mapideas.map.viewport_counts import (
    CountFilters,
    neighborhood_pin_count,
    public_pin_total,
)
from mapideas.models import (
    ID_MAX,
    PUBLIC_PINS,
    Category,
    Handoff,
    Idea,
    IdeaPhoto,
    IdeaUpdate,
    RoutingEvent,
    TimelinePhoto,
)
from mapideas.pins.fields import COORDINATE_PRECISION
from mapideas.pins.roles import can_see_internal
from neighborhoods.compiled_queries import CompiledQuery
from neighborhoods.models import Neighborhood
from neighborhoods.routing import NearbyNeighborhood, Route, nearest_other_neighborhood, route
from neighborhoods.selectors import active_neighborhoods


def all_ideas() -> QuerySet[Idea]:
    """Every pin, those awaiting their author's email confirmation included, with what their
    fields need, newest first: for the teams and staff (queues, workspaces, a pin's page seen
    by its staff). Anything the public sees starts from `public_ideas()` instead.

    The neighborhood comes along for its name and slug, not its polygon: loading a polygon per
    pin made a page of pins ~80x slower on SpatiaLite. A page that needs it loads it once.
    """
    return (
        Idea.objects.select_related("category", "neighborhood", "team")
        .defer("neighborhood__geometry")
        .order_by("-created_at", "-id")
    )


def public_ideas() -> QuerySet[Idea]:
    """Pins anyone may see: every public page, list, API, export, OGC and Open311 answer and
    the planner's layers start here. A pin sent with an email address stays out until the
    link sent to that address is followed (services.idea_confirm), as FixMyStreet does. A
    pin hidden by moderation (enough flags, or removed by staff: mapideas.moderation) stays
    out until staff keep it.

    The photo's row comes along (a join, not a query per pin) for the Features' `photo_url`."""
    return all_ideas().filter(PUBLIC_PINS).select_related("photo")


# IdeaFilter's filters the counts kept on write answer (mapideas.map.viewport_counts).
_KEPT = frozenset(("category", "status", "kind", "channel", "team", "neighborhood"))


def public_ideas_total(*, using: str, filters: Mapping[str, Any]) -> int | None:
    """How many public pins IdeaFilter's cleaned `filters` select, exactly, from the counts
    kept on write, when those can answer: filters on the summary's columns only (category,
    status, kind, channel, team, neighborhood). None for any other filter given (a bbox, a
    date range), which they cannot answer: the caller counts, or estimates."""
    if any(value not in (None, "") for name, value in filters.items() if name not in _KEPT):
        return None
    category = filters.get("category")
    team = filters.get("team")
    neighborhood = filters.get("neighborhood")
    return public_pin_total(
        using=using,
        filters=CountFilters(
            category_id=category.pk if category else None,
            status=filters.get("status") or None,
            kind=filters.get("kind") or None,
            channel=filters.get("channel") or None,
            team_id=team.pk if team else None,
            neighborhood_slug=neighborhood.slug if neighborhood else None,
        ),
    )


# The reads of a pin's page and its API answer, each compiled to SQL once per database
# (neighborhoods.compiled_queries): compiling them was a third of the page's Python, more
# than the database spent answering. Each is the QuerySet written in its lambda, unsorted
# where the caller sorts (at most a few rows: one pin, one photo, a pin's timeline).
_pin_by_pk = CompiledQuery(lambda pk: all_ideas().filter(pk=pk).order_by(), ((1,), (2,)))
_shown_photo = CompiledQuery(
    lambda idea_id: IdeaPhoto.objects.filter(idea_id=idea_id, hidden_at__isnull=True),
    ((1,), (2,)),
)


def idea_photo(*, idea: Idea) -> IdeaPhoto | None:
    """The pin's photo if it has one that moderators have not hidden. Whether the pin itself
    may be seen is the caller's check (views.visible_pin_or_404)."""
    # One photo per pin at most (a one-to-one).
    found = _shown_photo(idea.pk, using=IdeaPhoto.objects.db_manager().db)
    return found[0] if found else None


def visible_idea(*, user, pk: int) -> Idea | None:
    """Pin `pk` as this person may see it, or None: public pins for anyone; a pin awaiting its
    author's email confirmation, or hidden by moderation, only for the staff who read its
    team's work (everyone else is told no such pin exists, never its content)."""
    if not 0 < pk <= ID_MAX:
        return None
    found = _pin_by_pk(pk, using=Idea.objects.db_manager().db)
    idea = found[0] if found else None
    if idea is None:
        return None
    if not idea.is_public and not can_see_internal(user, idea):
        return None
    return idea


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def category_names() -> list[Category]:
    """Every category with only its slug and names, in the list's order: the vocabulary each
    page gives its scripts (mapideas_tags.page_vocabulary)."""
    return _category_names(using=Category.objects.db_manager().db)


# Read on every map page, compiled to SQL once per database (see _pin_by_pk above).
_category_names = CompiledQuery(
    lambda: categories().only("slug", "name", "name_translations"), ((), ())
)


def neighborhoods_with_counts() -> QuerySet[Neighborhood]:
    """Neighborhoods with their team and the number of public pins routed to them.

    Public pins only: the count is public (the API), and must not betray a pin awaiting its
    author's confirmation. Read from the counts kept on write (mapideas.map.viewport_counts),
    in a subquery: grouping by every column would drag the polygons through the sort.
    `outline` is the polygons' GeoJSON text, written by the database (serializers.
    BoundaryGeometryField).
    """
    return (
        active_neighborhoods()
        .select_related("team")
        .annotate(
            idea_count=neighborhood_pin_count(),
            outline=AsGeoJSON("geometry", precision=COORDINATE_PRECISION),
        )
        .order_by("name")
    )


def routing_history(*, idea: Idea) -> QuerySet[RoutingEvent]:
    """Where the pin was routed and every move since, oldest first (for its public page and
    the API). The neighborhoods come for their names: their polygons stay in the database
    (parsing two polygons per event was most of the timeline's time)."""
    return (
        idea.routing_events.select_related(
            "from_neighborhood", "to_neighborhood", "from_team", "to_team"
        )
        .defer("from_neighborhood__geometry", "to_neighborhood__geometry")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class RoutePreview:
    """Where a pin would go, and the neighborhood just over the border when there is one."""

    route: Route
    nearby: NearbyNeighborhood | None

    @property
    def near_border(self) -> bool:
        return self.nearby is not None


def route_preview(*, location: Point, category: Category | None = None) -> RoutePreview | None:
    """What idea_create would decide for a pin here, without writing anything.

    None when the point is outside the service area (idea_create would refuse it).
    """
    routed = route(location, category.slug if category is not None else None)
    if routed is None:
        return None
    hint_m = settings.MAPIDEAS_BORDER_HINT_M
    nearby = (
        nearest_other_neighborhood(location, routed.neighborhood, within_m=hint_m)
        if hint_m > 0
        else None
    )
    return RoutePreview(route=routed, nearby=nearby)


def answer_photos() -> QuerySet[TimelinePhoto]:
    """The photos of the teams' public answers (before, after) that moderators have not
    hidden, before first. Whether the pin may be seen is the caller's check."""
    return TimelinePhoto.objects.filter(
        update__isnull=False,
        hidden_at__isnull=True,
        role__in=[TimelinePhoto.Role.BEFORE, TimelinePhoto.Role.AFTER],
    ).order_by("-role", "id")


def timeline_photo(*, idea: Idea, pk: int) -> TimelinePhoto | None:
    """Photo `pk` of an answer on `idea`, unless hidden (views.timeline_photo)."""
    return answer_photos().filter(idea=idea, pk=pk).first()


# --- The district teams' workflow ---------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a pin's public timeline: a routing event or a status change / answer."""

    created_at: datetime
    routing: RoutingEvent | None = None
    update: IdeaUpdate | None = None
    # Handed to an outside body (mapideas.handoffs): only the body's name is shown.
    handoff: Handoff | None = None


def idea_timeline(*, idea: Idea) -> list[TimelineEntry]:
    """The pin's public history, oldest first: where it was routed and every move, merged
    in time with the teams' status changes and answers. Nothing internal (notes, who did it,
    who it is assigned to). Hand-offs to an outside body, unless withdrawn, say only the
    body's name (never its address nor the team's message). Each answer brings its before
    and after photos that moderators have not hidden (`update.shown_photos`)."""
    # Each part is read unsorted and the whole sorted here: asked to sort, the ORM spends
    # more time compiling the ORDER BY (hashing every selected column) than the rows take.
    # At the same instant, routing (the pin arriving) comes before the answer, then hand-offs.
    using = idea._state.db or Idea.objects.db_manager().db
    updates = _public_updates(idea.pk, using=using)
    if updates:  # the photos of the answers, in one query (as prefetch_related reads them)
        prefetch_related_objects(
            updates, Prefetch("photos", queryset=answer_photos(), to_attr="shown_photos")
        )
    ranked = [
        (e.created_at, 0, e.pk, TimelineEntry(e.created_at, routing=e))
        for e in _routing_events(idea.pk, using=using)
    ]
    ranked += [(u.created_at, 1, u.pk, TimelineEntry(u.created_at, update=u)) for u in updates]
    ranked += [
        (h.created_at, 2, h.pk, TimelineEntry(h.created_at, handoff=h))
        for h in _shown_handoffs(idea.pk, using=using)
    ]
    return [entry for *_key, entry in sorted(ranked, key=lambda row: row[:3])]


# idea_timeline's three parts, compiled once (see _pin_by_pk above).
_routing_events = CompiledQuery(
    lambda idea_id: routing_history(idea=Idea(pk=idea_id)).order_by(), ((1,), (2,))
)
_public_updates = CompiledQuery(
    lambda idea_id: (
        IdeaUpdate.objects.filter(idea_id=idea_id).select_related("team", "duplicate_of").order_by()
    ),
    ((1,), (2,)),
)
_shown_handoffs = CompiledQuery(
    lambda idea_id: (
        Handoff.objects.filter(idea_id=idea_id)
        .exclude(state=Handoff.State.WITHDRAWN)
        .select_related("team")
        .only(
            "created_at",
            "body_name",
            "idea_id",
            "team__name",
            "team__name_translations",
            "team__slug",
        )
        .order_by()
    ),
    ((1,), (2,)),
)
