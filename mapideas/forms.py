"""The citizen's pin form. Latitude and longitude are plain fields: a click on the map fills
them, and keyboard or screen-reader users can type them."""

from django import forms
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from mapideas.models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Category, Idea
from mapideas.services import OUTSIDE_MESSAGE, REASSIGN_REASON_MESSAGE, location_from_lonlat
from neighborhoods.models import Team
from neighborhoods.routing import route

REASSIGN_REASON_MAX_LENGTH = 1000


class IdeaForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", choices=Idea.Kind.choices, widget=forms.RadioSelect, initial="idea"
    )
    title = forms.CharField(label="Title", max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        label="Description",
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    category = forms.ModelChoiceField(
        label="Category", queryset=Category.objects.all(), to_field_name="slug"
    )
    latitude = forms.FloatField(
        label="Latitude",
        min_value=-90,
        max_value=90,
        help_text="Click or tap the map to fill this in, or type it.",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    longitude = forms.FloatField(
        label="Longitude",
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
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
                self.add_error("latitude", OUTSIDE_MESSAGE)
        return cleaned

    @property
    def location(self) -> Point:
        return self.cleaned_data["location"]


class ReassignForm(forms.Form):
    """Staff send one pin to another team by hand (mapideas.services.idea_reassign)."""

    team = forms.ModelChoiceField(
        label="Send to",
        queryset=Team.objects.none(),
        to_field_name="slug",
        empty_label="Choose a team",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=REASSIGN_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown with the move on the pin's public page (who moved it is not).",
        error_messages={"required": REASSIGN_REASON_MESSAGE},
    )

    def __init__(self, *args, idea: Idea, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every team but the one that has the pin now, the triage team included.
        self.fields["team"].queryset = Team.objects.exclude(pk=idea.team_id).order_by("name")
