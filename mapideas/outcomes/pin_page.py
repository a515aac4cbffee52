"""The pin page's part of "Is it really fixed?" (mapideas.pins.page puts it in): the counts
of residents' verdicts, and the forms to give one."""

from django.http import HttpRequest

from mapideas.models import FixFeedback, Idea
from mapideas.outcomes.forms import FeedbackForm
from mapideas.outcomes.selectors import given_verdict, has_verified_address, person_hash_of
from mapideas.workflow import statuses as workflow

V = FixFeedback.Verdict


def outcome_context(request: HttpRequest, idea: Idea, forms: dict) -> dict:
    """`outcome_shown`: the pin was ever closed (the counts are shown); on a closed public
    pin, the forms (`dispute_form`, and `fixed_form` when it is done), or the verdict this
    signed-in person already gave (`given_verdict`)."""
    context: dict = {"outcome_shown": idea.closed_at is not None and idea.is_public}
    if not context["outcome_shown"] or idea.status not in workflow.CLOSED:
        return context
    user = request.user
    email = getattr(user, "email", "")  # "" for an anonymous visitor
    verified = has_verified_address(user)
    if verified:
        given = given_verdict(idea, person_hash=person_hash_of(email))
        if given is not None and given.confirmed_at is not None:
            context["given_verdict"] = given
            return context
    needs_email = not verified
    # An account whose address was never proved gets the link at its own address.
    initial = {"email": email} if email and needs_email else {}
    context["dispute_form"] = forms.get("dispute_form") or FeedbackForm(
        verdict=V.STILL_THERE,
        needs_email=needs_email,
        initial={**initial, "verdict": V.STILL_THERE},
    )
    if idea.status == Idea.Status.DONE:
        context["fixed_form"] = forms.get("fixed_form") or FeedbackForm(
            verdict=V.FIXED, needs_email=needs_email, initial={**initial, "verdict": V.FIXED}
        )
    return context
