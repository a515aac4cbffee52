"""What a resident sends about a closed pin, and what its team decides in the check queue."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas.models import ANSWER_MAX_LENGTH, FEEDBACK_NOTE_MAX_LENGTH, FixFeedback
from mapideas.outcomes.services import EMAIL_NEEDED_MESSAGE, REASON_REQUIRED_MESSAGE
from mapideas.pins import photos
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField
from mapideas.workflow.services import REOPEN_ANSWER_REQUIRED_MESSAGE


class FeedbackForm(_PageForm):
    """A resident's verdict on the pin's page (services.feedback_give): "still there" with a
    note and an optional photo, or "it's fixed". Someone not signed in in with a verified
    address gives an email address, which gets a confirmation link. Each verdict has its own
    form on the page, so their ids differ (AUTO_ID by verdict)."""

    verdict = forms.ChoiceField(choices=FixFeedback.Verdict.choices, widget=forms.HiddenInput)
    note = StoredTextField(
        label=_("What is still there? (optional)"),
        required=False,
        max_length=FEEDBACK_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=lazy(
            lambda: (
                gettext(
                    "For the team only, at most %(max)s characters. Never shown publicly. "
                    "You then follow the pin: we email you what the team decides."
                )
                % {"max": FEEDBACK_NOTE_MAX_LENGTH}
            ),
            str,
        )(),
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
    )
    # 254, as the model keeps.
    email = forms.EmailField(
        label=_("Your email"),
        required=False,
        max_length=254,
        help_text=_(
            "We send you a link: your answer counts once you open it. One answer per person; "
            "your address is never shown."
        ),
    )

    def __init__(self, *args, verdict: str, needs_email: bool, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"{verdict}_%s")
        kwargs.setdefault("initial", {"verdict": verdict})
        super().__init__(*args, **kwargs)
        if verdict == FixFeedback.Verdict.FIXED:
            del self.fields["note"], self.fields["photo"]
        else:
            self.fields["photo"].help_text = photos.limits_text()
        if needs_email:
            self.fields["email"].required = True
            self.fields["email"].error_messages["required"] = EMAIL_NEEDED_MESSAGE
        else:
            del self.fields["email"]


class ReopenForm(_PageForm):
    """The team agrees with the residents: the pin goes back to work, with a public answer."""

    AUTO_ID = "reopen_%s"

    answer = StoredTextField(
        label=_("Public answer"),
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": REOPEN_ANSWER_REQUIRED_MESSAGE},
    )

    def __init__(self, *args, idea_pk: int, **kwargs) -> None:
        # One form per pin of the queue: ids per pin, so errors stay tied to their field.
        kwargs.setdefault("auto_id", f"reopen_%s_{idea_pk}")
        super().__init__(*args, **kwargs)


class KeepClosedForm(_PageForm):
    """The team keeps the pin closed and tells the residents why."""

    answer = StoredTextField(
        label=_("Why it stays closed (public)"),
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": REASON_REQUIRED_MESSAGE},
    )

    def __init__(self, *args, idea_pk: int, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"keep_%s_{idea_pk}")
        super().__init__(*args, **kwargs)
