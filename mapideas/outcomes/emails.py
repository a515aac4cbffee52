"""The emails of "Is it really fixed?": the link that confirms an address's feedback, and
the team's notice that residents' disputes reopened one of its pins. Queued in the
EmailOutbox in the transaction that decides them (mapideas.notifications sends them)."""

from django.urls import reverse
from django.utils.translation import gettext as _

from mapideas.models import EmailOutbox, FixFeedback, Idea
from mapideas.notifications.services import (
    CONFIRM_MAX_AGE,
    absolute,
    email_subject,
    in_default_language,
    one_line,
    team_stop_token,
)
from mapideas.outcomes.links import feedback_confirm_token
from neighborhoods.models import Team


def _pin_line(idea: Idea) -> str:
    return _("pin #%(pk)s “%(title)s”") % {"pk": idea.pk, "title": one_line(idea.title)}


@in_default_language
def queue_feedback_confirmation(feedback: FixFeedback) -> EmailOutbox:
    """The email that asks the address that gave `feedback` to confirm it: until its link is
    followed, the feedback is not counted."""
    idea = feedback.idea
    link = absolute(reverse("feedback-confirm", args=[feedback_confirm_token(feedback)]))
    said = (
        _("Someone (we hope you) said on MapIdeas that %(pin)s is fixed.")
        if feedback.verdict == FixFeedback.Verdict.FIXED
        else _("Someone (we hope you) said on MapIdeas that the problem of %(pin)s is still there.")
    )
    body = "\n".join(
        [
            said % {"pin": _pin_line(idea)},
            "",
            _("To confirm it, open this link within %(days)s days: %(url)s")
            % {"days": CONFIRM_MAX_AGE.days, "url": link},
            "",
            _("One answer per person counts. Your email address is never shown to anyone."),
            _("If it was not you, ignore this email: nothing is counted, nothing more is sent."),
        ]
    )
    return EmailOutbox.objects.create(
        to=feedback.email,
        subject=email_subject(_("Confirm your answer about pin #%(pk)s") % {"pk": idea.pk}),
        body=body,
    )


@in_default_language
def queue_team_reopened(idea: Idea, *, people: int) -> EmailOutbox | None:
    """The email to the pin's team (its notify_email, unless it asked for no email) that
    residents' disputes reopened one of its pins."""
    team = idea.team
    if team.notify == Team.Notify.NONE or not team.notify_email:
        return None
    stop = absolute(reverse("team-unsubscribe", args=[team_stop_token(team)]))
    lines = [
        _(
            "%(count)s residents said the problem of %(pin)s is still there, so the pin was "
            "reopened without waiting for the team (%(team)s reopens a pin at %(threshold)s)."
        )
        % {
            "count": people,
            "pin": _pin_line(idea),
            "team": team.name,
            "threshold": team.reopen_threshold,
        },
        "",
        _("The pin: %(url)s") % {"url": absolute(idea.get_absolute_url())},
        _("Their reports, in the team's check queue: %(url)s")
        % {"url": absolute(reverse("check-queue", args=[team.slug]))},
        "",
        "-- ",
        _("%(team)s gets these emails at this address (set in the admin).") % {"team": team.name},
        _("Stop them (one click, no login): %(url)s") % {"url": stop},
    ]
    return EmailOutbox.objects.create(
        to=team.notify_email,
        subject=email_subject(
            _("Reopened by residents: pin #%(pk)s “%(title)s”")
            % {"pk": idea.pk, "title": idea.title}
        ),
        body="\n".join(lines),
        unsubscribe_url=stop,
    )
