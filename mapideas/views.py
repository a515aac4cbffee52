"""Pages for citizens and district teams. Thin: reads come from selectors, writes from
services, maps from mapideas.maps."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from mapideas import maps, selectors, services
from mapideas.forms import IdeaForm
from mapideas.models import Idea
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
    """A pin's public page: where it is, which team has it, its status."""
    idea = get_object_or_404(selectors.public_ideas(), pk=pk)
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
        },
    )


@login_required
def team_workspace(request: HttpRequest, slug: str) -> HttpResponse:
    """A district team's area on a map, and the ideas routed to it, newest first."""
    team = get_object_or_404(Team, slug=slug)
    if not can_view_team(request.user, team):
        raise PermissionDenied("Only members of this team and planners can open its workspace.")
    area = active_neighborhoods().filter(team=team)
    fmap = maps.new_map(bounds=maps.extent(area))
    maps.add_neighborhood_outlines(fmap, area, highlight=True)
    page = Paginator(selectors.team_ideas(team=team), TEAM_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "mapideas/team_workspace.html",
        {
            "team": team,
            "neighborhoods": area.order_by("name"),
            "page": page,
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
