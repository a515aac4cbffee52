"""Pages of moderation (mapideas.moderation): "Report this pin" on a pin's page, and the
staff's moderation queue with its keep/remove buttons. Thin: the service checks again."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from mapideas.moderation import services as moderation
from mapideas.moderation.forms import FlagForm, ModerationDecisionForm
from mapideas.pins.page import idea_page, visible_pin_or_404
from mapideas.pins.roles import can_see_internal, can_work_on
from mapideas.plumbing import ratelimit
from mapideas.plumbing.hashing import keyed_hash

# Marked here, translated where it is said (a plain str for anyone comparing it).
FLAG_THANKS = gettext_noop("Thank you: the city's moderators will look at this pin.")


def flagger_hash(request: HttpRequest) -> str:
    """What identifies an anonymous flagger: a keyed hash of the IP address (never the
    address itself; models.Flag says why not a cookie)."""
    return keyed_hash("flagger", ratelimit.client_address(request))


@require_POST
def idea_flag(request: HttpRequest, pk: int) -> HttpResponse:
    """The pin page's "Report this pin" form: anyone, once per person, at most
    MAPIDEAS_RATE_FLAGS per account or IP address. Back to the pin's page, or to the map
    when the flag hid it (its page is then a 404 for the flagger)."""
    idea = visible_pin_or_404(request, pk)
    if idea.hidden_by_moderation_at is not None:
        raise Http404("No pin with this number.")
    form = FlagForm(request.POST)
    if form.is_valid():
        # Counted once the request is well formed (MAPIDEAS_RATE_FLAGS).
        refused = ratelimit.too_many(request, ratelimit.FLAGS)
        if refused is not None:
            return refused
        try:
            result = moderation.idea_flag(
                idea=idea,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                user=request.user,
                flagger_hash=flagger_hash(request),
            )
        except ValidationError as exc:
            if "idea" in exc.message_dict:  # hidden meanwhile
                raise Http404("No pin with this number.") from None
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, _(FLAG_THANKS) if result.created else _("You reported this pin already.")
            )
            if result.hidden and not can_see_internal(request.user, idea):
                return redirect("home")
            return redirect(idea)
    return idea_page(request, idea, forms={"flag_form": form}, status=400)


@login_required
def moderation_queue(request: HttpRequest) -> HttpResponse:
    """The flagged pins waiting for a decision: a team member's teams' pins, every pin for
    planners (read-only) and administrators."""
    assert request.user.is_authenticated  # login_required let only a signed-in person in
    if not moderation.can_see_queue(request.user):
        raise PermissionDenied(moderation.QUEUE_FORBIDDEN)
    ideas = list(moderation.moderation_queue(user=request.user)[:200])
    rows = [{"idea": idea, "may_decide": can_work_on(request.user, idea)} for idea in ideas]
    return render(
        request,
        "mapideas/moderation_queue.html",
        {"rows": rows, "flags_to_hide": settings.MAPIDEAS_FLAGS_TO_HIDE},
    )


@require_POST
@login_required
def moderation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep or remove a flagged pin (the service checks who may: 403 otherwise). A pin this
    person may not see (another team's, hidden) is a 404 as for one that does not exist: a
    403 would say it is there."""
    idea = visible_pin_or_404(request, pk)
    form = ModerationDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose keep or remove."))
        return redirect("moderation-queue")
    try:
        idea = moderation.idea_moderate(
            idea=idea,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        # moderation.DECISIONS: "kept" or "removed".
        if idea.moderation_decision == "removed":
            said = _("Pin #%(number)s removed.")
        else:
            said = _("Pin #%(number)s kept.")
        messages.success(request, said % {"number": idea.pk})
    return redirect("moderation-queue")
