"""The audit log's filters (the page and its CSV export take the same)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from mapideas.audit import selectors
from mapideas.audit.selectors import AuditFilters
from mapideas.models import AuditEvent
from mapideas.plumbing.forms import _PageForm


class AuditFilterForm(_PageForm):
    AUTO_ID = "audit_%s"

    action = forms.ChoiceField(
        label=_("Action"),
        choices=[("", _("Any"))] + list(AuditEvent.Action.choices),
        required=False,
    )
    # A choice of the accounts in the log, sent as the account's id: a username (often a
    # person's name) never goes into a URL.
    actor = forms.TypedChoiceField(
        label=_("Staff account"), coerce=int, empty_value=None, required=False
    )
    since = forms.DateField(label=_("From (date)"), required=False)
    until = forms.DateField(label=_("Until (date, included)"), required=False)
    pin = forms.IntegerField(
        label=_("Pin number"), min_value=1, max_value=2**31 - 1, required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        actor = self.fields["actor"]
        assert isinstance(actor, forms.TypedChoiceField)
        actor.choices = [("", _("Anyone"))] + [
            (str(pk), name) for pk, name in selectors.audit_actors()
        ]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end comes before the start."))
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            action=data.get("action") or "",
            actor_id=data.get("actor"),
            since=data.get("since"),
            until=data.get("until"),
            idea_number=data.get("pin"),
        )
