"""The staff's audit log: every staff action written down, in the transaction of the action.

Each service that acts for a person on the city's behalf (workflow: status changes, answers,
merges, assignments, reassignments; moderation decisions; response templates; webhooks;
switching boundaries) calls `audit_record`. Actions without a signed-in person (commands,
the automatic reopening by residents' disputes) are no staff action and are not logged here:
their own records (the pin's timeline, the routing history) say what happened.

Summaries are written in the site's language (LANGUAGE_CODE), whatever the request's: a
record, not a message.
"""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.utils import translation

from mapideas.models import AuditEvent
from neighborhoods.models import Team

Action = AuditEvent.Action
SUMMARY_MAX_LENGTH = 500


def audit_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    summary: str,
    idea_number: int | None = None,
    team: Team | None = None,
) -> AuditEvent | None:
    """Write one staff action; None (nothing written) when nobody signed in acted."""
    if actor is None or not actor.is_authenticated:
        return None
    if len(summary) > SUMMARY_MAX_LENGTH:
        summary = summary[: SUMMARY_MAX_LENGTH - 1] + "…"
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username(),
        action=action,
        idea_number=idea_number,
        team=team,
        summary=summary,
    )


def in_site_language(text_of):
    """`text_of()`'s text made in the site's language (a summary is a record)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text_of())
