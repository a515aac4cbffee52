"""The citizen's pin form. Latitude and longitude are plain fields: a click on the map fills
them, and keyboard or screen-reader users can type them."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from mapideas import workflow
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    HIDE_REASON_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Category,
    Idea,
)
from mapideas.selectors import QueueFilters, QueueSort
from mapideas.services import (
    COMMENT_REQUIRED_MESSAGE,
    HIDE_REASON_MESSAGE,
    NOTE_REQUIRED_MESSAGE,
    OUTSIDE_MESSAGE,
    REASSIGN_REASON_MESSAGE,
    location_from_lonlat,
)
from neighborhoods.models import Team
from neighborhoods.routing import route
from neighborhoods.selectors import active_neighborhoods

PLAIN_STATUS_CHOICES = [(s, Idea.Status(s).label) for s in workflow.PLAIN_STATUSES]

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

    status = forms.ChoiceField(label="New status")
    answer = forms.CharField(
        label="Public answer",
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Shown on the pin's public page, signed by the team (never by you). "
            "Required for done and declined."
        ),
    )

    def __init__(self, *args, idea: Idea, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # What the workflow allows from here, and the current status for an answer alone.
        choices = [(idea.status, f"{idea.get_status_display()} (no change: answer only)")]
        choices += [
            (s, Idea.Status(s).label) for s in workflow.next_statuses(idea.status, plain=True)
        ]
        self.fields["status"].choices = choices


class NoteForm(_PageForm):
    """An internal note (services.idea_note_add): staff only, never public."""

    AUTO_ID = "note_%s"

    text = forms.CharField(
        label="Internal note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Seen by staff only: never on the public page, the API or the exports.",
        error_messages={"required": NOTE_REQUIRED_MESSAGE},
    )


class AssigneeField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_username()


class AssignForm(_PageForm):
    """Give the pin to a member of its team, or to nobody (services.idea_assign)."""

    AUTO_ID = "assign_%s"

    assignee = AssigneeField(
        label="Assign to",
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
        empty_label="Nobody (unassign)",
    )

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = team.members.order_by("username")


class DuplicateForm(_PageForm):
    """Merge the pin into another (services.idea_mark_duplicate)."""

    AUTO_ID = "duplicate_%s"

    duplicate_of = forms.IntegerField(
        label="Duplicate of pin #", min_value=1, help_text="The number of the original pin."
    )
    answer = forms.CharField(
        label="Public answer",
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Leave empty for: “This is the same as pin #N…”.",
    )

    def clean_duplicate_of(self) -> Idea:
        pk = self.cleaned_data["duplicate_of"]
        original = Idea.objects.filter(pk=pk).first()
        if original is None:
            raise forms.ValidationError(f"There is no pin #{pk}.")
        return original


class QueueFilterForm(forms.Form):
    """The team queue's filters, from the query string (all optional)."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any")] + Idea.Status.choices
    )
    category = forms.ModelChoiceField(
        label="Category",
        queryset=Category.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label="Any",
    )
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Any")] + Idea.Kind.choices
    )
    neighborhood = forms.ChoiceField(label="Neighborhood", required=False)
    assignee = forms.ChoiceField(label="Assigned to", required=False)
    created_after = forms.DateField(
        label="Pinned from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label="Pinned until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    overdue = forms.BooleanField(label="Overdue only", required=False)
    sort = forms.ChoiceField(label="Sort", required=False, choices=QueueSort.choices)

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        area = active_neighborhoods().filter(team=team).order_by("name")
        self.fields["neighborhood"].choices = [("", "Any")] + [(n.slug, n.name) for n in area]
        self.fields["assignee"].choices = [("", "Anyone"), ("none", "Nobody")] + [
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

    ACTIONS = [("status", "Change status"), ("assign", "Assign"), ("unassign", "Unassign")]

    ideas = forms.TypedMultipleChoiceField(label="Pins", coerce=int, choices=[])
    action = forms.ChoiceField(label="Action", choices=ACTIONS)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "---------")] + list(PLAIN_STATUS_CHOICES)
    )
    answer = forms.CharField(
        label="Public answer (for all)",
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    assignee = AssigneeField(
        label="Assign to",
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
            self.add_error("status", "Choose the new status.")
        if action == "assign" and cleaned.get("assignee") is None:
            self.add_error("assignee", "Choose who to assign the pins to.")
        return cleaned


# --- Citizens follow what happens ------------------------------------------------------------


class CommentForm(_PageForm):
    """A signed-in person's public comment (services.comment_add)."""

    AUTO_ID = "comment_%s"

    text = forms.CharField(
        label="Your comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            f"Public, at most {COMMENT_MAX_LENGTH} characters. Signed “Citizen #…”, never with "
            "your name."
        ),
        error_messages={"required": COMMENT_REQUIRED_MESSAGE},
    )


class HideCommentForm(_PageForm):
    """Moderators hide a comment, with the reason the page shows (services.comment_hide)."""

    AUTO_ID = "hide_%s"

    reason = forms.CharField(
        label="Reason",
        max_length=HIDE_REASON_MAX_LENGTH,
        error_messages={"required": HIDE_REASON_MESSAGE},
    )


class FollowForm(_PageForm):
    """Follow a pin by email without an account (services.follow)."""

    AUTO_ID = "follow_%s"

    email = forms.EmailField(
        label="Your email",
        help_text=(
            "Kept private. We send a link to confirm first; every email has a one-click "
            "link to stop."
        ),
    )
