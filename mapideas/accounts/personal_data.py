"""A citizen's own data: everything held about their account, as one JSON document, and
erasing the account with their pins kept, anonymised (GDPR articles 15, 17 and 20).

Writes and the read that feeds the download are here, side by side, as mapideas.alerts
keeps area alerts: what the download lists is what erasure must reach.

What is linked to the account is the account's: its pins (with the contact fields they carry),
supports, comments, follows, flags and verdicts on closed pins. What is kept under an email
address alone (area alerts, follow-by-email rows, pins sent with an address but no account,
emails in the outbox, verdicts given from the address) is not handed out or erased from the
account's pages: an account's address is verified only when it signed up through the emailed
link (not accounts staff made in the admin, nor accounts older than that link), so an account
is no proof that it owns the address, and its pages would let someone read where another person
gets alerts about. Those go by a request by mail, answered from that mailbox, with `manage.py
erase_citizen EMAIL` (citizen_erase below).

Internal notes are not in the download: they are the teams' working records about pins,
not data the person gave (a request for them goes to the city's data protection officer).
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mapideas.backoffice import queue as backoffice
from mapideas.models import (
    AreaAlert,
    Comment,
    EmailOutbox,
    FixCheck,
    FixFeedback,
    Flag,
    Follower,
    Idea,
    Support,
)
from mapideas.outcomes.selectors import person_hash_of

NOT_CONFIRMED_MESSAGE = gettext_lazy("This is not your password: nothing was erased.")
NOT_INCLUDED = gettext_lazy(
    "Area alerts, follows by email and pins sent with an email address without signing in "
    "are kept under that address, not your account: write to the city from that address to "
    "get or erase them. Internal notes of the city's teams about pins are not included."
)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_data(*, user: User) -> dict:
    """Everything held about `user`'s account, as JSON-ready data (the /accounts/my-data/
    download). Only rows linked to this account: never another person's."""
    pins = Idea.objects.filter(author=user).select_related("category").order_by("id")
    return {
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "teams": sorted(user.teams.values_list("name", flat=True)),
        },
        "pins": [
            {
                "id": pin.pk,
                "url": pin.get_absolute_url(),
                "kind": pin.kind,
                "title": pin.title,
                "description": pin.description,
                "category": pin.category.slug,
                "location": [pin.location.x, pin.location.y],
                "status": pin.status,
                "channel": pin.channel,
                "created_at": _when(pin.created_at),
                "contact_email": pin.contact_email,
                "contact_name": pin.contact_name,
                "contact_phone": pin.contact_phone,
                "support_count": pin.support_count,
                "public": pin.is_public,
            }
            for pin in pins
        ],
        "supports": [
            {"pin": pin, "created_at": _when(at)}
            for pin, at in Support.objects.filter(user=user)
            .order_by("id")
            .values_list("idea_id", "created_at")
        ],
        "comments": [
            {
                "pin": c.idea_id,
                "text": c.text,
                "created_at": _when(c.created_at),
                "hidden": c.is_hidden,
                "hidden_reason": c.hidden_reason,
            }
            for c in Comment.objects.filter(author=user).order_by("id")
        ],
        "follows": [
            {"pin": f.idea_id, "created_at": _when(f.created_at), "confirmed": bool(f.confirmed_at)}
            for f in Follower.objects.filter(user=user).order_by("id")
        ],
        "flags": [
            {
                "pin": f.idea_id,
                "reason": f.reason,
                "text": f.text,
                "created_at": _when(f.created_at),
            }
            for f in Flag.objects.filter(flagged_by=user).order_by("id")
        ],
        # Verdicts on closed pins ("fixed", "still there") given while signed in.
        "verdicts": [
            {
                "pin": f.idea_id,
                "verdict": f.verdict,
                "note": f.note,
                "created_at": _when(f.created_at),
                "decision": f.decision,
            }
            for f in FixFeedback.objects.filter(user=user).order_by("id")
        ],
        "not_included": str(NOT_INCLUDED),
        "generated_at": _when(timezone.now()),
    }


@dataclass
class Erasure:
    """What an erasure touched, for the page's message and erase_citizen's report."""

    accounts: list[str] = field(default_factory=list)
    pins_anonymised: int = 0
    comments_anonymised: int = 0
    supports_kept: int = 0
    flags_kept: int = 0
    verdicts_kept: int = 0
    follows_deleted: int = 0
    alerts_deleted: int = 0
    emails_deleted: int = 0
    sessions_ended: int = 0

    def lines(self) -> list[str]:
        return [
            f"accounts deleted: {', '.join(self.accounts) or 'none'}",
            f"pins anonymised (kept, no author, contact fields blanked): {self.pins_anonymised}",
            f"comments anonymised (kept, no author): {self.comments_anonymised}",
            f"supports kept, anonymised (counts unchanged): {self.supports_kept}",
            f"flags kept, anonymised: {self.flags_kept}",
            f"verdicts on closed pins kept, anonymised: {self.verdicts_kept}",
            f"follows deleted: {self.follows_deleted}",
            f"area alerts deleted: {self.alerts_deleted}",
            f"emails in the outbox deleted: {self.emails_deleted}",
            f"sessions ended: {self.sessions_ended}",
        ]


def _anonymous_token() -> str:
    # Stands in for the supporter's (or flagger's) keyed hash: as long as one, unique, and
    # derived from nothing, so it matches no browser's cookie and links to nobody.
    return secrets.token_hex(32)


def _end_sessions(user: User) -> int:
    """Delete the account's live sessions (database sessions: the default). Each session is
    decoded, as Django keeps the user's id inside the data only; an erasure is rare enough."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


def _unlink_verdicts(*, user: User | None = None, address: str = "") -> int:
    """Verdicts on closed pins and "Is it fixed?" questions of an account or an address stay
    (a pin's counts, its team's decisions), each linked to nobody: no account, no address, a
    person hash derived from nothing, so the address is no longer one of the pin's people.
    Returns how many verdicts."""
    whose = Q(pk__in=[])
    if user is not None:
        whose |= Q(user=user)
    if address:  # given from the address, or still waiting for its confirmation link
        whose |= Q(person_hash=person_hash_of(address)) | Q(email__iexact=address)
    kept = 0
    for feedback in FixFeedback.objects.filter(whose).only("pk"):
        FixFeedback.objects.filter(pk=feedback.pk).update(
            user=None, email="", person_hash=_anonymous_token()
        )
        kept += 1
    checks = Q(user=user) if user is not None else Q(pk__in=[])
    if address:
        checks |= Q(person_hash=person_hash_of(address))
    for check in FixCheck.objects.filter(checks).only("pk"):
        FixCheck.objects.filter(pk=check.pk).update(user=None, person_hash=_anonymous_token())
    return kept


def _erase_account(user: User, erasure: Erasure) -> None:
    erasure.accounts.append(user.get_username())
    backoffice.contact_erasure_pass_on(
        Idea.objects.filter(author=user).values_list("pk", flat=True)
    )
    erasure.pins_anonymised += Idea.objects.filter(author=user).update(
        author=None, contact_email="", contact_name="", contact_phone=""
    )
    erasure.comments_anonymised += Comment.objects.filter(author=user).update(author=None)
    # Supports and flags stay (a pin's count, a moderation decision), each turned into an
    # anonymous one: the CASCADE (and the pre_delete signal taking them off the counts,
    # mapideas.apps) then finds none of this account's, and Idea.support_count still
    # equals its rows.
    for support in Support.objects.filter(user=user).only("pk"):
        Support.objects.filter(pk=support.pk).update(user=None, token_hash=_anonymous_token())
        erasure.supports_kept += 1
    for flag in Flag.objects.filter(flagged_by=user).only("pk"):
        Flag.objects.filter(pk=flag.pk).update(flagged_by=None, flagger_hash=_anonymous_token())
        erasure.flags_kept += 1
    erasure.verdicts_kept += _unlink_verdicts(user=user)
    erasure.follows_deleted += Follower.objects.filter(user=user).delete()[0]
    erasure.sessions_ended += _end_sessions(user)
    # The rest points at the account with SET_NULL (assignments, notes, answers, routing
    # moves, hidden comments) or goes with it (team memberships).
    user.delete()


@transaction.atomic
def account_erase(*, user: User | AnonymousUser, password: str) -> Erasure:
    """The citizen erases their own account (/accounts/delete/), confirming with their
    password: the account goes; their pins and comments stay without an author, the pins'
    contact fields blanked; supports stay counted; follows and sessions end. One
    transaction: all of it or nothing."""
    if not user.is_authenticated:
        raise PermissionDenied(_("Sign in to erase your account."))
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if not user.check_password(password or ""):
        raise ValidationError({"password": [NOT_CONFIRMED_MESSAGE]})
    erasure = Erasure()
    _erase_account(user, erasure)
    return erasure


@transaction.atomic
def citizen_erase(*, email: str) -> Erasure:
    """Erase what is held about an email address, on a request by mail (staff checked that
    it came from that mailbox): every account with that address (not staff accounts: those
    are removed in the admin, deliberately), and what is kept under the address alone:
    contact fields of pins (which stay), follows and area alerts, emails in the outbox."""
    email = (email or "").strip()
    if "@" not in email:
        raise ValidationError({"email": [_("Give an email address.")]})
    accounts = list(get_user_model().objects.select_for_update().filter(email__iexact=email))
    staff = [u.get_username() for u in accounts if u.is_staff or u.is_superuser]
    if staff:
        raise ValidationError(
            {
                "email": [
                    _("Staff account(s) %(accounts)s: remove them in the admin.")
                    % {"accounts": ", ".join(staff)}
                ]
            }
        )
    erasure = Erasure()
    for user in accounts:
        _erase_account(user, erasure)
    backoffice.contact_erasure_pass_on(
        Idea.objects.filter(contact_email__iexact=email).values_list("pk", flat=True)
    )
    erasure.pins_anonymised += Idea.objects.filter(contact_email__iexact=email).update(
        contact_email="", contact_name="", contact_phone=""
    )
    erasure.verdicts_kept += _unlink_verdicts(address=email)
    erasure.follows_deleted += Follower.objects.filter(email__iexact=email).delete()[0]
    erasure.alerts_deleted += AreaAlert.objects.filter(email__iexact=email).delete()[0]
    erasure.emails_deleted += EmailOutbox.objects.filter(to__iexact=email).delete()[0]
    return erasure
