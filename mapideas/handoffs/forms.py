"""The hand-off forms: the team's (hand a pin, approve, send back) on the pin's page, and
the body's report on its link's page. The services check every value again."""

from django import forms
from django.utils.translation import gettext_lazy as _

from mapideas.handoffs import services
from mapideas.models import ANSWER_MAX_LENGTH
from mapideas.pins import photos
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField
from mapideas.submission.forms import photo_field


class HandoffForm(_PageForm):
    """A member of the pin's team hands it to an outside body (services.handoff_create)."""

    AUTO_ID = "handoff_%s"

    body_name = StoredTextField(
        label=_("Body's name"),
        max_length=services.BODY_NAME_MAX_LENGTH,
        help_text=_("Public: the pin's history says “Handed to” this name, e.g. City Water Works."),
    )
    body_email = forms.EmailField(
        label=_("Body's email"),
        max_length=254,
        help_text=_("Never shown publicly. The link to the pin's hand-off page is sent there."),
    )
    message = StoredTextField(
        label=_("Message to the body (optional)"),
        max_length=services.MESSAGE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What to do; shown to the body only."),
    )
    days = forms.IntegerField(
        label=_("Link valid for (days)"),
        min_value=services.DAYS_MIN,
        max_value=services.DAYS_MAX,
        initial=services.DAYS_DEFAULT,
    )


class HandoffReportForm(_PageForm):
    """The body reports the work done (services.handoff_report)."""

    AUTO_ID = "report_%s"

    comment = StoredTextField(
        label=_("What was done"),
        max_length=services.COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Read by the team, which may quote it in its public answer."),
    )
    photo = photo_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].label = _("Photo after the work (optional)")
        self.fields["photo"].help_text = photos.limits_text()


class HandoffApproveForm(_PageForm):
    """The team approves the body's report: the pin is done (services.handoff_approve)."""

    AUTO_ID = "approve_%s"

    answer = StoredTextField(
        label=_("Public answer"),
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Left empty: “Done by <body>: <its comment>”."),
    )


class HandoffReturnForm(_PageForm):
    """The team sends the report back to the body (services.handoff_return)."""

    AUTO_ID = "return_%s"

    note = StoredTextField(
        label=_("Note to the body"),
        max_length=services.MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
