"""Pages for citizens and district teams. Thin: reads come from selectors, writes from
services, maps from mapideas.maps."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from mapideas import maps, notifications, photos, ratelimit, selectors, services, workflow
from mapideas.forms import (
    AssignForm,
    BulkForm,
    CitizenIdeaForm,
    CommentForm,
    DuplicateForm,
    FlagForm,
    FollowForm,
    HideCommentForm,
    NoteForm,
    OfflineIdeaForm,
    QueueFilterForm,
    ReassignForm,
    SignupForm,
    StatusForm,
)
from mapideas.models import HIDE_REASON_MAX_LENGTH, Comment, Idea
from mapideas.roles import (
    OFFLINE_FORBIDDEN,
    WORK_FORBIDDEN,
    can_reassign,
    can_see_internal,
    can_work_on,
)
from mapideas.supporters import (
    new_supporter_token,
    remember_supporter,
    supporter_hash,
    supporter_token,
)
from neighborhoods.models import Neighborhood, Team
from neighborhoods.roles import can_view_team, is_planner
from neighborhoods.selectors import active_neighborhoods

TEAM_PAGE_SIZE = 50
# The most pins the workspace map draws (the newest of the filtered queue; the page says so).
MAP_PIN_LIMIT = 2000


def home(request: HttpRequest) -> HttpResponse:
    """The citizen map: every neighborhood, the pins in view, and the form to add one, for
    the ways of sending a pin the city allows (MAPIDEAS_SUBMISSION_MODES): when only signed-in
    people may, someone not signed in is asked to log in or sign up instead of a form."""
    user = request.user
    only_accounts = settings.MAPIDEAS_SUBMISSION_MODES == ("account",)
    sign_in_required = only_accounts and not user.is_authenticated
    form: CitizenIdeaForm | None = None
    status = 200
    if sign_in_required:
        status = 403 if request.method == "POST" else 200
    elif request.method == "POST":
        form = CitizenIdeaForm(request.POST, request.FILES, user=user)
        status = 400
        if form.is_valid():
            pin = {
                "kind": form.cleaned_data["kind"],
                "title": form.cleaned_data["title"],
                "description": form.cleaned_data["description"],
                "category": form.cleaned_data["category"],
                "location": form.location,
                "channel": Idea.Channel.WEB,
                "author": user,
                "email": form.cleaned_data.get("email", ""),
                "name": form.cleaned_data.get("name", ""),
                "photo": form.cleaned_data.get("photo"),
            }
            token = form.cleaned_data.get("submission_token") or ""
            try:
                # The form's one-time token: a double submit or a reload of the POST finds the
                # pin stored the first time (and is not counted against the rate limit).
                once = (
                    services.idempotency(
                        key=f"form:{token}",
                        scope=ratelimit.client_identity(request),
                        pin=pin,
                    )
                    if token
                    else None
                )
                idea = services.idea_replayed(once) if once is not None else None
                if idea is None:
                    # Counted once the pin is well formed, as it could be stored (and email
                    # sent).
                    retry_after = ratelimit.hit(
                        request, "submit", settings.MAPIDEAS_RATE_SUBMISSIONS
                    )
                    if retry_after is not None:
                        return ratelimit.too_many_response(retry_after)
                    if once is None:
                        idea = services.idea_submit(**pin)
                    else:
                        idea, _replayed = services.idea_submit_once(idempotency=once, **pin)
            except services.IdempotencyConflict:
                # The same form sent again with other content: a new token, sent as new.
                form.data = form.data.copy()
                form.data["submission_token"] = secrets.token_urlsafe(24)
                form.add_error(
                    None, _("This form was sent already. Check the pin and send it again.")
                )
            except PermissionDenied:  # the modes changed between the page and the POST
                form, sign_in_required, status = None, True, 403
            except ValidationError as exc:
                for message in exc.message_dict.get("location", []):
                    form.add_error("latitude", message)
                for field, errors in exc.message_dict.items():
                    if field != "location":
                        form.add_error(field if field in form.fields else None, errors)
            else:
                where = idea.neighborhood.name if idea.neighborhood else _("between neighborhoods")
                sent = _("Thank you. Your %(kind)s was sent to %(team)s (%(where)s).") % {
                    "kind": idea.get_kind_display().lower(),
                    "team": idea.team.display_name,
                    "where": where,
                }
                if idea.awaiting_confirmation:
                    # Its page is not public yet: back to the map, with what to do next.
                    # extra_tags: drafts.js removes the browser's draft of this pin when the
                    # page after the redirect shows it arrived.
                    messages.success(
                        request,
                        "{} {}".format(
                            sent,
                            _(
                                "We emailed you a link: open it to show your pin on the "
                                "public map and to hear when it changes."
                            ),
                        ),
                        extra_tags="idea-sent",
                    )
                    return redirect("home")
                messages.success(request, sent, extra_tags="idea-sent")
                return redirect(idea)
    else:
        form = CitizenIdeaForm(user=user)
    neighborhoods = active_neighborhoods()
    fmap = maps.new_map(bounds=maps.extent(neighborhoods))
    maps.add_neighborhood_outlines(fmap, neighborhoods)
    return render(
        request,
        "mapideas/home.html",
        {
            "form": form,
            "sign_in_required": sign_in_required,
            "sign_in_message": services.SIGN_IN_REQUIRED_MESSAGE,
            "map": maps.render(fmap),
            "has_neighborhoods": neighborhoods.exists(),
            "max_page_size": settings.MAPIDEAS_MAX_PAGE_SIZE,
        },
        status=status,
    )


def idea_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A pin's public page: where it is, which team has it, its status, its public timeline
    (routing and the team's answers), its duplicates.

    Staff who may work on the pin also see the workflow forms; staff who may read its
    internal notes see them (never anyone else: mapideas.roles). A pin awaiting its author's
    email confirmation is a 404 for everyone but those staff."""
    return _idea_page(request, _post_target(request, pk))


# Public photos may sit in shared caches for a day: a photo hidden by moderators (or a pin
# deleted) can linger there that long, which is why it is not a year.
PHOTO_CACHE_SECONDS = 24 * 3600


@require_safe
def idea_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A pin's photo, as stored (a re-encoded JPEG without metadata), for whoever may see the
    pin: anyone for a public pin, only its staff for one awaiting confirmation or hidden by
    moderation (a 404 for everyone else, as the page). The file is outside any web root."""
    idea = _post_target(request, pk)
    photo = selectors.idea_photo(idea=idea)
    if photo is None:
        raise Http404("This pin has no photo.")
    try:
        stream = photos.photo_storage().open(photo.name, "rb")
    except FileNotFoundError:
        raise Http404("This pin has no photo.") from None
    response = FileResponse(stream, content_type=photos.CONTENT_TYPE)
    # Never a download with the upload's name (it is not kept); shown in the page.
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    if not idea.is_public:
        # Seen by staff only: no shared cache may keep it.
        response["Cache-Control"] = "private, no-store"
    else:
        response["Cache-Control"] = f"public, max-age={PHOTO_CACHE_SECONDS}"
    return response


def _post_target(request: HttpRequest, pk: int) -> Idea:
    """The pin `pk` as this person may see it (selectors.visible_idea): a pin that is not
    public is the same 404 as one that does not exist, for all but its team's staff."""
    idea = selectors.visible_idea(user=request.user, pk=pk)
    if idea is None:
        raise Http404("No pin with this number.")
    return idea


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_POST
def idea_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff send the pin to another team, with a reason; back to its page with a message.

    The workflow's "not our responsibility"."""
    idea = _post_target(request, pk)
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
            _form_errors(form, exc)
        else:
            messages.success(
                request, _("Re-assigned to %(team)s.") % {"team": event.to_team.display_name}
            )
            return redirect(idea)
    return _idea_page(request, idea, forms={"reassign_form": form}, status=400)


def _workflow_post(request: HttpRequest, pk: int, form_name: str, make_form, write) -> HttpResponse:
    """The shape of every workflow POST: 403 unless the person may work on the pin, then the
    form, then the service (which checks again, under a lock); back to the page or a 400."""
    idea = _post_target(request, pk)
    if not can_work_on(request.user, idea):
        raise PermissionDenied(WORK_FORBIDDEN)
    form = make_form(idea, request.POST)
    if form.is_valid():
        try:
            message = write(idea, form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect(idea)
    return _idea_page(request, idea, forms={form_name: form}, status=400)


@require_POST
def idea_status(request: HttpRequest, pk: int) -> HttpResponse:
    def write(idea: Idea, data: dict) -> str:
        update = services.idea_status_change(
            idea=idea, status=data["status"], answer=data["answer"], actor=request.user
        )
        if update.changes_status:
            return _("Status: %(status)s.") % {"status": update.get_to_status_display()}
        return _("Answer published.")

    return _workflow_post(
        request, pk, "status_form", lambda idea, d: StatusForm(d, idea=idea), write
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


def _idea_page(
    request: HttpRequest, idea: Idea, *, forms: dict | None = None, status: int = 200
) -> HttpResponse:
    if idea.neighborhood is not None:
        fmap = maps.new_map(bounds=idea.neighborhood.geometry.extent)
        maps.add_neighborhood_outlines(fmap, Neighborhood.objects.filter(pk=idea.neighborhood_id))
    else:  # a pin in a gap between neighborhoods: show its surroundings
        fmap = maps.new_map(bounds=idea.location.buffer(0.005).extent)
    forms = forms or {}
    context: dict = {
        "idea": idea,
        "map": maps.render(fmap),
        "timeline": selectors.idea_timeline(idea=idea),
        "duplicate_of": (
            selectors.public_ideas().filter(pk=idea.duplicate_of_id).first()
            if idea.duplicate_of_id
            else None
        ),
        "duplicates": selectors.idea_duplicates(idea=idea),
        "photo": selectors.idea_photo(idea=idea),
        "reassign_form": None,
    }
    context.update(_following_context(request, idea, forms))
    user = request.user
    if can_reassign(user, idea):
        context["reassign_form"] = forms.get("reassign_form") or ReassignForm(idea=idea)
    if can_see_internal(user, idea):
        context["notes"] = selectors.idea_notes(idea=idea)
        context["assignee"] = idea.assignee
        context["sees_internal"] = True
    if can_work_on(user, idea):
        context["status_form"] = forms.get("status_form") or StatusForm(idea=idea)
        context["note_form"] = forms.get("note_form") or NoteForm()
        context["assign_form"] = forms.get("assign_form") or AssignForm(
            team=idea.team, initial={"assignee": idea.assignee}
        )
        if Idea.Status.DUPLICATE in workflow.next_statuses(idea.status):
            context["duplicate_form"] = forms.get("duplicate_form") or DuplicateForm()
    return render(request, "mapideas/idea_detail.html", context, status=status)


# --- Citizens follow what happens: support, comments, follow ---------------------------------


def _following_context(request: HttpRequest, idea: Idea, forms: dict) -> dict:
    """What the page's support, follow and comments sections need."""
    user = request.user
    signed_in = user.is_authenticated
    token_hash = "" if signed_in else supporter_hash(supporter_token(request))
    return {
        "comments": selectors.idea_comments(idea=idea),
        "supported": selectors.idea_supported(idea=idea, user=user, token_hash=token_hash),
        "following": signed_in and selectors.idea_followed(idea=idea, user=user),
        "comment_form": (forms.get("comment_form") or CommentForm()) if signed_in else None,
        "follow_form": None if signed_in else (forms.get("follow_form") or FollowForm()),
        "may_moderate": can_see_internal(user, idea),
        "hide_form": forms.get("hide_form"),
        "hide_reason_max": HIDE_REASON_MAX_LENGTH,
        # "Report this pin" (mapideas.moderation_views.idea_flag).
        "flag_form": forms.get("flag_form") or FlagForm(),
    }


@require_POST
def idea_support(request: HttpRequest, pk: int) -> HttpResponse:
    """Support a pin: once per signed-in person; anonymously once per browser (a random token
    in a signed cookie) and at most MAPIDEAS_RATE_SUPPORT supports per IP address."""
    idea = _post_target(request, pk)
    token = None
    if not request.user.is_authenticated:
        retry_after = ratelimit.hit(request, "support", settings.MAPIDEAS_RATE_SUPPORT)
        if retry_after is not None:
            return ratelimit.too_many_response(retry_after)
        token = supporter_token(request) or new_supporter_token()
    try:
        created = services.idea_support(
            idea=idea, user=request.user, token_hash=supporter_hash(token)
        )
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(
            request,
            _("Thank you for your support.") if created else _("You already support this pin."),
        )
    response = redirect(idea)
    if token is not None:
        remember_supporter(response, token)
    return response


@require_POST
def idea_unsupport(request: HttpRequest, pk: int) -> HttpResponse:
    idea = _post_target(request, pk)
    if not request.user.is_authenticated:
        raise PermissionDenied(_("Sign in to take back a support."))
    services.idea_unsupport(idea=idea, user=request.user)
    messages.success(request, _("You no longer support this pin."))
    return redirect(idea)


@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    idea = _post_target(request, pk)
    if not request.user.is_authenticated:
        raise PermissionDenied(services.COMMENT_FORBIDDEN)
    form = CommentForm(request.POST)
    if form.is_valid():
        # Counted once the comment is well formed, per account (MAPIDEAS_RATE_COMMENTS).
        retry_after = ratelimit.hit(request, "comment", settings.MAPIDEAS_RATE_COMMENTS)
        if retry_after is not None:
            return ratelimit.too_many_response(retry_after)
        try:
            services.comment_add(idea=idea, author=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Comment published."))
            return redirect(idea)
    return _idea_page(request, idea, forms={"comment_form": form}, status=400)


@require_POST
def comment_hide(request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    idea = _post_target(request, pk)
    comment = get_object_or_404(Comment, pk=comment_pk, idea=idea)
    if not can_see_internal(request.user, idea):
        raise PermissionDenied(services.HIDE_FORBIDDEN)
    form = HideCommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_hide(
                comment=comment, reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Comment hidden."))
            return redirect(idea)
    return _idea_page(request, idea, forms={"hide_form": form}, status=400)


@require_POST
def idea_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a pin: signed-in people at once; others give an email address to confirm
    (at most MAPIDEAS_RATE_FOLLOW a client IP address)."""
    idea = _post_target(request, pk)
    if request.user.is_authenticated:
        services.follow(idea=idea, user=request.user)
        if request.user.email:
            messages.success(request, _("You follow this pin: we email you when it changes."))
        else:
            messages.warning(
                request,
                _("You follow this pin, but your account has no email address to write to."),
            )
        return redirect(idea)
    retry_after = ratelimit.hit(request, "follow", settings.MAPIDEAS_RATE_FOLLOW)
    if retry_after is not None:
        return ratelimit.too_many_response(retry_after)
    form = FollowForm(request.POST)
    if form.is_valid():
        try:
            services.follow(idea=idea, email=form.cleaned_data["email"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            # The same words whether or not the address already followed: nothing to learn.
            messages.success(
                request,
                _("Almost done: open the link we sent to your email address to confirm."),
            )
            return redirect(idea)
    return _idea_page(request, idea, forms={"follow_form": form}, status=400)


@require_POST
def idea_unfollow(request: HttpRequest, pk: int) -> HttpResponse:
    idea = _post_target(request, pk)
    if not request.user.is_authenticated:
        raise PermissionDenied(_("Sign in to unfollow, or use the link in an email."))
    services.unfollow(idea=idea, user=request.user)
    messages.success(request, _("You no longer follow this pin."))
    return redirect(idea)


def follow_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the confirmation email: a page with one button (a link opened by a mail
    scanner must not confirm by itself); the button confirms."""
    if request.method == "POST":
        follower = services.follow_confirm(token=token)
        if follower is None:
            return render(request, "mapideas/follow_confirm.html", {"bad": True}, status=400)
        messages.success(request, _("Confirmed: we email you when this pin changes."))
        return redirect(follower.idea)
    return render(request, "mapideas/follow_confirm.html", {"token": token})


def idea_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link emailed with a pin sent with an email address: a page with one button (a
    mail scanner opening the link must not publish the pin); the button confirms, and the
    pin's now public page opens."""
    if notifications.idea_from_confirm_token(token) is None:
        return render(request, "mapideas/idea_confirm.html", {"bad": True}, status=400)
    if request.method == "POST":
        idea = services.idea_confirm(token=token)
        if idea is None:
            return render(request, "mapideas/idea_confirm.html", {"bad": True}, status=400)
        messages.success(
            request,
            _("Thank you: your pin is on the public map, and we email you when it changes."),
        )
        return redirect(idea)
    return render(request, "mapideas/idea_confirm.html", {"token": token})


def signup(request: HttpRequest) -> HttpResponse:
    """A citizen's account, offered when the city takes pins from signed-in people
    (MAPIDEAS_SUBMISSION_MODES has "account"); at most MAPIDEAS_RATE_SIGNUP sign-ups per
    client IP address. Signs the new account in, then back to `next` or the map."""
    if "account" not in settings.MAPIDEAS_SUBMISSION_MODES:
        raise Http404("Sign-up is off in this city.")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    status = 200
    if request.method == "POST":
        retry_after = ratelimit.hit(request, "signup", settings.MAPIDEAS_RATE_SIGNUP)
        if retry_after is not None:
            return ratelimit.too_many_response(retry_after)
        form = SignupForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.citizen_signup(
                    username=data["username"], email=data["email"], password=data["password"]
                )
            except ValidationError as exc:
                errors = exc.message_dict
                if not data["username"]:  # the email is the username: its errors go there
                    errors.setdefault("email", []).extend(errors.pop("username", []))
                _form_errors(form, ValidationError(errors))
            else:
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(
                    request,
                    _("Welcome, %(name)s: you are signed in.") % {"name": user.get_username()},
                )
                return redirect(next_url or "home")
    else:
        form = SignupForm()
    return render(
        request, "registration/signup.html", {"form": form, "next": next_url}, status=status
    )


@csrf_exempt  # the signed token is the authority; mail clients POST it without a session
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link of every email (and its List-Unsubscribe header, RFC 8058): a
    page with one button; the POST (the button, or the mail client) unfollows. No login."""
    if request.method == "POST":
        try:
            services.unfollow(token=token)
        except ValidationError:
            return render(request, "mapideas/unsubscribe.html", {"bad": True}, status=400)
        return render(request, "mapideas/unsubscribe.html", {"done": True})
    return render(request, "mapideas/unsubscribe.html", {"token": token})


@csrf_exempt  # as unsubscribe: the signed token is the authority
def team_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link of a team's new-pin emails: stops them for the whole team."""
    if request.method == "POST":
        if services.team_notifications_stop(token=token) is None:
            return render(request, "mapideas/unsubscribe.html", {"bad": True}, status=400)
        return render(request, "mapideas/unsubscribe.html", {"done": True})
    return render(request, "mapideas/unsubscribe.html", {"token": token})


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
    queue = selectors.team_queue(team=team, filters=filters, now=now)
    also_in = selectors.team_also_in_area_queue(team=team, filters=filters, now=now)
    page = Paginator(queue, TEAM_PAGE_SIZE).get_page(request.GET.get("page"))
    area = active_neighborhoods().filter(team=team)
    fmap = maps.new_map(bounds=maps.extent(area if not team.is_triage else active_neighborhoods()))
    if team.is_triage:  # no area of its own: the city it fills the gaps of
        maps.add_neighborhood_outlines(fmap, active_neighborhoods())
    else:
        maps.add_neighborhood_outlines(fmap, area, highlight=True)
    map_pins = list(queue[:MAP_PIN_LIMIT])
    maps.add_pins(fmap, map_pins, name="Routed to this team")
    also_in_shown = list(also_in[:TEAM_PAGE_SIZE])
    maps.add_pins(fmap, also_in_shown, name="Also in your area", color="#6b7280")
    # The query string without the page, for the pager's links (filters kept).
    params = request.GET.copy()
    params.pop("page", None)
    user = request.user
    may_work = user.is_superuser or team.members.filter(pk=user.pk).exists()
    return render(
        request,
        "mapideas/team_workspace.html",
        {
            "team": team,
            "neighborhoods": area.order_by("name"),
            "page": page,
            "also_in": also_in_shown,
            "also_in_count": also_in.count(),
            "map": maps.render(fmap),
            "map_pin_count": len(map_pins),
            "map_pin_limit": MAP_PIN_LIMIT,
            "is_planner": is_planner(user),
            "filter_form": filter_form,
            "query": params.urlencode(),
            "stats": selectors.team_response_stats(team=team, now=now),
            "bulk_form": bulk_form or (BulkForm(team=team) if may_work else None),
            "may_work": may_work,
            "server_pins": True,
            "oldest_first": filters.sort == selectors.QueueSort.OLDEST,
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
            kwargs = {"status": data["status"], "answer": data["answer"]}
        elif data["action"] == "assign":
            kwargs = {"assignee": data["assignee"]}
        else:
            kwargs = {"assignee": None}
        try:
            result = services.ideas_bulk_update(ideas=data["ideas"], actor=request.user, **kwargs)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            count = len(result.ideas)
            messages.success(
                request,
                ngettext("Changed %(count)s pin.", "Changed %(count)s pins.", count)
                % {"count": count},
            )
            url = reverse("team-workspace", args=[team.slug])
            back = request.POST.get("query", "")
            return redirect(f"{url}?{back}" if back else url)
    return _workspace_page(request, team, bulk_form=form, status=400)


def _works_for(user, team: Team) -> bool:
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
        selectors.public_ideas().filter(pk=int(saved_pk)).first()
        if saved_pk.isascii() and saved_pk.isdigit() and len(saved_pk) <= 18
        else None
    )
    # The whole city, as on the home page: what a resident tells a team may lie anywhere.
    neighborhoods = active_neighborhoods()
    fmap = maps.new_map(bounds=maps.extent(neighborhoods))
    maps.add_neighborhood_outlines(fmap, neighborhoods)
    return render(
        request,
        "mapideas/offline_input.html",
        # Not `team`: the map would then load only this team's pins, and the input may
        # belong to any team (staff check for pins already there).
        {
            "workspace_team": team,
            "form": form,
            "saved": saved,
            "map": maps.render(fmap),
            "max_page_size": settings.MAPIDEAS_MAX_PAGE_SIZE,
        },
        status=status,
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
