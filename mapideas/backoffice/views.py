"""The staff's back-office pages: site staff set up each team's back office (its settings,
its services read from the remote, which category goes to which service); a team's members
see the team's forwards that need someone and say what they did on the back office;
planners and administrators export the remote ids. Thin: the work is in services."""

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mapideas.backoffice import client, selectors
from mapideas.backoffice import services as backoffice
from mapideas.backoffice.forms import EndpointEditForm, EndpointForm, FoundForm, MappingForm
from mapideas.models import BackofficeEndpoint, BackofficeForward, Category
from mapideas.notifications.services import absolute
from mapideas.pins.page import form_errors
from mapideas.plumbing.csv_cells import text_cell
from neighborhoods.models import Team

View = Callable[..., HttpResponse]


def staff_only(view: View) -> View:
    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.may_configure(request.user):
            raise PermissionDenied(_("Only the site's staff set up back offices."))
        return view(request, *args, **kwargs)

    return checked


def _endpoint_or_404(pk: int) -> BackofficeEndpoint:
    endpoint = selectors.endpoint(pk)
    if endpoint is None:
        raise Http404("No such back office.")
    return endpoint


# --- site staff: the back offices ------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def backoffice_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = backoffice.endpoint_create(
                team=data["team"],
                category=data["category"],
                name=data["name"],
                base_url=data["base_url"],
                jurisdiction_id=data["jurisdiction_id"],
                api_key_value=data["api_key"],
                api_key_env=data["api_key_env"],
                searchable=data["searchable"],
                listing_delay=data["listing_delay"],
                reads_updates=data["reads_updates"],
                actor=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(
                request, _("Back office added: read its services, then map the categories.")
            )
            return redirect("backoffice-detail", pk=endpoint.pk)
    return render(
        request,
        "mapideas/backoffice_list.html",
        {"rows": selectors.endpoints(), "form": form},
        status=400 if form.errors else 200,
    )


def _detail_page(
    request: HttpRequest,
    endpoint: BackofficeEndpoint,
    *,
    form: EndpointEditForm | None = None,
    mapping_form: MappingForm | None = None,
    services_error: str = "",
    status: int = 200,
) -> HttpResponse:
    if form is None:
        form = EndpointEditForm(
            initial={
                "name": endpoint.name,
                "base_url": endpoint.base_url,
                "jurisdiction_id": endpoint.jurisdiction_id,
                "api_key_env": endpoint.api_key_env,
                "searchable": endpoint.searchable,
                "listing_delay": endpoint.listing_delay,
                "reads_updates": endpoint.reads_updates,
                "active": endpoint.active,
            },
            key_stored=bool(endpoint.api_key_encrypted),
        )
    if mapping_form is None and endpoint.services:
        mapping_form = MappingForm(endpoint=endpoint, categories=_categories(endpoint))
    return render(
        request,
        "mapideas/backoffice_detail.html",
        {
            "endpoint": endpoint,
            "counts": selectors.endpoint_counts(endpoint),
            "form": form,
            "mapping_form": mapping_form,
            "services_error": services_error,
        },
        status=status,
    )


def _categories(endpoint: BackofficeEndpoint) -> list[Category]:
    """The categories whose pins this back office gets: its own, or all of them."""
    categories = Category.objects.order_by("position", "name")
    if endpoint.category_id is not None:
        categories = categories.filter(pk=endpoint.category_id)
    return list(categories)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def backoffice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(pk)
    if request.method == "GET":
        return _detail_page(request, endpoint)
    form = EndpointEditForm(request.POST, key_stored=bool(endpoint.api_key_encrypted))
    if form.is_valid():
        data = form.cleaned_data
        try:
            backoffice.endpoint_update(
                endpoint,
                name=data["name"],
                base_url=data["base_url"],
                jurisdiction_id=data["jurisdiction_id"],
                api_key_value=data["api_key"] or None,
                api_key_env=data["api_key_env"],
                searchable=data["searchable"],
                listing_delay=data["listing_delay"],
                reads_updates=data["reads_updates"],
                active=data["active"],
                actor=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
            endpoint.refresh_from_db()
        else:
            messages.success(request, _("Back office saved."))
            return redirect("backoffice-detail", pk=endpoint.pk)
    return _detail_page(request, endpoint, form=form, status=400)


@never_cache
@require_POST
@staff_only
def backoffice_services(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the remote's services now; what it answered, word for word, when it fails."""
    endpoint = _endpoint_or_404(pk)
    try:
        found = backoffice.services_read(endpoint)
    except (client.RemoteError, client.Unreachable, backoffice.KeyMissing) as failed:
        return _detail_page(request, endpoint, services_error=str(failed))
    messages.success(
        request,
        _("The back office lists %(count)s services: map the categories below.")
        % {"count": len(found)},
    )
    return redirect(reverse("backoffice-detail", args=[endpoint.pk]) + "#mapping")


@never_cache
@require_POST
@staff_only
def backoffice_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(pk)
    form = MappingForm(request.POST, endpoint=endpoint, categories=_categories(endpoint))
    if form.is_valid():
        try:
            backoffice.mapping_set(endpoint, **form.mapping(), actor=request.user)
        except ValidationError as exc:
            form_errors(form, exc)
            endpoint.refresh_from_db()
        else:
            messages.success(request, _("Services mapped."))
            return redirect(reverse("backoffice-detail", args=[endpoint.pk]) + "#mapping")
    return _detail_page(request, endpoint, mapping_form=form, status=400)


# --- a team's forwards that need someone -------------------------------------------------------


@require_safe
@login_required
def backoffice_teams(request: HttpRequest) -> HttpResponse:
    """The teams with a back office this person may see, with what needs someone."""
    teams = selectors.forward_teams(request.user)
    if teams is None:
        raise PermissionDenied(_("Only members of a team, planners and staff see forwards."))
    return render(
        request,
        "mapideas/backoffice_teams.html",
        {
            "teams": selectors.team_counts(teams),
            "may_configure": selectors.may_configure(request.user),
        },
    )


@dataclass(frozen=True)
class _Line:
    """A forward in a team's list, with its "Found it" form where it may take one."""

    forward: BackofficeForward
    found_form: FoundForm | None = None


def _team_page(
    request: HttpRequest, team: Team, *, found_form: FoundForm | None = None, status: int = 200
) -> HttpResponse:
    attention = selectors.team_attention(team)
    placed = False

    def lines(section: selectors.Section) -> list[_Line]:
        nonlocal placed
        found = []
        for forward in section.rows:
            form = None
            if forward.state in FOUND_STATES:
                if found_form is not None and found_form.forward_pk == forward.pk:
                    form, placed = found_form, True
                else:
                    form = FoundForm(forward_pk=forward.pk)
            found.append(_Line(forward, form))
        return found

    context = {
        "team": team,
        "attention": attention,
        "failing": lines(attention.failing),
        "held": lines(attention.held),
        "pending": lines(attention.pending),
        "left": [_Line(forward) for forward in attention.left.rows],
        "erasure": [_Line(forward) for forward in attention.erasure.rows],
        "may_act": selectors.may_act_on_forwards(request.user, team),
        # A number refused: back in its row, or above the lists when its row is not shown.
        "found_form": found_form,
        "found_elsewhere": found_form if found_form is not None and not placed else None,
    }
    return render(request, "mapideas/backoffice_team.html", context, status=status)


# The states whose request number staff may give (services.forward_found).
FOUND_STATES = {
    BackofficeForward.State.HELD,
    BackofficeForward.State.UNCERTAIN,
    BackofficeForward.State.TOKEN,
    BackofficeForward.State.QUEUED,
}


@never_cache
@require_safe
@login_required
def backoffice_team(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    if not selectors.may_see_forwards(request.user, team):
        raise PermissionDenied(_("Only the team's members, planners and staff see its forwards."))
    return _team_page(request, team)


def _acting_on(request: HttpRequest, pk: int) -> BackofficeForward:
    forward = selectors.forward(pk)
    if forward is None:
        raise Http404("No such forward.")
    if not selectors.may_act_on_forwards(request.user, forward.endpoint.team):
        raise PermissionDenied(
            _("Only the members of the back office's team and staff act on its forwards.")
        )
    return forward


def _back(forward: BackofficeForward) -> HttpResponse:
    return redirect("backoffice-team", slug=forward.endpoint.team.slug)


@require_POST
@login_required
def forward_retry(request: HttpRequest, pk: int) -> HttpResponse:
    forward = _acting_on(request, pk)
    try:
        backoffice.forward_retry(forward, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Pin #%(pin)s will be sent at the next run.") % {"pin": forward.idea_id},
        )
    return _back(forward)


@require_POST
@login_required
def forward_found(request: HttpRequest, pk: int) -> HttpResponse:
    forward = _acting_on(request, pk)
    form = FoundForm(request.POST, forward_pk=forward.pk)
    if form.is_valid():
        try:
            backoffice.forward_found(
                forward, remote_id=form.cleaned_data["remote_id"], actor=request.user
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):  # its state changed: no number to give now
                messages.error(request, " ".join(exc.messages))
                return _back(forward)
            form_errors(form, exc)
        else:
            messages.success(
                request,
                _("Pin #%(pin)s is request %(number)s at %(name)s.")
                % {
                    "pin": forward.idea_id,
                    "number": form.cleaned_data["remote_id"],
                    "name": forward.endpoint.name,
                },
            )
            return _back(forward)
    return _team_page(request, forward.endpoint.team, found_form=form, status=400)


@require_POST
@login_required
def forward_left_closed(request: HttpRequest, pk: int) -> HttpResponse:
    forward = _acting_on(request, pk)
    if forward.state != BackofficeForward.State.LEFT or forward.left_closed_at is not None:
        messages.error(request, _("This pin's request was not left behind there."))
    else:
        backoffice.forward_left_closed(forward, actor=request.user)
        messages.success(
            request,
            _("Pin #%(pin)s: its request at %(name)s is closed.")
            % {"pin": forward.idea_id, "name": forward.endpoint.name},
        )
    return _back(forward)


@require_POST
@login_required
def forward_erasure_done(request: HttpRequest, pk: int) -> HttpResponse:
    forward = _acting_on(request, pk)
    if forward.erasure_requested_at is None or forward.erasure_done_at is not None:
        messages.error(request, _("No erasure of this pin's contact is waiting there."))
    else:
        backoffice.forward_erasure_done(forward, actor=request.user)
        messages.success(
            request,
            _("Pin #%(pin)s: the contact is erased at %(name)s.")
            % {"pin": forward.idea_id, "name": forward.endpoint.name},
        )
    return _back(forward)


# --- the export ------------------------------------------------------------------------------

CSV_COLUMNS = [
    "pin",
    "pin_url",
    "team",
    "back_office",
    "state",
    "service_code",
    "remote_id",
    "last_exchange",
    "last_error",
]
# A remote's error may quote what it was sent: an email address in it is left out.
_EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(forwards) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for forward in forwards.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                forward.idea_id,
                absolute(reverse("idea-detail", args=[forward.idea_id])),
                forward.endpoint.team.slug,
                # Cells a spreadsheet would run as a formula are quoted as text.
                text_cell(forward.endpoint.name),
                forward.state,
                text_cell(forward.service_code),
                text_cell(forward.remote_id),
                forward.last_exchange_at.isoformat() if forward.last_exchange_at else "",
                text_cell(_EMAIL.sub("[email]", forward.last_error)),
            ]
        )


@require_safe
@login_required
def forwards_export(request: HttpRequest) -> StreamingHttpResponse:
    if not selectors.may_export(request.user):
        raise PermissionDenied(_("Only planners and administrators export the forwards."))
    response = StreamingHttpResponse(
        _rows(selectors.forwards_export()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="backoffice-forwards.csv"'
    return response
