"""Pages of the district teams: the workspace and queue, bulk actions, input gathered offline,
and the workflow forms on a pin's page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mapideas.map import maps
from mapideas.models import Idea
from mapideas.pins import selectors as pins_selectors
from mapideas.pins.page import form_errors, idea_page, visible_pin_or_404
from mapideas.pins.roles import OFFLINE_FORBIDDEN, WORK_FORBIDDEN, can_reassign, can_work_on
from mapideas.workflow import selectors as workflow_selectors
from mapideas.workflow import services
from mapideas.workflow.forms import (
    AssignForm,
    BulkForm,
    DuplicateForm,
    NoteForm,
    OfflineIdeaForm,
    QueueFilterForm,
    ReassignForm,
    StatusForm,
)
from neighborhoods.models import Team
from neighborhoods.roles import can_view_team, is_planner
from neighborhoods.selectors import active_neighborhoods

TEAM_PAGE_SIZE = 50


# The most pins the workspace map draws (the newest of the filtered queue; the page says so).
MAP_PIN_LIMIT = 2000


@require_POST
def idea_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff send the pin to another team, with a reason; back to its page with a message.

    The workflow's "not our responsibility"."""
    idea = visible_pin_or_404(request, pk)
    if not can_reassign(request.user, idea):
        raise PermissionDenied(services.REASSIGN_FORBIDDEN)
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
            form_errors(form, exc)
        else:
            messages.success(
                request, _("Re-assigned to %(team)s.") % {"team": event.to_team.display_name}
            )
            return redirect(idea)
    return idea_page(request, idea, forms={"reassign_form": form}, status=400)


def _workflow_post(request: HttpRequest, pk: int, form_name: str, make_form, write) -> HttpResponse:
    """The shape of every workflow POST: 403 unless the person may work on the pin, then the
    form, then the service (which checks again, under a lock); back to the page or a 400."""
    idea = visible_pin_or_404(request, pk)
    if not can_work_on(request.user, idea):
        raise PermissionDenied(WORK_FORBIDDEN)
    form = make_form(idea, request.POST)
    if form.is_valid():
        try:
            message = write(idea, form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect(idea)
    return idea_page(request, idea, forms={form_name: form}, status=400)


@require_POST
def idea_status(request: HttpRequest, pk: int) -> HttpResponse:
    def write(idea: Idea, data: dict) -> str:
        update = services.idea_status_change(
            idea=idea,
            status=data["status"],
            answer=data["answer"],
            template=data.get("template"),
            photos={"before": data.get("photo_before"), "after": data.get("photo_after")},
            actor=request.user,
        )
        if update.changes_status:
            return _("Status: %(status)s.") % {"status": update.get_to_status_display()}
        return _("Answer published.")

    return _workflow_post(
        request, pk, "status_form", lambda idea, d: StatusForm(d, request.FILES, idea=idea), write
    )


@require_POST
def idea_note(request: HttpRequest, pk: int) -> HttpResponse:
    def write(idea: Idea, data: dict) -> str:
        services.idea_note_add(idea=idea, text=data["text"], author=request.user)
        return _("Internal note added.")

    return _workflow_post(request, pk, "note_form", lambda idea, d: NoteForm(d), write)


@require_POST
def idea_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def write(idea: Idea, data: dict) -> str:
        assignee = data["assignee"]
        services.idea_assign(idea=idea, assignee=assignee, actor=request.user)
        if assignee:
            return _("Assigned to %(name)s.") % {"name": assignee.get_username()}
        return _("Unassigned.")

    return _workflow_post(
        request, pk, "assign_form", lambda idea, d: AssignForm(d, team=idea.team), write
    )


@require_POST
def idea_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    def write(idea: Idea, data: dict) -> str:
        original = data["duplicate_of"]
        services.idea_mark_duplicate(
            idea=idea, original=original, answer=data["answer"], actor=request.user
        )
        return _("Marked as a duplicate of #%(number)s.") % {"number": original.pk}

    return _workflow_post(request, pk, "duplicate_form", lambda idea, d: DuplicateForm(d), write)


@login_required
def team_workspace(request: HttpRequest, slug: str) -> HttpResponse:
    """A district team's workspace: a map of its area and, beside it, its queue (the pins
    routed to it, filtered, sorted, paged, overdue ones flagged), then the open pins another
    team owns that lie in its area too, and how it keeps its response-time commitment.
    For the city-wide triage team, the pins routed to it are its queue of pins outside every
    neighborhood. The map draws the same filtered pins as the lists (the same querysets)."""
    team = get_object_or_404(Team, slug=slug)
    if not can_view_team(request.user, team):
        raise PermissionDenied(_("Only members of this team and planners can open its workspace."))
    return _workspace_page(request, team)


def _workspace_page(
    request: HttpRequest, team: Team, *, bulk_form: BulkForm | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    filter_form = QueueFilterForm(request.GET, team=team)
    filters = filter_form.filters()
    queue = workflow_selectors.team_queue(team=team, filters=filters, now=now)
    also_in = workflow_selectors.team_also_in_area_queue(team=team, filters=filters, now=now)
    paginator = Paginator(queue, TEAM_PAGE_SIZE)
    total = workflow_selectors.team_queue_total(team=team, filters=filters)
    if total is not None:  # known without counting the pins (Paginator.count is cached)
        paginator.count = total
    page = paginator.get_page(request.GET.get("page"))
    area = active_neighborhoods().filter(team=team)
    fmap = maps.new_map(bounds=maps.extent(area if not team.is_triage else active_neighborhoods()))
    if team.is_triage:  # no area of its own: the city it fills the gaps of
        maps.add_neighborhood_outlines(fmap, active_neighborhoods())
    else:
        maps.add_neighborhood_outlines(fmap, area, highlight=True)
    map_pins = maps.map_pins(queue[:MAP_PIN_LIMIT])
    maps.add_pins(fmap, map_pins, name="Routed to this team")
    also_in_shown = list(also_in[:TEAM_PAGE_SIZE])
    also_in_pins = maps.map_pins(also_in[:TEAM_PAGE_SIZE])
    maps.add_pins(fmap, also_in_pins, name="Also in your area", color="#6b7280")
    user = request.user
    may_work = _works_for(user, team)
    return render(
        request,
        "mapideas/team_workspace.html",
        {
            "team": team,
            # Their names only: the polygons are drawn on the map above, from their own read.
            "neighborhoods": area.order_by("name").values_list("name", flat=True),
            "page": page,
            "also_in": also_in_shown,
            "also_in_count": also_in.count(),
            "map": maps.render(fmap),
            "map_pin_count": len(map_pins),
            "map_pin_limit": MAP_PIN_LIMIT,
            "is_planner": is_planner(user),
            "filter_form": filter_form,
            # The filters for the pager's links and the bulk form's way back: those the
            # queue accepted, no page (QueueFilterForm.query_string).
            "query": filter_form.query_string(),
            "stats": workflow_selectors.team_response_stats_kept(team=team),
            "bulk_form": bulk_form or (BulkForm(team=team) if may_work else None),
            "may_work": may_work,
            "server_pins": True,
            "oldest_first": filters.sort == workflow_selectors.QueueSort.OLDEST,
        },
        status=status,
    )


@require_POST
def team_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    """One change to the pins ticked in the queue: all or nothing, each pin checked."""
    team = get_object_or_404(Team, slug=slug)
    if not request.user.is_authenticated or not (
        request.user.is_superuser or team.members.filter(pk=request.user.pk).exists()
    ):
        raise PermissionDenied(WORK_FORBIDDEN)
    form = BulkForm(request.POST, team=team)
    if form.is_valid():
        data = form.cleaned_data
        kwargs: dict = {}
        if data["action"] == "status":
            kwargs = {
                "status": data["status"],
                "answer": data["answer"],
                "template": data.get("template"),
            }
        elif data["action"] == "assign":
            kwargs = {"assignee": data["assignee"]}
        else:
            kwargs = {"assignee": None}
        try:
            result = services.ideas_bulk_update(ideas=data["ideas"], actor=request.user, **kwargs)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            count = len(result.ideas)
            messages.success(
                request,
                ngettext("Changed %(count)s pin.", "Changed %(count)s pins.", count)
                % {"count": count},
            )
            url = reverse("team-workspace", args=[team.slug])
            # Back to the queue as it was filtered: rebuilt from the filters it accepts, so
            # the redirect carries nothing else the form was sent (a username, say).
            back = QueueFilterForm(
                QueryDict(request.POST.get("query", "")), team=team
            ).query_string()
            return redirect(f"{url}?{back}" if back else url)
    return _workspace_page(request, team, bulk_form=form, status=400)


def _works_for(user: User | AnonymousUser, team: Team) -> bool:
    """Members of the team and superusers act from its pages (planners read them)."""
    return user.is_authenticated and (user.is_superuser or team.members.filter(pk=user.pk).exists())


@login_required
def team_offline_input(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff enter input gathered offline (phone, meeting, paper, letter...) on a resident's
    behalf, from their team's workspace. The pin is routed like any other, maybe to another
    team: the page then says where it went, and stays ready for the next one (a stack of
    paper forms, a meeting's notes)."""
    team = get_object_or_404(Team, slug=slug)
    if not _works_for(request.user, team):
        raise PermissionDenied(OFFLINE_FORBIDDEN)
    status = 200
    if request.method == "POST":
        form = OfflineIdeaForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                idea = services.offline_idea_create(
                    actor=request.user,
                    kind=data["kind"],
                    title=data["title"],
                    description=data["description"],
                    category=data["category"],
                    location=form.location,
                    channel=data["channel"],
                    event_name=data["event_name"],
                    gathered_on=data["gathered_on"],
                    contact_name=data["contact_name"],
                    contact_email=data["contact_email"],
                    contact_phone=data["contact_phone"],
                    send_follow_link=data["send_follow_link"],
                    photo=data.get("photo"),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    field = "latitude" if field == "location" else field
                    form.add_error(field if field in form.fields else None, errors)
            else:
                url = reverse("team-offline-input", args=[team.slug])
                return redirect(f"{url}?saved={idea.pk}")
        status = 400
    else:
        form = OfflineIdeaForm()
    # The pin just saved (after the redirect). ASCII digits only, and few enough for a bigint:
    # anything else is ignored, never a 500.
    saved_pk = request.GET.get("saved", "")
    saved = (
        pins_selectors.public_ideas().filter(pk=int(saved_pk)).first()
        if saved_pk.isascii() and saved_pk.isdigit() and len(saved_pk) <= 18
        else None
    )
    # The whole city, as on the home page: what a resident tells a team may lie anywhere.
    return render(
        request,
        "mapideas/offline_input.html",
        # Not `team`: the map would then load only this team's pins, and the input may
        # belong to any team (staff check for pins already there).
        {
            "workspace_team": team,
            "form": form,
            "saved": saved,
            "map": maps.city_map(active_neighborhoods()),
            "max_page_size": settings.MAPIDEAS_MAX_PAGE_SIZE,
        },
        status=status,
    )


@login_required
def my_teams(request: HttpRequest) -> HttpResponse:
    """Where a signed-in person lands: their teams (all teams for planners)."""
    user = request.user
    assert user.is_authenticated  # login_required
    teams = Team.objects.all() if is_planner(user) else user.teams.all()
    return render(
        request,
        "mapideas/my_teams.html",
        {"teams": teams.order_by("name"), "is_planner": is_planner(user)},
    )
