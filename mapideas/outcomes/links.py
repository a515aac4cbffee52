"""The link emailed to an address that gave feedback on a closed pin: it confirms the
feedback. Its token names the feedback's row and carries a keyed hash of the address it was
sent to (plumbing.tokens.bound_token), never the address: it works for that address only."""

from mapideas.models import FixFeedback
from mapideas.notifications.services import CONFIRM_MAX_AGE
from mapideas.plumbing.tokens import BoundId, bound_id_from_token, bound_token

FEEDBACK_CONFIRM_SALT = "mapideas.feedback-confirm"


def feedback_confirm_token(feedback: FixFeedback) -> str:
    return bound_token(feedback.pk, feedback.email, salt=FEEDBACK_CONFIRM_SALT)


def feedback_from_confirm_token(token: str) -> BoundId | None:
    """The feedback a link names, with the address it was sent to as a hash
    (`BoundId.holds_for`), or None if it is forged, damaged or older than CONFIRM_MAX_AGE."""
    return bound_id_from_token(token, salt=FEEDBACK_CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
