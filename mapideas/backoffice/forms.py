"""The staff's back-office forms: a back office's settings, which remote service each category
goes to, and a request number found on the remote. The services check every value again."""

import hashlib
from collections.abc import Mapping

from django import forms
from django.utils.translation import gettext_lazy as _

from mapideas.backoffice.services import DEFAULT_STATUS_MAP
from mapideas.models import BackofficeEndpoint, Category, Idea
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField
from neighborhoods.models import Team

# How long a remote may take to list a request it stored: up to a day.
LISTING_DELAY_MAX = 24 * 3600
# Rows for remote statuses beyond the spec's open and closed (FixMyStreet's, say).
OTHER_STATUSES = 6


class _TeamChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class _CategoryChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class _EndpointSettings(_PageForm):
    """A back office's settings, new or changed. The API key is never shown: the field is
    empty on every page, and left empty keeps the key stored."""

    AUTO_ID = "backoffice_%s"

    name = StoredTextField(
        label=_("Name"),
        max_length=200,
        help_text=_("What staff call it, e.g. the works order system."),
    )
    base_url = forms.URLField(
        label=_("Base URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_(
            "The GeoReport v2 base: services.json and requests.json are read under it. "
            "Addresses on this machine or in a private network are refused unless the site's "
            "settings allow them."
        ),
    )
    jurisdiction_id = StoredTextField(
        label=_("Jurisdiction id (optional)"), max_length=200, required=False
    )
    api_key = StoredTextField(
        label=_("API key"),
        max_length=1000,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Stored encrypted and never shown again."),
    )
    api_key_env = StoredTextField(
        label=_("Or the name of an environment variable holding the key"),
        max_length=100,
        required=False,
        help_text=_("Set on the server, e.g. BACKOFFICE_API_KEY: then no key is stored here."),
    )
    searchable = forms.BooleanField(
        label=_("Its requests can be searched by service and time"),
        required=False,
        initial=True,
        help_text=_(
            "After a time-out a pin that may have arrived is looked for there before it is "
            "sent again; when it cannot be searched, such a pin is held for staff to check."
        ),
    )
    listing_delay = forms.IntegerField(
        label=_("Listing delay (seconds)"),
        min_value=0,
        max_value=LISTING_DELAY_MAX,
        initial=600,
        help_text=_("How long it may take to list a request it stored."),
    )
    reads_updates = forms.BooleanField(
        label=_("It offers FixMyStreet's updates (servicerequestupdates.json)"),
        required=False,
    )

    def __init__(self, *args, key_stored: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if key_stored:
            self.fields["api_key"].help_text = _(
                "A key is stored: leave this empty to keep it, or enter a new one."
            )


class EndpointForm(_EndpointSettings):
    """A new back office (services.endpoint_create): for a team, or a team's category. It is
    active: it is switched off on its own page."""

    field_order = ["team", "category"]

    team = _TeamChoice(
        label=_("Team"), queryset=Team.objects.order_by("name"), to_field_name="slug"
    )
    category = _CategoryChoice(
        label=_("Category (optional)"),
        queryset=Category.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("All the team's pins"),
        help_text=_(
            "Only the team's pins of this category; without one, the team's pins that no "
            "back office of a category takes."
        ),
    )


class EndpointEditForm(_EndpointSettings):
    """A back office's settings changed (services.endpoint_update)."""

    active = forms.BooleanField(label=_("Active: forward pins to it"), required=False, initial=True)


def attribute_field(service_code: str, attribute_code: str) -> str:
    """The name of the field for one attribute of one remote service: codes are the remote's
    text, so the name is a digest of them (ids stay valid HTML whatever they hold)."""
    digest = hashlib.sha256(f"{service_code}\0{attribute_code}".encode()).hexdigest()
    return f"attribute_{digest[:12]}"


def service_field(category: Category) -> str:
    return f"service_{category.slug}"


# Pin statuses a back office may set (a duplicate is the team's call).
SETTABLE = [(value, label) for value, label in Idea.Status.choices if value != "duplicate"]


class MappingForm(_PageForm):
    """Which remote service each category goes to, the required attributes of the services
    chosen, and which remote status is which pin status (services.mapping_set).

    Attribute inputs are for the services chosen (saved, or in the data sent): choosing a
    service with required attributes asks for them when the form comes back."""

    AUTO_ID = "mapping_%s"

    status_open = forms.ChoiceField(label=_("Remote status “open”"), required=False)
    status_closed = forms.ChoiceField(label=_("Remote status “closed”"))

    def __init__(
        self,
        data: Mapping[str, str] | None = None,
        *,
        endpoint: BackofficeEndpoint,
        categories: list[Category],
    ) -> None:
        super().__init__(data)
        self.endpoint = endpoint
        self.categories = categories
        services = {service["service_code"]: service for service in endpoint.services}
        choices = [("", _("Not forwarded"))] + [
            (code, f"{service['service_name']} ({code})") for code, service in services.items()
        ]
        for category in categories:
            self.fields[service_field(category)] = forms.ChoiceField(
                label=category.display_name,
                choices=choices,
                required=False,
                initial=endpoint.service_codes.get(category.slug, ""),
            )
        # The services chosen: those saved, and those in the data sent.
        chosen = set(endpoint.service_codes.values())
        if data is not None:
            chosen |= {str(data.get(service_field(c)) or "") for c in categories}
        self.attributes: list[tuple[str, str, dict]] = []
        for code, service in services.items():
            if code not in chosen:
                continue
            for attribute in service.get("attributes", []):
                if not attribute.get("required"):
                    continue
                name = attribute_field(code, attribute["code"])
                label = _("%(service)s: %(attribute)s") % {
                    "service": service["service_name"],
                    "attribute": attribute.get("description") or attribute["code"],
                }
                initial = endpoint.attribute_values.get(code, {}).get(attribute["code"], "")
                if attribute.get("values"):
                    self.fields[name] = forms.ChoiceField(
                        label=label,
                        choices=[("", "–")] + [(v, v) for v in attribute["values"]],
                        required=False,
                        initial=initial,
                    )
                else:
                    self.fields[name] = StoredTextField(
                        label=label, max_length=500, required=False, initial=initial
                    )
                self.attributes.append((name, code, attribute))
        statuses = [("", _("Leave the pin as it is"))] + SETTABLE
        saved = {**DEFAULT_STATUS_MAP, **endpoint.status_map}
        # A closed request always sets some status (done unless said): no "leave it" there.
        for name, remote, offered in (
            ("status_open", "open", statuses),
            ("status_closed", "closed", SETTABLE),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = offered
            field.initial = saved.get(remote, "")
        others = sorted((k, v) for k, v in saved.items() if k not in ("open", "closed"))
        for number in range(1, OTHER_STATUSES + 1):
            remote, local = others[number - 1] if number <= len(others) else ("", "")
            self.fields[f"other_status_{number}"] = StoredTextField(
                label=_("Another remote status (%(number)s)") % {"number": number},
                max_length=50,
                required=False,
                initial=remote,
            )
            self.fields[f"other_pin_status_{number}"] = forms.ChoiceField(
                label=_("Pin status for it (%(number)s)") % {"number": number},
                choices=[("", "–"), *SETTABLE],
                required=False,
                initial=local,
            )

    def service_fields(self) -> list[forms.BoundField]:
        return [self[service_field(category)] for category in self.categories]

    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[name] for name, _code, _attribute in self.attributes]

    def status_fields(self) -> list[forms.BoundField]:
        names = ["status_open", "status_closed"]
        for number in range(1, OTHER_STATUSES + 1):
            names += [f"other_status_{number}", f"other_pin_status_{number}"]
        return [self[name] for name in names]

    def clean(self):
        cleaned = super().clean()
        chosen = {cleaned.get(service_field(c)) for c in self.categories} - {None, ""}
        for name, code, _attribute in self.attributes:
            if code in chosen and not cleaned.get(name) and name not in self.errors:
                self.add_error(name, _("The service chosen needs this value."))
        for number in range(1, OTHER_STATUSES + 1):
            remote = (cleaned.get(f"other_status_{number}") or "").strip().lower()
            local = cleaned.get(f"other_pin_status_{number}") or ""
            if remote in ("open", "closed"):
                self.add_error(f"other_status_{number}", _("Open and closed have their own rows."))
            # Each error on the field that was filled: the one the person just used.
            elif remote and not local:
                self.add_error(f"other_status_{number}", _("Choose the pin status it means."))
            elif local and not remote:
                self.add_error(f"other_pin_status_{number}", _("Give the remote status first."))
        return cleaned

    def mapping(self) -> dict:
        """services.mapping_set's arguments, from the cleaned data."""
        data = self.cleaned_data
        service_codes = {c.slug: data.get(service_field(c)) or "" for c in self.categories}
        attribute_values: dict[str, dict[str, str]] = {}
        for name, code, attribute in self.attributes:
            attribute_values.setdefault(code, {})[attribute["code"]] = data.get(name) or ""
        status_map = {"open": data["status_open"], "closed": data["status_closed"]}
        for number in range(1, OTHER_STATUSES + 1):
            remote = (data.get(f"other_status_{number}") or "").strip().lower()
            if remote:
                status_map[remote] = data.get(f"other_pin_status_{number}") or ""
        return {
            "service_codes": service_codes,
            "attribute_values": attribute_values,
            "status_map": status_map,
        }


class FoundForm(_PageForm):
    """Staff found the pin's request on the back office (services.forward_found). One per
    forward on a page: its fields' ids carry the forward's id."""

    remote_id = StoredTextField(
        label=_("Found it: request number"),
        max_length=200,
        help_text=_("The request's number at the back office: the pin is never sent again."),
    )

    def __init__(self, *args, forward_pk: int, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"found_%s_{forward_pk}")
        super().__init__(*args, **kwargs)
        self.forward_pk = forward_pk
