"""The staff's webhook form (webhooks.endpoint_create and endpoint_update check again)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from mapideas.models import WebhookEndpoint
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField


class EndpointForm(_PageForm):
    AUTO_ID = "webhook_%s"

    url = forms.URLField(
        label=_("Receiver URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_(
            "Where each event is POSTed as signed JSON. Addresses on this machine or in a "
            "private network are refused unless the site's settings allow them."
        ),
    )
    description = StoredTextField(
        label=_("Description (optional)"),
        max_length=200,
        required=False,
        help_text=_("What receives the events, e.g. the works order system."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEndpoint.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )
    active = forms.BooleanField(
        label=_("Active: send events to it"),
        required=False,
        initial=True,
    )
