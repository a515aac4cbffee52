"""Reads of citizens' accounts: the sign-ups never completed, and the link that names one.

The link names the account by its id and carries an HMAC (SECRET_KEY, a salt of its own) of
the account's state and the time it was made, as Django's password-reset links do: no address
or name, nothing to decode. The state covers the password field, the active flag and the
last login, so a link works once (following it sets the password and the active flag), and a
new sign-up with the same address (a new random unusable password) makes the earlier links
stop.
"""

import hashlib
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

from mapideas.models import ID_MAX
from neighborhoods.roles import PLANNERS_GROUP

# A sign-up link works for this long; then the account, never activated, is deleted.
SIGNUP_LINK_MAX_AGE = timedelta(days=7)
# Tells a sign-up never completed from an account staff switched off (never purged).
AWAITING_CONFIRMATION_GROUP = "sign-up awaiting email confirmation"
_LINK_SALT = "mapideas.accounts.signup-confirm"


def _token_hash(user: User, timestamp: int) -> str:
    state = f"{user.pk}|{user.password}|{user.is_active}|{user.last_login}|{timestamp}"
    return salted_hmac(_LINK_SALT, state, algorithm="sha256").hexdigest()[:40]


def signup_token(user: User, *, now: datetime | None = None) -> str:
    timestamp = int((now or timezone.now()).timestamp())
    return f"{int_to_base36(timestamp)}-{_token_hash(user, timestamp)}"


def awaiting_signups() -> QuerySet[User]:
    """Accounts signed up and never activated through their link."""
    return get_user_model().objects.filter(
        is_active=False, groups__name=AWAITING_CONFIRMATION_GROUP
    )


def awaiting_signup(*, uid: int, token: str, lock: bool = False) -> User | None:
    """The sign-up never completed that a link names, or None if the link is forged,
    damaged, expired (SIGNUP_LINK_MAX_AGE) or used, or the account is gone. `lock`: the
    account's row is locked (inside the caller's transaction)."""
    stamp, dash, digest = token.partition("-")
    if not dash or not 0 < uid <= ID_MAX:
        return None
    try:
        timestamp = base36_to_int(stamp)
    except ValueError:  # not base 36, or too long to be a time
        return None
    if timezone.now().timestamp() - timestamp > SIGNUP_LINK_MAX_AGE.total_seconds():
        return None
    accounts = awaiting_signups().filter(pk=uid)
    user = (accounts.select_for_update() if lock else accounts).first()
    if user is None or not constant_time_compare(_token_hash(user, timestamp), digest):
        return None
    return user


# --- Staff accounts and single sign-on -----------------------------------------------------

# Accounts made by single sign-on are named this and a hash of the provider's subject
# identifier (`sub`): stable across sign-ins, unique, and no email address or name, since a
# username may be shown to others and appear in a URL.
SINGLE_SIGN_ON_USERNAME_PREFIX = "oidc-"


def single_sign_on_username(sub: str) -> str:
    return SINGLE_SIGN_ON_USERNAME_PREFIX + hashlib.sha256(sub.encode()).hexdigest()[:24]


def is_staff_account(user: User) -> bool:
    """A staff account: a member of a district team, a planner, is_staff or a superuser.
    One query (none for is_staff and superusers)."""
    if user.is_staff or user.is_superuser:
        return True
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .filter(Q(teams__isnull=False) | Q(groups__name=PLANNERS_GROUP))
        .exists()
    )
