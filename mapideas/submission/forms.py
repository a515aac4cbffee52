"""The citizen's pin form. Latitude and longitude are plain fields: a click on the map fills
them, and keyboard or screen-reader users can type them."""

import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas.models import (
    DESCRIPTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Category,
    Idea,
)
from mapideas.pins import photos
from mapideas.plumbing.stored_text import StoredTextField
from mapideas.submission.services import (
    EMAIL_OR_SIGN_IN_MESSAGE,
    EMAIL_REQUIRED_MESSAGE,
    OUTSIDE_MESSAGE,
    location_from_lonlat,
)
from neighborhoods.routing import route


class IdeaForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Idea.Kind.choices, widget=forms.RadioSelect, initial="idea"
    )
    title = StoredTextField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    description = StoredTextField(
        label=_("Description"),
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), to_field_name="slug"
    )
    latitude = forms.FloatField(
        label=_("Latitude"),
        min_value=-90,
        max_value=90,
        help_text=_("Click or tap the map to fill this in, or type it."),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    longitude = forms.FloatField(
        label=_("Longitude"),
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        # What Form.clean returns (its stubs allow None, for overrides that return nothing).
        cleaned = self.cleaned_data
        lat, lon = cleaned.get("latitude"), cleaned.get("longitude")
        if lat is not None and lon is not None:
            try:
                location = location_from_lonlat(lon, lat)
            except ValidationError as exc:
                self.add_error("latitude", exc.message_dict["location"])
                return cleaned
            cleaned["location"] = location
            # Said now, with any other mistakes, rather than after they are fixed;
            # idea_create routes again when the pin is written.
            if route(location) is None:
                self.add_error("latitude", gettext(OUTSIDE_MESSAGE))
        return cleaned

    @property
    def location(self) -> Point:
        return self.cleaned_data["location"]


def photo_field() -> forms.FileField:
    """A pin's optional photo, checked and re-encoded by the services (mapideas.pins.photos),
    which name `photo` when they refuse one. accept="image/*" lets a phone offer its camera;
    the forms set the help text (the limits) per form, from settings."""
    return forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
    )


class CitizenIdeaForm(IdeaForm):
    """The citizen's form on `/`: the pin then, for someone not signed in when the city takes
    pins with an email address (MAPIDEAS_SUBMISSION_MODES), their email and name. Which ways
    are allowed is checked again by services.idea_submit, for the API as well."""

    # 254, as the model keeps (Django's form field would take 320 and fail later).
    email = forms.EmailField(label=_("Your email"), required=False, max_length=254)
    name = StoredTextField(
        label=_("Your name (optional)"),
        max_length=Idea._meta.get_field("contact_name").max_length,
        required=False,
        help_text=_("Kept private too: for the team, if they need to ask you something."),
    )
    # The citizen's consent that their contact goes with the pin to the city's own work-order
    # system (mapideas.backoffice): unticked unless they tick it, asked only of someone whose
    # pin can carry a contact (signed in, or where the form asks for an email; pin-assist.js
    # shows it there once an email is typed). The services keep it only with a contact.
    contact_shared_with_city = forms.BooleanField(
        label=_(
            "Share my name and email with the city's services handling this pin, so they can "
            "contact me directly"
        ),
        required=False,
        initial=False,
        help_text=_(
            "Optional. The city may pass your pin on to the work-order system of the service "
            "that handles it; without this, it goes there without your name and email."
        ),
    )
    photo = photo_field()
    # A one-time token per rendered form: the page reloaded after a POST, or the button
    # pressed twice, sends the same token, and the view answers with the pin stored the
    # first time instead of a second one (its idempotency key: services.pin_submit).
    submission_token = forms.CharField(
        widget=forms.HiddenInput, required=False, max_length=64, initial=""
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["submission_token"] = secrets.token_urlsafe(24)
        # Read per form, not at import: the limits come from settings.
        self.fields["photo"].help_text = photos.limits_text()
        modes = settings.MAPIDEAS_SUBMISSION_MODES
        if user.is_authenticated:
            del self.fields["email"], self.fields["name"]
            return
        if "email" not in modes:
            # No contact to share: the pin is sent anonymously.
            del self.fields["email"], self.fields["name"], self.fields["contact_shared_with_city"]
            return
        email = self.fields["email"]
        help_text = gettext(
            "Kept private: only the city's staff see it. Your pin goes to its team at once; "
            "it shows on the public map once you open the link we email you."
        )
        if "anonymous" in modes:
            email.help_text = "{} {}".format(
                help_text, gettext("Leave it empty to send the pin without one.")
            )
        else:
            email.required = True
            email.help_text = help_text
            email.error_messages["required"] = (
                EMAIL_OR_SIGN_IN_MESSAGE if "account" in modes else EMAIL_REQUIRED_MESSAGE
            )
