"""Pages for citizens and district teams. Thin: reads come from selectors, writes from
services, maps from mapideas.maps."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mapideas import maps, selectors, services
from mapideas.forms import IdeaForm, ReassignForm
from mapideas.models import Idea
from mapideas.roles import can_reassign
from neighborhoods.models import Neighborhood, Team
from neighborhoods.roles import can_view_team, is_planner
from neighborhoods.selectors import active_neighborhoods

TEAM_PAGE_SIZE = 50


def home(request: HttpRequest) -> HttpResponse:
    """The citizen map: every neighborhood, the pins in view, and the form to add one."""
    if request.method == "POST":
        form = IdeaForm(request.POST)
        if form.is_valid():
            try:
                idea = services.idea_create(
                    kind=form.cleaned_data["kind"],
                    title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"],
                    category=form.cleaned_data["category"],
                    location=form.location,
                    channel=Idea.Channel.WEB,
                    author=request.user,
                )
            except ValidationError as exc:
                for message in exc.message_dict.get("location", []):
                    form.add_error("latitude", message)
                for field, errors in exc.message_dict.items():
                    if field != "location":
                        form.add_error(field if field in form.fields else None, errors)
            else:
                where = idea.neighborhood.name if idea.neighborhood else "between neighborhoods"
                messages.success(
                    request,
                    f"Thank you. Your {idea.get_kind_display().lower()} was sent to "
                    f"{idea.team.name} ({where}).",
                )
                return redirect(idea)
        status = 400
    else:
        form = IdeaForm()
        status = 200
    neighborhoods = active_neighborhoods()
    fmap = maps.new_map(bounds=maps.extent(neighborhoods))
    maps.add_neighborhood_outlines(fmap, neighborhoods)
    return render(
        request,
        "mapideas/home.html",
        {
            "form": form,
            "map": maps.render(fmap),
            "has_neighborhoods": neighborhoods.exists(),
            "max_page_size": settings.MAPIDEAS_MAX_PAGE_SIZE,
        },
        status=status,
    )


def idea_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A pin's public page: where it is, which team has it, its status, its routing history.

    Staff who may re-assign the pin also see the form to do so.
    """
    idea = get_object_or_404(selectors.public_ideas(), pk=pk)
    form = ReassignForm(idea=idea) if can_reassign(request.user, idea) else None
    return _idea_page(request, idea, reassign_form=form)


@require_POST
def idea_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff send the pin to another team, with a reason; back to its page with a message."""
    idea = get_object_or_404(selectors.public_ideas(), pk=pk)
    if not can_reassign(request.user, idea):
        raise PermissionDenied(
            "Only the pin's team, the city-wide triage team (for pins outside every "
            "neighborhood) and planners can re-assign it."
        )
    form = ReassignForm(request.POST, idea=idea)
    if form.is_valid():
        try:
            event = services.idea_reassign(
                idea=idea,
                team=form.cleaned_data["team"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Re-assigned to {event.to_team.name}.")
            return redirect(idea)
    return _idea_page(request, idea, reassign_form=form, status=400)


def _idea_page(
    request: HttpRequest, idea: Idea, *, reassign_form: ReassignForm | None, status: int = 200
) -> HttpResponse:
    if idea.neighborhood is not None:
        fmap = maps.new_map(bounds=idea.neighborhood.geometry.extent)
        maps.add_neighborhood_outlines(fmap, Neighborhood.objects.filter(pk=idea.neighborhood_id))
    else:  # a pin in a gap between neighborhoods: show its surroundings
        fmap = maps.new_map(bounds=idea.location.buffer(0.005).extent)
    return render(
        request,
        "mapideas/idea_detail.html",
        {
            "idea": idea,
            "map": maps.render(fmap),
            "routing_events": selectors.routing_history(idea=idea),
            "reassign_form": reassign_form,
        },
        status=status,
    )


@login_required
def team_workspace(request: HttpRequest, slug: str) -> HttpResponse:
    """A district team's area on a map, the ideas routed to it, newest first, and the open
    ideas another team owns that lie in its area too. For the city-wide triage team, the
    ideas routed to it are its queue of pins outside every neighborhood."""
    team = get_object_or_404(Team, slug=slug)
    if not can_view_team(request.user, team):
        raise PermissionDenied("Only members of this team and planners can open its workspace.")
    area = active_neighborhoods().filter(team=team)
    fmap = maps.new_map(bounds=maps.extent(area if not team.is_triage else active_neighborhoods()))
    if team.is_triage:  # no area of its own: the city it fills the gaps of
        maps.add_neighborhood_outlines(fmap, active_neighborhoods())
    else:
        maps.add_neighborhood_outlines(fmap, area, highlight=True)
    page = Paginator(selectors.team_ideas(team=team), TEAM_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    also_in = selectors.team_also_in_area_ideas(team=team)
    return render(
        request,
        "mapideas/team_workspace.html",
        {
            "team": team,
            "neighborhoods": area.order_by("name"),
            "page": page,
            # The newest; overlaps are small areas, so one screenful is usually all of them.
            "also_in": also_in[:TEAM_PAGE_SIZE],
            "also_in_count": also_in.count(),
            "map": maps.render(fmap),
            "is_planner": is_planner(request.user),
        },
    )


@login_required
def my_teams(request: HttpRequest) -> HttpResponse:
    """Where a signed-in person lands: their teams (all teams for planners)."""
    teams = Team.objects.all() if is_planner(request.user) else request.user.teams.all()
    return render(
        request,
        "mapideas/my_teams.html",
        {"teams": teams.order_by("name"), "is_planner": is_planner(request.user)},
    )
