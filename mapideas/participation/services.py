"""Writes of citizens following what happens: support, comments, follow."""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from mapideas.models import (
    COMMENT_MAX_LENGTH,
    HIDE_REASON_MAX_LENGTH,
    Comment,
    Follower,
    Idea,
    Support,
)
from mapideas.notifications import services as notifications
from mapideas.pins.roles import can_see_internal, can_work_on
from mapideas.pins.services import _clean_text, _locked, _person
from mapideas.plumbing.tokens import id_from_token

# --- Citizens follow what happens: support, comments, follow --------------------------------
#
# Support and follow are idempotent (doing it twice is doing it once); each write locks the
# pin first, so the denormalised support_count cannot drift under concurrent clicks.

COMMENT_REQUIRED_MESSAGE = gettext_lazy("Write a comment.")


COMMENT_FORBIDDEN = gettext_lazy("Sign in to comment: anonymous comments are off.")


HIDE_FORBIDDEN = gettext_lazy(
    "Only staff who work on the pin (its team, the teams it lies in the area of, planners) "
    "and administrators can hide a comment."
)


HIDE_REASON_MESSAGE = gettext_lazy("Say why the comment is hidden: the page shows the reason.")


DUPLICATE_SUPPORT_MESSAGE = gettext_lazy("This pin is a duplicate of pin #{pk}: support that one.")


def _supporter(user: User | AnonymousUser | None, token_hash: str) -> dict:
    person = _person(user)
    if person is not None:
        return {"user": person}
    if not token_hash:
        raise PermissionDenied(gettext("Anonymous support needs the supporter cookie."))
    return {"user": None, "token_hash": token_hash}


@transaction.atomic
def idea_support(
    *, idea: Idea, user: User | AnonymousUser | None = None, token_hash: str = ""
) -> bool:
    """One person supports a pin: a signed-in user (one row per pin and user), else the
    anonymous cookie's token (its keyed hash, models.keyed_hash). Supporting again changes
    nothing. True if the support is new. A duplicate's supporters belong to the original."""
    who = _supporter(user, token_hash)
    idea = _locked(idea)
    if idea.status == Idea.Status.DUPLICATE and idea.duplicate_of_id is not None:
        raise ValidationError(
            {"support": [DUPLICATE_SUPPORT_MESSAGE.format(pk=idea.duplicate_of_id)]}
        )
    _support, created = Support.objects.get_or_create(idea=idea, **who)
    if created:
        Idea.objects.filter(pk=idea.pk).update(support_count=F("support_count") + 1)
    return created


@transaction.atomic
def idea_unsupport(*, idea: Idea, user: User | AnonymousUser | None) -> bool:
    """A signed-in user takes their support back (anonymous support cannot be: the cookie
    proves nothing worth trusting with that). True if there was one."""
    person = _person(user)
    if person is None:
        raise PermissionDenied(gettext("Sign in to take back a support."))
    idea = _locked(idea)
    deleted, _ = Support.objects.filter(idea=idea, user=person).delete()
    if deleted:
        Idea.objects.filter(pk=idea.pk).update(support_count=F("support_count") - deleted)
    return bool(deleted)


def _recount_supports(idea_id: int) -> None:
    Idea.objects.filter(pk=idea_id).update(
        support_count=Coalesce(
            Subquery(
                Support.objects.filter(idea=OuterRef("pk"))
                .order_by()
                .values("idea")
                .annotate(n=Count("id"))
                .values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        )
    )


@transaction.atomic
def comment_add(*, idea: Idea, author: User | AnonymousUser | None, text: str) -> Comment:
    """A signed-in person's public comment. A member of a team that may work on the pin
    speaks for the pin's team: the page signs the comment with the team's name."""
    person = _person(author)
    if person is None:
        raise PermissionDenied(COMMENT_FORBIDDEN)
    text = _clean_text(text, field="text", max_length=COMMENT_MAX_LENGTH)
    if not text:
        raise ValidationError({"text": [COMMENT_REQUIRED_MESSAGE]})
    idea = _locked(idea)
    team = idea.team if can_work_on(person, idea) else None
    return Comment.objects.create(idea=idea, author=person, team=team, text=text)


@transaction.atomic
def comment_hide(*, comment: Comment, reason: str, actor: User | AnonymousUser | None) -> Comment:
    """Moderators take a comment off the public page, with a reason shown in its place."""
    reason = _clean_text(reason, field="reason", max_length=HIDE_REASON_MAX_LENGTH)
    comment = Comment.objects.select_for_update().select_related("idea").get(pk=comment.pk)
    person = _person(actor)
    if person is None or not can_see_internal(person, comment.idea):
        raise PermissionDenied(HIDE_FORBIDDEN)
    if not reason:
        raise ValidationError({"reason": [HIDE_REASON_MESSAGE]})
    if comment.is_hidden:
        raise ValidationError({"reason": [gettext("The comment is already hidden.")]})
    comment.hidden_at = timezone.now()
    comment.hidden_reason = reason
    comment.hidden_by = person
    comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
    return comment


@dataclass(frozen=True)
class FollowResult:
    follower: Follower
    # An email address still to confirm: a confirmation email was queued (or one recently).
    needs_confirmation: bool


@transaction.atomic
def follow(
    *, idea: Idea, user: User | AnonymousUser | None = None, email: str = ""
) -> FollowResult:
    """Follow a pin: a signed-in person at once (their account's email), anyone else with an
    email address, which gets a confirmation link first; nothing is sent to it before.
    Following again changes nothing (an unconfirmed address gets a new link, at most one a
    day)."""
    idea = _locked(idea)
    person = _person(user)
    now = timezone.now()
    if person is not None:
        follower, _ = Follower.objects.get_or_create(
            idea=idea, user=person, defaults={"confirmed_at": now}
        )
        return FollowResult(follower, needs_confirmation=False)
    email = clean_email(email)
    follower, _ = Follower.objects.get_or_create(idea=idea, email=email)
    if follower.confirmed_at is not None:
        return FollowResult(follower, needs_confirmation=False)
    if follower.confirmation_sent_at is None or follower.confirmation_sent_at < now - timedelta(
        days=1
    ):
        notifications.queue_confirmation(follower)
        follower.confirmation_sent_at = now
        follower.save(update_fields=["confirmation_sent_at"])
    return FollowResult(follower, needs_confirmation=True)


def clean_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError({"email": [gettext("Give your email address.")]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [gettext("Give a valid email address.")]}) from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


@transaction.atomic
def follow_confirm(*, token: str) -> Follower | None:
    """Confirm an address from the link it was sent; None if the link is bad or expired
    (or the follower is gone). Confirming twice is confirming once."""
    pk = id_from_token(
        token, salt=notifications.CONFIRM_SALT, max_age=notifications.CONFIRM_MAX_AGE
    )
    follower = Follower.objects.select_for_update().filter(pk=pk).first() if pk else None
    if follower is None:
        return None
    if follower.confirmed_at is None:
        follower.confirmed_at = timezone.now()
        follower.save(update_fields=["confirmed_at"])
    return follower


@transaction.atomic
def unfollow(
    *, idea: Idea | None = None, user: User | AnonymousUser | None = None, token: str = ""
) -> bool:
    """Stop following: a signed-in person, a pin; or anyone with the one-click link of an
    email (`token`, no login). True if someone stopped following."""
    if token:
        pk = id_from_token(token, salt=notifications.UNSUBSCRIBE_SALT)
        if pk is None:
            raise ValidationError({"token": [gettext("This unsubscribe link is damaged.")]})
        deleted, _ = Follower.objects.filter(pk=pk).delete()
        return bool(deleted)
    person = _person(user)
    if person is None or idea is None:
        raise PermissionDenied(gettext("Sign in to unfollow, or use the link in the email."))
    deleted, _ = Follower.objects.filter(idea=idea, user=person).delete()
    return bool(deleted)
