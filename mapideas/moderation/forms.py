"""Forms of moderation: a flag, and staff's decision."""

from django import forms
from django.utils.translation import gettext_lazy as _

from mapideas.models import (
    FLAG_TEXT_MAX_LENGTH,
    Flag,
)
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField


class FlagForm(_PageForm):
    """The pin page's "Report this pin" (moderation.idea_flag)."""

    AUTO_ID = "flag_%s"

    reason = forms.ChoiceField(
        label=_("What is wrong with it?"),
        choices=Flag.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what is wrong with this pin.")},
    )
    text = StoredTextField(
        label=_("Anything to add (optional)"),
        max_length=FLAG_TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Seen by the city's moderators only."),
    )


class ModerationDecisionForm(forms.Form):
    """Staff keep or remove a flagged pin (moderation.idea_moderate)."""

    decision = forms.ChoiceField(choices=[("keep", _("Keep")), ("remove", _("Remove"))])
    reason = StoredTextField(max_length=FLAG_TEXT_MAX_LENGTH, required=False)
