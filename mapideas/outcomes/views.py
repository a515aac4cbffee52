"""Pages of "Is it really fixed?": a resident's verdict from the pin's page, the link that
confirms it, and the team's check queue with its decisions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mapideas.models import FixFeedback, Idea
from mapideas.outcomes import selectors, services
from mapideas.outcomes.forms import FeedbackForm, KeepClosedForm, ReopenForm
from mapideas.outcomes.links import feedback_from_confirm_token
from mapideas.pins import photos
from mapideas.pins.page import form_errors, idea_page, visible_pin_or_404
from mapideas.pins.roles import can_see_internal, can_work_on
from mapideas.plumbing import ratelimit
from neighborhoods.models import Team
from neighborhoods.roles import can_view_team

V = FixFeedback.Verdict


@require_POST
def idea_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """A resident's verdict from the pin's page: "still there" (a note, a photo) or "it's
    fixed". Errors re-render the page with them by their fields; else back to the pin with
    what happened (counted, awaiting the emailed link, already given, reopened)."""
    idea = visible_pin_or_404(request, pk)
    verdict = request.POST.get("verdict", "")
    if verdict not in V.values:
        verdict = V.STILL_THERE
    form_name = "fixed_form" if verdict == V.FIXED else "dispute_form"
    needs_email = not selectors.has_verified_address(request.user)
    form = FeedbackForm(request.POST, request.FILES, verdict=verdict, needs_email=needs_email)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = services.feedback_give(
                idea=idea,
                verdict=data["verdict"],
                note=data.get("note", ""),
                photo=data.get("photo"),
                user=request.user,
                email=data.get("email", ""),
                ip_hash=ratelimit.client_address_hash(request),
                source=FixFeedback.Source.PIN_PAGE,
                rate_identity=ratelimit.client_identity(request),
            )
        except ratelimit.RateLimited as exc:
            return ratelimit.too_many_response(exc.retry_after)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, result.message)
            return redirect(reverse("idea-detail", args=[idea.pk]) + "#outcome")
    return idea_page(request, idea, forms={form_name: form}, status=400)


def feedback_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link emailed to an address that gave feedback: a page with the pin and the verdict
    and one button (a mail scanner opening the link must not count it); the button counts."""
    if request.method == "POST":
        result = services.feedback_confirm(token=token)
        if result is None:
            return render(request, "mapideas/outcome_confirm.html", {"bad": True}, status=400)
        messages.success(request, result.message)
        return redirect(reverse("idea-detail", args=[result.feedback.idea_id]) + "#outcome")
    found = feedback_from_confirm_token(token)
    feedback = (
        FixFeedback.objects.select_related("idea").filter(pk=found.pk).first() if found else None
    )
    if (
        found is None
        or feedback is None
        or not feedback.idea.is_public
        or (feedback.confirmed_at is None and not found.holds_for(feedback.email))
    ):
        return render(request, "mapideas/outcome_confirm.html", {"bad": True}, status=400)
    return render(request, "mapideas/outcome_confirm.html", {"feedback": feedback})


# --- the team's check queue -------------------------------------------------------------------


def _team_or_403(request: HttpRequest, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not can_view_team(request.user, team):
        raise PermissionDenied(_("Only members of this team and planners can open its checks."))
    return team


@login_required
@require_safe
def check_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's closed pins that residents say are not fixed: each pin's pending disputes
    (notes, photos), how many people, since when, and the team's three decisions."""
    team = _team_or_403(request, slug)
    return _check_queue_page(request, team)


def _check_queue_page(
    request: HttpRequest, team: Team, *, forms: dict | None = None, status: int = 200
) -> HttpResponse:
    forms = forms or {}
    items = selectors.check_queue(team)
    rows = []
    for item in items:
        may_decide = can_work_on(request.user, item.idea)
        rows.append(
            {
                "item": item,
                "may_decide": may_decide,
                "reopen_form": forms.get(("reopen", item.idea.pk))
                or ReopenForm(idea_pk=item.idea.pk),
                "keep_form": forms.get(("keep", item.idea.pk))
                or KeepClosedForm(idea_pk=item.idea.pk),
            }
        )
    return render(
        request,
        "mapideas/check_queue.html",
        {"team": team, "rows": rows},
        status=status,
    )


def _idea_of_team(team: Team, pk: int) -> Idea:
    return get_object_or_404(Idea, pk=pk, team=team)


def _decision_post(
    request: HttpRequest, slug: str, pk: int, *, form_class, key: str, decide, done_message
) -> HttpResponse:
    """One decision on a pin's disputes from the check queue: its form checked, then the
    service; back to the queue, or the queue again with the form's errors."""
    team = _team_or_403(request, slug)
    idea = _idea_of_team(team, pk)
    form = form_class(request.POST, idea_pk=idea.pk)
    if form.is_valid():
        try:
            decide(idea=idea, answer=form.cleaned_data["answer"], actor=request.user)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, done_message % {"pk": idea.pk})
            return redirect("check-queue", slug=team.slug)
    return _check_queue_page(request, team, forms={(key, idea.pk): form}, status=400)


@require_POST
@login_required
def check_reopen(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The team agrees with the residents: reopen the pin with a public answer."""
    return _decision_post(
        request,
        slug,
        pk,
        form_class=ReopenForm,
        key="reopen",
        decide=services.disputes_reopen,
        done_message=_("Pin #%(pk)s reopened."),
    )


@require_POST
@login_required
def check_keep_closed(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The team keeps the pin closed, with a public reason."""
    return _decision_post(
        request,
        slug,
        pk,
        form_class=KeepClosedForm,
        key="keep",
        decide=services.disputes_keep_closed,
        done_message=_("Pin #%(pk)s stays closed."),
    )


@require_POST
@login_required
def check_dismiss(request: HttpRequest, slug: str, pk: int, feedback_pk: int) -> HttpResponse:
    """Moderation: one report is abuse or spam; it no longer counts."""
    team = _team_or_403(request, slug)
    idea = _idea_of_team(team, pk)
    feedback = get_object_or_404(FixFeedback, pk=feedback_pk, idea=idea)
    try:
        services.dispute_dismiss(feedback=feedback, actor=request.user)
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, _("Report dismissed: it no longer counts."))
    return redirect("check-queue", slug=team.slug)


@login_required
@require_safe
def dispute_photo(request: HttpRequest, photo_pk: int) -> FileResponse:
    """A dispute's photo, for the staff who read the pin's team work only (can_see_internal):
    a 404 for everyone else, never cached shared."""
    photo = selectors.dispute_photo(pk=photo_pk)
    if photo is None or not can_see_internal(request.user, photo.idea):
        raise Http404("No such photo.")
    try:
        stream = photos.photo_storage().open(photo.name, "rb")
    except FileNotFoundError:
        raise Http404("No such photo.") from None
    response = FileResponse(stream, content_type=photos.CONTENT_TYPE)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
