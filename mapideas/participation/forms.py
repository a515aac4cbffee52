"""Forms of citizens following what happens: comments and follow."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas.models import (
    COMMENT_MAX_LENGTH,
    HIDE_REASON_MAX_LENGTH,
)
from mapideas.participation.services import COMMENT_REQUIRED_MESSAGE, HIDE_REASON_MESSAGE
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField

# --- Citizens follow what happens ------------------------------------------------------------


class CommentForm(_PageForm):
    """A signed-in person's public comment (services.comment_add)."""

    AUTO_ID = "comment_%s"

    text = StoredTextField(
        label=_("Your comment"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=lazy(
            lambda: (
                gettext(
                    "Public, at most %(max)s characters. Signed “Citizen #…”, never with your name."
                )
                % {"max": COMMENT_MAX_LENGTH}
            ),
            str,
        )(),
        error_messages={"required": COMMENT_REQUIRED_MESSAGE},
    )


class HideCommentForm(_PageForm):
    """Moderators hide a comment, with the reason the page shows (services.comment_hide)."""

    AUTO_ID = "hide_%s"

    reason = StoredTextField(
        label=_("Reason"),
        max_length=HIDE_REASON_MAX_LENGTH,
        error_messages={"required": HIDE_REASON_MESSAGE},
    )

    def __init__(self, *args, comment_pk: int | None = None, **kwargs) -> None:
        # The page draws one reason field per comment, id "hide_reason_<pk>": a form for one
        # comment takes that id, so that its errors are tied to that comment's field.
        if comment_pk is not None:
            kwargs.setdefault("auto_id", f"hide_%s_{comment_pk}")
        super().__init__(*args, **kwargs)
        self.comment_pk = comment_pk


class FollowForm(_PageForm):
    """Follow a pin by email without an account (services.follow)."""

    AUTO_ID = "follow_%s"

    email = forms.EmailField(
        label=_("Your email"),
        help_text=_(
            "Kept private. We send a link to confirm first; every email has a one-click "
            "link to stop."
        ),
    )
