"""Hand-off pages: the team's forms on the pin's page (hand, approve, send back, withdraw),
the body's photo for the team, and the body's page reached by its emailed link (no login).
Thin: the work is in services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from mapideas.handoffs import selectors, services
from mapideas.handoffs.forms import (
    HandoffApproveForm,
    HandoffForm,
    HandoffReportForm,
    HandoffReturnForm,
)
from mapideas.models import Handoff, Idea
from mapideas.pins import photos
from mapideas.pins import selectors as pins_selectors
from mapideas.pins.page import form_errors, idea_page, visible_pin_or_404
from mapideas.pins.places import place_phrase
from mapideas.pins.roles import WORK_FORBIDDEN, can_see_internal, can_work_on
from mapideas.plumbing import ratelimit

# --- The team, on the pin's page ---------------------------------------------------------------


def _team_post(request: HttpRequest, pk: int) -> Idea:
    idea = visible_pin_or_404(request, pk)
    if not can_work_on(request.user, idea):
        raise PermissionDenied(WORK_FORBIDDEN)
    return idea


def _handoff_or_404(idea: Idea, handoff_pk: int) -> Handoff:
    handoff = selectors.idea_handoff(idea=idea, pk=handoff_pk)
    if handoff is None:
        raise Http404("No such hand-off.")
    return handoff


@require_POST
def handoff_create(request: HttpRequest, pk: int) -> HttpResponse:
    idea = _team_post(request, pk)
    form = HandoffForm(request.POST)
    if form.is_valid():
        try:
            handoff, _token = services.handoff_create(
                idea=idea,
                body_name=form.cleaned_data["body_name"],
                body_email=form.cleaned_data["body_email"],
                message=form.cleaned_data["message"],
                days=form.cleaned_data["days"],
                actor=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(
                request,
                _("Handed to %(body)s: the link is emailed to it.") % {"body": handoff.body_name},
            )
            return redirect(idea)
    return idea_page(request, idea, forms={"handoff_form": form}, status=400)


@require_POST
def handoff_approve(request: HttpRequest, pk: int, handoff_pk: int) -> HttpResponse:
    idea = _team_post(request, pk)
    handoff = _handoff_or_404(idea, handoff_pk)
    form = HandoffApproveForm(request.POST)
    if form.is_valid():
        try:
            services.handoff_approve(
                handoff=handoff, answer=form.cleaned_data["answer"], actor=request.user
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Approved: the pin is done."))
            return redirect(idea)
    return idea_page(request, idea, forms={"approve_form": form}, status=400)


@require_POST
def handoff_return(request: HttpRequest, pk: int, handoff_pk: int) -> HttpResponse:
    idea = _team_post(request, pk)
    handoff = _handoff_or_404(idea, handoff_pk)
    form = HandoffReturnForm(request.POST)
    if form.is_valid():
        try:
            services.handoff_return(
                handoff=handoff, note=form.cleaned_data["note"], actor=request.user
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Sent back to %(body)s.") % {"body": handoff.body_name})
            return redirect(idea)
    return idea_page(request, idea, forms={"return_form": form}, status=400)


@require_POST
def handoff_withdraw(request: HttpRequest, pk: int, handoff_pk: int) -> HttpResponse:
    idea = _team_post(request, pk)
    handoff = _handoff_or_404(idea, handoff_pk)
    try:
        services.handoff_withdraw(handoff=handoff, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, _("Hand-off withdrawn."))
    return redirect(idea)


@require_safe
def handoff_photo(request: HttpRequest, pk: int, handoff_pk: int) -> FileResponse:
    """The body's after-photo, before the team approves it: for those who see the pin's
    internals only (a 404 for everyone else), never cached shared."""
    idea = visible_pin_or_404(request, pk)
    if not can_see_internal(request.user, idea):
        raise Http404("No such photo.")
    handoff = _handoff_or_404(idea, handoff_pk)
    if not handoff.photo_name:
        raise Http404("No such photo.")
    try:
        stream = photos.photo_storage().open(handoff.photo_name, "rb")
    except FileNotFoundError:
        raise Http404("No such photo.") from None
    response = FileResponse(stream, content_type=photos.CONTENT_TYPE)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- The body, through its link ----------------------------------------------------------------


def _bad_link(request: HttpRequest, *, gone: bool) -> HttpResponse:
    # Nothing of the pin: whoever holds a wrong or stale link learns only that it is.
    return render(
        request,
        "mapideas/handoff_bad_link.html",
        {"gone": gone},
        status=410 if gone else 404,
    )


def _body_page(
    request: HttpRequest, handoff: Handoff, token: str, *, form=None, status: int = 200
) -> HttpResponse:
    idea = handoff.idea
    context = {
        "handoff": handoff,
        "idea": idea,
        "token": token,
        # The pin's photo only while the pin is public (served by the public photo view).
        "photo": pins_selectors.idea_photo(idea=idea) if idea.is_public else None,
        "place": place_phrase(idea),
        "form": form or HandoffReportForm(),
        "reported": handoff.state == services.State.REPORTED,
        "accepted": handoff.state != services.State.SENT,
    }
    return render(request, "mapideas/handoff_page.html", context, status=status)


def _checked(request: HttpRequest, pk: int, token: str) -> Handoff | HttpResponse:
    handoff = services.handoff_from_token(pk=pk, token=token)
    if handoff is None:
        return _bad_link(request, gone=False)
    if not services.link_works(handoff):
        return _bad_link(request, gone=True)
    return handoff


@never_cache
@require_safe
def handoff_page(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    checked = _checked(request, pk, token)
    if isinstance(checked, HttpResponse):
        return checked
    return _body_page(request, checked, token)


@never_cache
@require_POST
@ratelimit.rate_limited(ratelimit.COMMENTS)
def handoff_accept(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    checked = _checked(request, pk, token)
    if isinstance(checked, HttpResponse):
        return checked
    try:
        services.handoff_accept(handoff=checked)
    except ValidationError:
        return _bad_link(request, gone=True)
    messages.success(request, _("Accepted: thank you. Report the work here once it is done."))
    return redirect("handoff-page", pk=pk, token=token)


@never_cache
@require_POST
@ratelimit.rate_limited(ratelimit.COMMENTS)
def handoff_report(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    checked = _checked(request, pk, token)
    if isinstance(checked, HttpResponse):
        return checked
    form = HandoffReportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.handoff_report(
                handoff=checked,
                comment=form.cleaned_data["comment"],
                photo=form.cleaned_data.get("photo"),
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Reported: the team reviews the work."))
            return redirect("handoff-page", pk=pk, token=token)
    return _body_page(request, checked, token, form=form, status=400)
