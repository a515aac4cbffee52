"""Pages of the area alerts (mapideas.alerts): the subscribe form at /alerts/, and the two
links of its emails, to confirm and to stop. Server-rendered, no JavaScript needed.

Its own module, next to the alerts, as mapideas.alerts.api: thin views over the services.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from mapideas.alerts import services as alerts
from mapideas.models import ALERT_RADIUS_MAX_M, ALERT_RADIUS_MIN_M, AreaAlert
from mapideas.plumbing import ratelimit
from mapideas.submission.services import location_from_lonlat
from neighborhoods.selectors import active_neighborhoods


def _neighborhood_choices() -> list[tuple[str, str]]:
    # Read per form: the neighborhoods of the boundary version active now.
    names = active_neighborhoods().order_by("name").values_list("slug", "name")
    return [("", gettext("— or around a point, below —")), *names]


# Marked for translation here, translated where it is said (a plain str, as tests compare it).
AREA_CHOICE_MESSAGE = gettext_noop(
    "Choose a neighborhood, or give a latitude and longitude: one of the two."
)


class AlertForm(forms.Form):
    """A neighborhood, or a point (latitude, longitude) and a radius: one of the two."""

    email = forms.EmailField(
        label=_("Your email"),
        help_text=_(
            "Kept private. We send a link to confirm first; every email has a one-click "
            "link to stop."
        ),
    )
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=AreaAlert.Frequency.choices,
        initial=AreaAlert.Frequency.IMMEDIATE,
        widget=forms.RadioSelect,
    )
    neighborhood = forms.ChoiceField(label=_("Neighborhood"), choices=(), required=False)
    latitude = forms.FloatField(
        label=_("Latitude"),
        min_value=-90,
        max_value=90,
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    longitude = forms.FloatField(
        label=_("Longitude"),
        min_value=-180,
        max_value=180,
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    radius_m = forms.IntegerField(
        label=_("Radius (metres)"),
        min_value=ALERT_RADIUS_MIN_M,
        max_value=ALERT_RADIUS_MAX_M,
        initial=500,
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        neighborhood = self.fields["neighborhood"]
        assert isinstance(neighborhood, forms.ChoiceField)  # declared above
        neighborhood.choices = _neighborhood_choices()

    def clean(self) -> dict[str, Any]:
        super().clean()
        # What Form.clean returns (its stubs allow None, for overrides that return nothing).
        cleaned = self.cleaned_data
        lat, lon = cleaned.get("latitude"), cleaned.get("longitude")
        cleaned["center"] = None
        if lat is not None and lon is not None:
            try:
                cleaned["center"] = location_from_lonlat(lon, lat)
            except ValidationError as exc:
                self.add_error("latitude", exc.message_dict["location"])
        elif (lat is None) != (lon is None) and not self.has_error("latitude"):
            self.add_error("latitude", gettext("Give both latitude and longitude, or neither."))
        # Said with the other mistakes, in the page's words; the service checks it again.
        point_given = lat is not None or lon is not None or self.has_error("latitude")
        if bool(cleaned.get("neighborhood")) == point_given:
            self.add_error("neighborhood", gettext(AREA_CHOICE_MESSAGE))
        elif point_given and cleaned.get("radius_m") is None and not self.has_error("radius_m"):
            self.add_error("radius_m", gettext("Give a radius, in metres."))
        return cleaned


def form_errors(form: forms.Form, exc: ValidationError) -> None:
    # The service names the API's fields; the form's point is its latitude.
    renamed = {"point": "latitude"}
    for field, errors in exc.message_dict.items():
        field = renamed.get(field, field)
        form.add_error(field if field in form.fields else None, errors)


def alerts_page(request: HttpRequest) -> HttpResponse:
    """Subscribe to new pins in a neighborhood or around a point (at most
    MAPIDEAS_RATE_ALERT valid requests a client IP address)."""
    form = AlertForm(request.POST) if request.method == "POST" else AlertForm()
    if form.is_bound and form.is_valid():
        # Counted once the request is well formed: only these may lead to an email.
        refused = ratelimit.too_many(request, ratelimit.ALERTS)
        if refused is not None:
            return refused
        data = form.cleaned_data
        try:
            alerts.alert_subscribe(
                email=data["email"],
                frequency=data["frequency"],
                neighborhood_slug=data["neighborhood"],
                center=data["center"],
                radius_m=data["radius_m"] if data["center"] is not None else None,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            # The same words whether or not the address was subscribed: nothing to learn.
            messages.success(request, gettext(alerts.CONFIRM_SENT_MESSAGE))
            return redirect("alerts")
    status = 400 if request.method == "POST" else 200
    return render(request, "mapideas/alerts.html", {"form": form}, status=status)


def alert_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the confirmation email: a page with one button (a mail scanner opening
    the link must not confirm by itself); the button confirms."""
    if request.method == "POST":
        alert = alerts.alert_confirm(token=token)
        if alert is None:
            return render(request, "mapideas/alert_confirm.html", {"bad": True}, status=400)
        return render(request, "mapideas/alert_confirm.html", {"done": True})
    return render(request, "mapideas/alert_confirm.html", {"token": token})


@csrf_exempt  # the signed token is the authority; mail clients POST it without a session
def alert_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link of every alert email (and its List-Unsubscribe header, RFC 8058):
    a page with one button; the POST (the button, or the mail client) deletes the alert."""
    if request.method == "POST":
        try:
            alerts.alert_unsubscribe(token=token)
        except ValidationError:
            return render(request, "mapideas/alert_unsubscribe.html", {"bad": True}, status=400)
        return render(request, "mapideas/alert_unsubscribe.html", {"done": True})
    return render(request, "mapideas/alert_unsubscribe.html", {"token": token})
