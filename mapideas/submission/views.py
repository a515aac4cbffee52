"""Pages of a pin's submission: the map with its pin form, and the email confirmation link."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mapideas.map import maps
from mapideas.models import Idea
from mapideas.pins import selectors as pins_selectors
from mapideas.pins.views import photo_response
from mapideas.plumbing import ratelimit
from mapideas.submission import selectors, services
from mapideas.submission.forms import CitizenIdeaForm
from neighborhoods.selectors import active_neighborhoods


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
                "contact_shared_with_city": form.cleaned_data.get(
                    "contact_shared_with_city", False
                ),
                "photo": form.cleaned_data.get("photo"),
            }
            token = form.cleaned_data.get("submission_token") or ""
            try:
                # The form's one-time token: a double submit or a reload of the POST finds the
                # pin stored the first time (and is not counted against the rate limit).
                idea = services.pin_submit(
                    sender=ratelimit.client_identity(request),
                    idempotency_key=f"form:{token}" if token else None,
                    rate=ratelimit.SUBMISSIONS,
                    **pin,
                ).idea
            except ratelimit.RateLimited as exc:
                return ratelimit.too_many_response(exc.retry_after)
            except services.IdempotencyConflict:
                # The same form sent again with other content: the page carries a new token
                # (below), so that sending it again sends it as new.
                form.add_error(
                    "submission_token",
                    _("This form was sent already. Check the pin and send it again."),
                )
            except PermissionDenied:  # the modes changed between the page and the POST
                form, sign_in_required, status = None, True, 403
            except ValidationError as exc:
                # The services name what they were given: the point is the form's latitude
                # and longitude, the idempotency key is the form's submission token.
                as_fields = {"location": "latitude", "Idempotency-Key": "submission_token"}
                for field, errors in exc.message_dict.items():
                    field = as_fields.get(field, field)
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
        if form is not None and "submission_token" in form.errors:
            # A token the page never made: the page carries a fresh one, so that sending the
            # form again works.
            form.data = _with_fresh_token(request)
    else:
        form = CitizenIdeaForm(user=user)
    city = maps.city_map(active_neighborhoods())
    return render(
        request,
        "mapideas/home.html",
        {
            "form": form,
            "sign_in_required": sign_in_required,
            "sign_in_message": services.SIGN_IN_REQUIRED_MESSAGE,
            "map": city,
            "has_neighborhoods": city.outlines > 0,
            "max_page_size": settings.MAPIDEAS_MAX_PAGE_SIZE,
        },
        status=status,
    )


def _with_fresh_token(request: HttpRequest):
    """A mutable copy of what the form was given (request.POST), with a new one-time token."""
    data = request.POST.copy()
    data["submission_token"] = secrets.token_urlsafe(24)
    return data


def idea_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link emailed with a pin sent with an email address: a page showing the pin (anyone
    can send a pin with someone else's address: its owner sees what they would publish) with
    one button (a mail scanner opening the link must not publish the pin); the button
    confirms, and the pin's now public page opens."""
    if request.method == "POST":
        # The service checks the link itself, as the page below does.
        confirmed = services.idea_confirm(token=token)
        if confirmed is None:
            return render(request, "mapideas/idea_confirm.html", {"bad": True}, status=400)
        messages.success(
            request,
            _("Thank you: your pin is on the public map, and we email you when it changes."),
        )
        return redirect(confirmed)
    idea = selectors.pin_of_confirm_link(token=token)
    if idea is None:
        return render(request, "mapideas/idea_confirm.html", {"bad": True}, status=400)
    photo = pins_selectors.idea_photo(idea=idea)
    return render(
        request,
        "mapideas/idea_confirm.html",
        {
            "idea": idea,
            "photo": photo,
            "photo_url": reverse("idea-confirm-photo", args=[token]) if photo else None,
        },
    )


@require_safe
def idea_confirm_photo(request: HttpRequest, token: str) -> FileResponse:
    """The photo of the pin a confirmation link names, for the link's holder: the pin is not
    public yet, so its own photo URL is staff's only (pins.views.idea_photo)."""
    idea = selectors.pin_of_confirm_link(token=token)
    if idea is None:
        raise Http404("This link is damaged or expired.")
    response = photo_response(idea)
    # The URL holds the link: no shared cache keeps it, whether the pin is public by now or not.
    response["Cache-Control"] = "private, no-store"
    return response
