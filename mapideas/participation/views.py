"""Pages of citizens following what happens: support, comments, follow and unsubscribe links."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mapideas.models import Comment
from mapideas.participation import services
from mapideas.participation.forms import CommentForm, FollowForm, HideCommentForm
from mapideas.participation.supporters import (
    new_supporter_token,
    remember_supporter,
    supporter_hash,
    supporter_token,
)
from mapideas.pins.page import form_errors, idea_page, visible_pin_or_404
from mapideas.pins.roles import can_see_internal
from mapideas.plumbing import ratelimit


@require_POST
def idea_support(request: HttpRequest, pk: int) -> HttpResponse:
    """Support a pin: once per signed-in person; anonymously once per browser (a random token
    in a signed cookie) and at most MAPIDEAS_RATE_SUPPORT supports per IP address."""
    idea = visible_pin_or_404(request, pk)
    # Anonymous supports only, once the pin is found.
    refused = ratelimit.too_many(request, ratelimit.SUPPORT)
    if refused is not None:
        return refused
    token = None
    if not request.user.is_authenticated:
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
    idea = visible_pin_or_404(request, pk)
    if not request.user.is_authenticated:
        raise PermissionDenied(_("Sign in to take back a support."))
    services.idea_unsupport(idea=idea, user=request.user)
    messages.success(request, _("You no longer support this pin."))
    return redirect(idea)


@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    idea = visible_pin_or_404(request, pk)
    if not request.user.is_authenticated:
        raise PermissionDenied(services.COMMENT_FORBIDDEN)
    form = CommentForm(request.POST)
    if form.is_valid():
        # Counted once the comment is well formed, per account (MAPIDEAS_RATE_COMMENTS).
        refused = ratelimit.too_many(request, ratelimit.COMMENTS)
        if refused is not None:
            return refused
        try:
            services.comment_add(idea=idea, author=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Comment published."))
            return redirect(idea)
    return idea_page(request, idea, forms={"comment_form": form}, status=400)


@require_POST
def comment_hide(request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    idea = visible_pin_or_404(request, pk)
    comment = get_object_or_404(Comment, pk=comment_pk, idea=idea)
    if not can_see_internal(request.user, idea):
        raise PermissionDenied(services.HIDE_FORBIDDEN)
    form = HideCommentForm(request.POST, comment_pk=comment.pk)
    if form.is_valid():
        try:
            services.comment_hide(
                comment=comment, reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Comment hidden."))
            return redirect(idea)
    return idea_page(request, idea, forms={"hide_form": form}, status=400)


@require_POST
def idea_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a pin: signed-in people at once; others give an email address to confirm
    (at most MAPIDEAS_RATE_FOLLOW a client IP address)."""
    idea = visible_pin_or_404(request, pk)
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
    refused = ratelimit.too_many(request, ratelimit.FOLLOW)
    if refused is not None:
        return refused
    form = FollowForm(request.POST)
    if form.is_valid():
        try:
            services.follow(idea=idea, email=form.cleaned_data["email"])
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            # The same words whether or not the address already followed: nothing to learn.
            messages.success(
                request,
                _("Almost done: open the link we sent to your email address to confirm."),
            )
            return redirect(idea)
    return idea_page(request, idea, forms={"follow_form": form}, status=400)


@require_POST
def idea_unfollow(request: HttpRequest, pk: int) -> HttpResponse:
    idea = visible_pin_or_404(request, pk)
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
