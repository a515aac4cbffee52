"""The citizen's pin form. Latitude and longitude are plain fields: a click on the map fills
them, and keyboard or screen-reader users can type them."""

import secrets
from datetime import date

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas import photos, workflow
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    FLAG_TEXT_MAX_LENGTH,
    HIDE_REASON_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Category,
    Flag,
    Idea,
)
from mapideas.selectors import QueueFilters, QueueSort
from mapideas.services import (
    COMMENT_REQUIRED_MESSAGE,
    EMAIL_OR_SIGN_IN_MESSAGE,
    EMAIL_REQUIRED_MESSAGE,
    GATHERED_IN_FUTURE_MESSAGE,
    HIDE_REASON_MESSAGE,
    NOTE_REQUIRED_MESSAGE,
    OUTSIDE_MESSAGE,
    REASSIGN_REASON_MESSAGE,
    STAFF_ENTRY_CHANNELS,
    location_from_lonlat,
)
from neighborhoods.models import Team
from neighborhoods.routing import route
from neighborhoods.selectors import active_neighborhoods

PLAIN_STATUS_CHOICES = [(s, Idea.Status(s).label) for s in workflow.PLAIN_STATUSES]

REASSIGN_REASON_MAX_LENGTH = 1000


class IdeaForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Idea.Kind.choices, widget=forms.RadioSelect, initial="idea"
    )
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
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
                self.add_error("latitude", gettext(OUTSIDE_MESSAGE))
        return cleaned

    @property
    def location(self) -> Point:
        return self.cleaned_data["location"]


def photo_field() -> forms.FileField:
    """A pin's optional photo, checked and re-encoded by the services (mapideas.photos),
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
    name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=Idea._meta.get_field("contact_name").max_length,
        required=False,
        help_text=_("Kept private too: for the team, if they need to ask you something."),
    )
    photo = photo_field()
    # A one-time token per rendered form (issue 8): the page reloaded after a POST, or the
    # button pressed twice, sends the same token, and the view answers with the pin stored
    # the first time instead of a second one (services.idea_submit_once).
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
        if user.is_authenticated or "email" not in modes:
            del self.fields["email"], self.fields["name"]
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


class OfflineIdeaForm(IdeaForm):
    """Staff enter input gathered offline on a resident's behalf
    (services.offline_idea_create): the citizen's form, then how the input reached the city
    and, kept private, how to reach the resident."""

    # Shown in groups, each a fieldset (templates/mapideas/offline_input.html).
    FIELDSETS = [
        (_("Where"), ["latitude", "longitude"]),
        (_("What"), ["kind", "title", "description", "category", "photo"]),
        (_("How it reached the city"), ["channel", "event_name", "gathered_on"]),
        (
            _("The resident (private: only staff see it)"),
            ["contact_name", "contact_email", "contact_phone", "send_follow_link"],
        ),
    ]

    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(c, Idea.Channel(c).label) for c in STAFF_ENTRY_CHANNELS],
    )
    event_name = forms.CharField(
        label=_("Event"),
        max_length=Idea._meta.get_field("event_name").max_length,
        required=False,
        help_text=_("Optional, public: the meeting or campaign, e.g. “Town hall, 3 March”."),
    )
    gathered_on = forms.DateField(
        label=_("Date gathered"),
        required=False,
        help_text=_("Empty for today. The pin is dated that day."),
    )
    contact_name = forms.CharField(
        label=_("Name"),
        max_length=Idea._meta.get_field("contact_name").max_length,
        required=False,
    )
    contact_email = forms.EmailField(label=_("Email"), required=False, max_length=254)
    contact_phone = forms.CharField(
        label=_("Phone"),
        max_length=Idea._meta.get_field("contact_phone").max_length,
        required=False,
    )
    send_follow_link = forms.BooleanField(
        label=_("Email them a link to follow this pin"),
        required=False,
        initial=True,
        help_text=_(
            "They confirm it themselves (staff cannot for them); nothing else is sent to the "
            "address until they do."
        ),
    )

    photo = photo_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = photos.limits_text()
        self.fields["gathered_on"].widget = forms.DateInput(
            attrs={"type": "date", "max": timezone.localdate().isoformat()}
        )

    def clean_gathered_on(self) -> date | None:
        day = self.cleaned_data.get("gathered_on")
        if day is not None and day > timezone.localdate():
            raise ValidationError(GATHERED_IN_FUTURE_MESSAGE)
        return day

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]


class ReassignForm(forms.Form):
    """Staff send one pin to another team by hand (mapideas.services.idea_reassign)."""

    team = forms.ModelChoiceField(
        label=_("Send to"),
        queryset=Team.objects.none(),
        to_field_name="slug",
        empty_label=_("Choose a team"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASSIGN_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown with the move on the pin's public page (who moved it is not)."),
        error_messages={"required": REASSIGN_REASON_MESSAGE},
    )

    def __init__(self, *args, idea: Idea, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every team but the one that has the pin now, the triage team included.
        self.fields["team"].queryset = Team.objects.exclude(pk=idea.team_id).order_by("name")


# --- The district teams' workflow -----------------------------------------------------------


class _PageForm(forms.Form):
    """A form whose field ids start with AUTO_ID's prefix rather than "id_"."""

    AUTO_ID = "id_%s"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", self.AUTO_ID)
        super().__init__(*args, **kwargs)


class StatusForm(_PageForm):
    """Move a pin along the workflow, with a public answer (services.idea_status_change)."""

    AUTO_ID = "status_%s"

    status = forms.ChoiceField(label=_("New status"))
    answer = forms.CharField(
        label=_("Public answer"),
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Shown on the pin's public page, signed by the team (never by you). "
            "Required for done and declined."
        ),
    )

    def __init__(self, *args, idea: Idea, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # What the workflow allows from here, and the current status for an answer alone.
        choices = [
            (
                idea.status,
                gettext("%(status)s (no change: answer only)")
                % {"status": idea.get_status_display()},
            )
        ]
        choices += [
            (s, Idea.Status(s).label) for s in workflow.next_statuses(idea.status, plain=True)
        ]
        self.fields["status"].choices = choices


class NoteForm(_PageForm):
    """An internal note (services.idea_note_add): staff only, never public."""

    AUTO_ID = "note_%s"

    text = forms.CharField(
        label=_("Internal note"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Seen by staff only: never on the public page, the API or the exports."),
        error_messages={"required": NOTE_REQUIRED_MESSAGE},
    )


class AssigneeField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_username()


class AssignForm(_PageForm):
    """Give the pin to a member of its team, or to nobody (services.idea_assign)."""

    AUTO_ID = "assign_%s"

    assignee = AssigneeField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
        empty_label=_("Nobody (unassign)"),
    )

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = team.members.order_by("username")


class DuplicateForm(_PageForm):
    """Merge the pin into another (services.idea_mark_duplicate)."""

    AUTO_ID = "duplicate_%s"

    duplicate_of = forms.IntegerField(
        label=_("Duplicate of pin #"), min_value=1, help_text=_("The number of the original pin.")
    )
    answer = forms.CharField(
        label=_("Public answer"),
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave empty for: “This is the same as pin #N…”."),
    )

    def clean_duplicate_of(self) -> Idea:
        pk = self.cleaned_data["duplicate_of"]
        original = Idea.objects.filter(pk=pk).first()
        if original is None:
            raise forms.ValidationError(gettext("There is no pin #%(number)s.") % {"number": pk})
        return original


class QueueFilterForm(forms.Form):
    """The team queue's filters, from the query string (all optional)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + Idea.Status.choices
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("Any"),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any"))] + Idea.Kind.choices
    )
    neighborhood = forms.ChoiceField(label=_("Neighborhood"), required=False)
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    created_after = forms.DateField(
        label=_("Pinned from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label=_("Pinned until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=QueueSort.choices)

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        area = active_neighborhoods().filter(team=team).order_by("name")
        self.fields["neighborhood"].choices = [("", gettext("Any"))] + [
            (n.slug, n.name) for n in area
        ]
        self.fields["assignee"].choices = [("", gettext("Anyone")), ("none", gettext("Nobody"))] + [
            (u.get_username(), u.get_username()) for u in team.members.order_by("username")
        ]

    def filters(self) -> QueueFilters:
        """The filters to apply; a filter with a bad value is left out (and shown in error)."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        return QueueFilters(
            status=data.get("status") or "",
            category=data.get("category"),
            kind=data.get("kind") or "",
            neighborhood=data.get("neighborhood") or "",
            created_after=data.get("created_after"),
            created_before=data.get("created_before"),
            overdue=bool(data.get("overdue")),
            q=(data.get("q") or "").strip(),
            assignee=data.get("assignee") or "",
            sort=data.get("sort") or QueueSort.NEWEST,
        )


class BulkForm(_PageForm):
    """One change to the pins ticked in the queue (services.ideas_bulk_update)."""

    AUTO_ID = "bulk_%s"

    ACTIONS = [("status", _("Change status")), ("assign", _("Assign")), ("unassign", _("Unassign"))]

    ideas = forms.TypedMultipleChoiceField(label=_("Pins"), coerce=int, choices=[])
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "---------")] + list(PLAIN_STATUS_CHOICES)
    )
    answer = forms.CharField(
        label=_("Public answer (for all)"),
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    assignee = AssigneeField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
    )

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = team.members.order_by("username")
        # Any pin id: the service checks each one (exists, and the person may change it).
        raw = self.data.getlist("ideas") if hasattr(self.data, "getlist") else []
        self.fields["ideas"].choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean(self) -> dict:
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == "status" and not cleaned.get("status"):
            self.add_error("status", gettext("Choose the new status."))
        if action == "assign" and cleaned.get("assignee") is None:
            self.add_error("assignee", gettext("Choose who to assign the pins to."))
        return cleaned


# --- Citizens follow what happens ------------------------------------------------------------


class CommentForm(_PageForm):
    """A signed-in person's public comment (services.comment_add)."""

    AUTO_ID = "comment_%s"

    text = forms.CharField(
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

    reason = forms.CharField(
        label=_("Reason"),
        max_length=HIDE_REASON_MAX_LENGTH,
        error_messages={"required": HIDE_REASON_MESSAGE},
    )


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


# --- Citizen sign-up ---------------------------------------------------------------------------


class SignupForm(forms.Form):
    """A citizen's account (services.citizen_signup checks the rest: unique email and
    username, Django's password validators)."""

    username = forms.CharField(
        label=_("Username (optional)"),
        max_length=150,
        required=False,
        help_text=_("Leave it empty to log in with your email address."),
    )
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("Kept private. We email you when the pins you send change."),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", gettext("The two passwords differ."))
        return cleaned


class FlagForm(_PageForm):
    """The pin page's "Report this pin" (moderation.idea_flag)."""

    AUTO_ID = "flag_%s"

    reason = forms.ChoiceField(
        label=_("What is wrong with it?"),
        choices=Flag.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what is wrong with this pin.")},
    )
    text = forms.CharField(
        label=_("Anything to add (optional)"),
        max_length=FLAG_TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Seen by the city's moderators only."),
    )


class ModerationDecisionForm(forms.Form):
    """Staff keep or remove a flagged pin (moderation.idea_moderate)."""

    decision = forms.ChoiceField(choices=[("keep", _("Keep")), ("remove", _("Remove"))])
    reason = forms.CharField(max_length=FLAG_TEXT_MAX_LENGTH, required=False)


class EraseAccountForm(_PageForm):
    """Erase one's own account: the password again, so a session left open is not enough."""

    AUTO_ID = "erase_%s"

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Type your password to confirm.")},
    )
