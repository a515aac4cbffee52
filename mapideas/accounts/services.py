"""Writes of accounts: citizens' sign-up, completed through a link emailed to the address
given, and the purge of sign-ups never completed; staff accounts made and given their roles
by single sign-on (`single_sign_on_account`, at the end).

Why a link: the sign-up page must not tell whether an address already has an account (a
list of addresses checked against it would say who uses the city's site). So the page answers
the same for every address that passes the checks that do not depend on it (the username):
"we sent an email". A new address gets the link that completes its account; an address with
a sign-up never completed gets a new link; an address that already has an account gets an
email saying someone tried, with the login page.

Why the password is chosen on the link's page, not on the sign-up form: anyone may sign up
with someone else's address. Were the password typed at sign-up, the owner of the address
who followed the link would activate an account whose password the other person knows. So a
sign-up holds no password (an unusable one) until the link is followed, and whoever follows
it, the only one who reads that mailbox, chooses the password there (`signup_confirm`).

The answer's time says nothing either: no path hashes a password (none is typed), and each
queues one email; they differ by a row or two written in the same transaction, far below
what the network varies by. (A password hash, a few hundred milliseconds, would tell: if one
is ever added to a path, add it to all of them.)

An account signed up this way is inactive, and in the group AWAITING_CONFIRMATION_GROUP,
until its link is followed: Django's ModelBackend lets no inactive account log in, and drops
any session it had, so it can send, support or follow nothing. The group tells a sign-up never
completed from an account staff switched off (which is never purged). Sign-ups never completed
are deleted once their last link has expired (`unconfirmed_signups_purge`, run by
`manage.py send_notifications`).

The link: mapideas.accounts.selectors.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mapideas.accounts.selectors import (
    AWAITING_CONFIRMATION_GROUP,
    SIGNUP_LINK_MAX_AGE,
    awaiting_signup,
    awaiting_signups,
    signup_token,
    single_sign_on_username,
)
from mapideas.models import EmailOutbox, VerifiedAddress
from mapideas.notifications.services import absolute, email_subject, in_default_language
from mapideas.participation.services import clean_email
from mapideas.plumbing import ratelimit
from mapideas.plumbing.hashing import keyed_hash
from neighborhoods.models import Team
from neighborhoods.roles import planners_group

if TYPE_CHECKING:
    # A lazily translated message (gettext_lazy's), known to the type checker only.
    from django_stubs_ext import StrPromise

# A username chosen for whoever leaves the field empty: random, never from the address.
GENERATED_USERNAME_PREFIX = "citizen-"

DUPLICATE_USERNAME_MESSAGE = gettext_lazy("This username is taken: choose another.")
# Usernames may be shown to others, and older accounts were named by their address: a
# username with "@" would both publish an address and, through "taken", tell whether an
# address has an account. So none is accepted, whoever has it.
USERNAME_LIKE_ADDRESS_MESSAGE = gettext_lazy(
    "A username cannot contain @: others may see it, so keep your email address out of it."
)


def signup_link(user: User, *, next_url: str = "") -> str:
    """The absolute link that completes `user`'s sign-up, then goes to `next_url` (a path on
    this site, checked again when the link is followed)."""
    path = reverse("signup-confirm", args=[user.pk, signup_token(user)])
    if next_url:
        path += "?" + urlencode({"next": next_url})
    return absolute(path)


# --- the emails -------------------------------------------------------------------------------


@in_default_language
def queue_signup_link(user: User, *, next_url: str = "") -> EmailOutbox:
    """The email with the link that activates a new account and signs it in."""
    days = SIGNUP_LINK_MAX_AGE.days
    body = "\n".join(
        [
            _(
                "Someone (we hope you) signed up on MapIdeas with this email address, with the "
                "username %(username)s."
            )
            % {"username": user.get_username()},
            "",
            _(
                "To finish, open this link within %(days)s days and choose your password "
                "there: %(url)s"
            )
            % {"days": days, "url": signup_link(user, next_url=next_url)},
            "",
            _("Then log in with that username and that password."),
            _(
                "If it was not you, ignore this email: the account is deleted unused after "
                "%(days)s days, and nothing more is sent to you."
            )
            % {"days": days},
        ]
    )
    return EmailOutbox.objects.create(
        to=user.email, subject=email_subject(_("Finish signing up on MapIdeas")), body=body
    )


@in_default_language
def queue_signup_attempt_notice(*, to: str, usernames: list[str]) -> EmailOutbox:
    """The email to an address that already has an account, when someone signs up with it:
    no new account, nothing changed; the login page, and the username(s) to log in with."""
    body = "\n".join(
        [
            _(
                "Someone (perhaps you) tried to sign up on MapIdeas with this email address, "
                "which already has an account: %(usernames)s."
            )
            % {"usernames": ", ".join(usernames)},
            _("No new account was made, and nothing was changed."),
            "",
            _("If it was you, log in with that username and your password: %(url)s")
            % {"url": absolute(reverse("login"))},
            _(
                "If you have forgotten your password, write to the city's staff: they can set "
                "a new one."
            ),
            "",
            _("If it was not you, you can ignore this email."),
        ]
    )
    return EmailOutbox.objects.create(
        to=to,
        subject=email_subject(_("Someone tried to sign up on MapIdeas with your email address")),
        body=body,
    )


# --- writes -----------------------------------------------------------------------------------


def _new_username() -> str:
    user_model = get_user_model()
    while True:
        candidate = GENERATED_USERNAME_PREFIX + secrets.token_hex(4)
        if not user_model.objects.filter(username__iexact=candidate).exists():
            return candidate


def _awaiting_group() -> Group:
    group, _created = Group.objects.get_or_create(name=AWAITING_CONFIRMATION_GROUP)
    return group


def citizen_signup(*, username: str, email: str, next_url: str = "") -> None:
    """A citizen signs up (/accounts/signup/): a username (one is made up when none is given,
    never from the address) and an email address; no password (the link's page asks for
    it). A ValidationError names each field in fault; none of them depends on whether the
    address has an account. Then, by the address (the caller answers the same in every
    case):

    - unknown: an inactive account with an unusable password, and the email with its link
      (`queue_signup_link`);
    - a sign-up never completed: that account takes this sign-up's username, and a new link
      (the latest sign-up wins: it is what the person at the address last asked for); its
      unusable password is drawn again, so the earlier links stop working;
    - any other account: no account is made; its owner gets `queue_signup_attempt_notice`.

    Taken usernames are said: usernames are not secrets (others may see them), and "@" is
    refused in them, so "taken" never tells that an address has an account. Two sign-ups
    racing with one new address may both make an account (auth_user has no constraint on
    email): each waits for its own link, and the one never followed is purged."""
    email = clean_email(email)
    username = (username or "").strip()
    user_model = get_user_model()
    errors: dict[str, list[str | StrPromise]] = {}
    if "@" in username:
        errors["username"] = [USERNAME_LIKE_ADDRESS_MESSAGE]
    user = user_model(username=username or _new_username(), email=email, is_active=False)
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if (
        username
        and "username" not in errors
        and user_model.objects.filter(username__iexact=username).exists()
    ):
        errors["username"] = [DUPLICATE_USERNAME_MESSAGE]
    if errors:
        raise ValidationError(errors)
    # Counted per address, outside the writes' transaction (a count is committed on its own):
    # beyond MAPIDEAS_RATE_SIGNUP_EMAILS the caller answers the same and nothing is written
    # nor sent, so no network can flood a mailbox or keep renaming a pending sign-up.
    if ratelimit.SIGNUP_EMAILS.hit(keyed_hash("signup-email", email.casefold())) is not None:
        return
    _signup_write(user, email=email, next_url=next_url)


@transaction.atomic
def _signup_write(user: User, *, email: str, next_url: str) -> None:
    """citizen_signup's writes for a sign-up found well formed: by the address, a new
    account, a pending one renamed with a new link, or a notice to the owner."""
    user_model = get_user_model()
    same_address = list(
        user_model.objects.select_for_update().filter(email__iexact=email).order_by("pk")
    )
    awaiting = set(
        awaiting_signups().filter(pk__in=[u.pk for u in same_address]).values_list("pk", flat=True)
    )
    owners = [u for u in same_address if u.pk not in awaiting]
    if owners:
        for address in sorted({u.email for u in owners}):
            queue_signup_attempt_notice(
                to=address,
                usernames=[u.get_username() for u in owners if u.email == address],
            )
        return
    if same_address:
        candidate, user = user, same_address[0]
        user.username, user.email = candidate.username, email
        # When its last link was sent: the purge counts from it.
        user.date_joined = timezone.now()
    # Nothing logs in with it; a new random value, which the link's HMAC covers, so a new
    # sign-up with the same address makes the earlier links stop.
    user.set_unusable_password()
    user.save()
    user.groups.add(_awaiting_group())
    queue_signup_link(user, next_url=next_url)


@transaction.atomic
def signup_confirm(*, uid: int, token: str, password: str) -> User | None:
    """Follow a sign-up link: the account gets `password`, chosen by whoever followed the
    link, and becomes active (the caller signs it in). None if the link is forged, damaged,
    expired or used. A ValidationError naming `password` if Django's validators
    (AUTH_PASSWORD_VALIDATORS, which also compare it with the username and the address)
    refuse it: nothing is changed and the link still works. The account is locked: two
    clicks at once activate it once, and the second gets None."""
    user = awaiting_signup(uid=uid, token=token, lock=True)
    if user is None:
        return None
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.is_active = True
    user.date_joined = timezone.now()  # the day it joined is the day it was confirmed
    user.save(update_fields=["password", "is_active", "date_joined"])
    user.groups.remove(_awaiting_group())
    # Whoever followed the link reads that mailbox: the address is proved (it counts as one
    # person for residents' verdicts on closed pins, mapideas.outcomes).
    VerifiedAddress.objects.get_or_create(user=user, email=user.email)
    return user


def unconfirmed_signups_purge(*, now: datetime | None = None) -> int:
    """Delete the sign-ups never completed whose last link has expired (their date_joined is
    when the last link was sent). Returns how many accounts were deleted. An account that
    never signed in has nothing of its own to keep."""
    cutoff = (now or timezone.now()) - SIGNUP_LINK_MAX_AGE
    _deleted, per_model = awaiting_signups().filter(date_joined__lt=cutoff).delete()
    return per_model.get(get_user_model()._meta.label, 0)


# --- Single sign-on ------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRoles:
    """What a sign-in through the city's provider made of its groups claim."""

    team_slugs: tuple[str, ...]
    planner: bool | None  # None: MAPIDEAS_OIDC_PLANNER_GROUP unset, the role left alone


def staff_roles_of(groups: Iterable[str]) -> StaffRoles:
    """The teams and the planner role a list of provider groups names: a group named
    MAPIDEAS_OIDC_TEAM_PREFIX and a team's slug names that team; MAPIDEAS_OIDC_PLANNER_GROUP
    names the planner role. Other groups mean nothing here."""
    prefix = settings.MAPIDEAS_OIDC_TEAM_PREFIX
    names = set(groups)
    slugs = sorted(
        name[len(prefix) :] for name in names if name.startswith(prefix) and len(name) > len(prefix)
    )
    planner_group = settings.MAPIDEAS_OIDC_PLANNER_GROUP
    return StaffRoles(
        team_slugs=tuple(slugs), planner=(planner_group in names) if planner_group else None
    )


@transaction.atomic
def single_sign_on_account(
    *, sub: str, groups: Iterable[str], email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """The account of the person the provider signed in as `sub`, made at the first sign-in,
    with its roles set from `groups` at each one: a member of exactly the teams the groups
    name (memberships of teams not named end, whoever added them), a planner exactly when
    the planner group is named (when MAPIDEAS_OIDC_PLANNER_GROUP is set). A group naming no
    team is skipped. The account is found by `sub` alone (selectors.single_sign_on_username),
    never by its email address, which the provider may not have verified."""
    if not sub:
        raise ValidationError("the provider gave no subject identifier (sub)")
    user_model = get_user_model()
    user, created = user_model.objects.select_for_update().get_or_create(
        username=single_sign_on_username(sub),
        defaults={"email": email, "first_name": first_name, "last_name": last_name},
    )
    if created:
        user.set_unusable_password()  # never a local password: the provider signs it in
        user.save(update_fields=["password"])
    elif (user.email, user.first_name, user.last_name) != (email, first_name, last_name):
        user.email, user.first_name, user.last_name = email, first_name, last_name
        user.save(update_fields=["email", "first_name", "last_name"])
    roles = staff_roles_of(groups)
    user.teams.set(Team.objects.filter(slug__in=roles.team_slugs))
    if roles.planner is True:
        user.groups.add(planners_group())
    elif roles.planner is False:
        user.groups.remove(planners_group())
    return user
