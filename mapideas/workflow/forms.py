"""Forms of the district teams: workflow, queue filters, bulk actions, offline input, reassigns."""

from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas.answers.selectors import team_templates, templates_for_pin
from mapideas.answers.services import answer_language, templates_render
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    ID_MAX,
    NOTE_MAX_LENGTH,
    Category,
    Idea,
    ResponseTemplate,
)
from mapideas.pins import photos
from mapideas.plumbing.forms import _PageForm
from mapideas.plumbing.stored_text import StoredTextField
from mapideas.submission.forms import IdeaForm, photo_field
from mapideas.workflow import statuses as workflow
from mapideas.workflow.selectors import QueueFilters, QueueSort, merge_original
from mapideas.workflow.services import (
    GATHERED_IN_FUTURE_MESSAGE,
    NO_SUCH_PIN_MESSAGE,
    NOTE_REQUIRED_MESSAGE,
    REASSIGN_REASON_MESSAGE,
    STAFF_ENTRY_CHANNELS,
)
from neighborhoods.models import Team
from neighborhoods.selectors import active_neighborhoods

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_FieldT = TypeVar("_FieldT", bound=forms.Field)


def _field(form: forms.BaseForm, name: str, kind: type[_FieldT]) -> _FieldT:
    """The form's own copy of field `name`, of the class it is declared with (`form.fields`
    is typed as holding any Field)."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is a {type(field).__name__}")
    return field


PLAIN_STATUS_CHOICES = [(s, Idea.Status(s).label) for s in workflow.PLAIN_STATUSES]


REASSIGN_REASON_MAX_LENGTH = 1000


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
    event_name = StoredTextField(
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
    contact_name = StoredTextField(
        label=_("Name"),
        max_length=Idea._meta.get_field("contact_name").max_length,
        required=False,
    )
    contact_email = forms.EmailField(label=_("Email"), required=False, max_length=254)
    contact_phone = StoredTextField(
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

    def fieldsets(self) -> list[tuple["StrOrPromise", list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]


class ReassignForm(forms.Form):
    """Staff send one pin to another team by hand (mapideas.workflow.services.idea_reassign)."""

    team = forms.ModelChoiceField(
        label=_("Send to"),
        queryset=Team.objects.none(),
        to_field_name="slug",
        empty_label=_("Choose a team"),
    )
    reason = StoredTextField(
        label=_("Reason"),
        max_length=REASSIGN_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown with the move on the pin's public page (who moved it is not)."),
        error_messages={"required": REASSIGN_REASON_MESSAGE},
    )

    def __init__(self, *args, idea: Idea, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every team but the one that has the pin now, the triage team included.
        _field(self, "team", forms.ModelChoiceField).queryset = Team.objects.exclude(
            pk=idea.team_id
        ).order_by("name")


class TemplateSelect(forms.Select):
    """The choice of a response template, each option carrying its text as rendered for the
    pin (`data-answer`), which answer-templates.js puts in the answer box."""

    def __init__(self, *args, rendered: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rendered = rendered or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        text = self.rendered.get(str(value))
        if text is not None:
            option["attrs"]["data-answer"] = text
        return option


class TemplateChoiceField(forms.ModelChoiceField):
    """A template by its number: anything but a number a primary key can hold is no choice
    (SQLite cannot even compare a larger one)."""

    def label_from_instance(self, obj) -> str:
        return obj.name

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values:
            text = str(value)
            if not (text.isascii() and text.isdigit() and int(text) <= ID_MAX):
                raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


def _template_field(label: "StrOrPromise", help_text: "StrOrPromise") -> TemplateChoiceField:
    return TemplateChoiceField(
        label=label,
        queryset=ResponseTemplate.objects.none(),
        required=False,
        empty_label=_("None"),
        help_text=help_text,
    )


def _answer_photo_field(label: "StrOrPromise") -> forms.FileField:
    field = photo_field()
    field.label = label
    return field


class StatusForm(_PageForm):
    """Move a pin along the workflow, with a public answer (services.idea_status_change),
    maybe from one of the team's templates, and before and after photos."""

    AUTO_ID = "status_%s"

    status = forms.ChoiceField(label=_("New status"))
    template = _template_field(
        _("Answer from a template"),
        _(
            "Fills the answer in the pin's language. Sent with the answer empty, the template "
            "is the answer; without either, a template set for the new status is."
        ),
    )
    answer = StoredTextField(
        label=_("Public answer"),
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Shown on the pin's public page, signed by the team (never by you). "
            "Required for done and declined."
        ),
    )
    photo_before = _answer_photo_field(_("Photo before (optional)"))
    photo_after = _answer_photo_field(_("Photo after (optional)"))

    def __init__(self, *args, idea: Idea, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # What the workflow allows from here, and the current status for an answer alone.
        choices: list[tuple[str, StrOrPromise]] = [
            (
                idea.status,
                gettext("%(status)s (no change: answer only)")
                % {"status": idea.get_status_display()},
            )
        ]
        choices += [
            (s, Idea.Status(s).label) for s in workflow.next_statuses(idea.status, plain=True)
        ]
        _field(self, "status", forms.ChoiceField).choices = choices
        templates = list(templates_for_pin(idea=idea))
        field = _field(self, "template", TemplateChoiceField)
        language = answer_language(idea)
        rendered = templates_render(templates, idea, language)
        field.widget = TemplateSelect(rendered={str(pk): text for pk, text in rendered.items()})
        # After the widget: setting the queryset gives the widget its choices.
        field.queryset = templates_for_pin(idea=idea)
        if not templates:
            field.help_text = gettext("The team has no template for this pin's category yet.")
        for name in ("photo_before", "photo_after"):
            self.fields[name].help_text = photos.limits_text()


class NoteForm(_PageForm):
    """An internal note (services.idea_note_add): staff only, never public."""

    AUTO_ID = "note_%s"

    text = StoredTextField(
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
        _field(self, "assignee", AssigneeField).queryset = team.members.order_by("username")


class DuplicateForm(_PageForm):
    """Merge the pin into another (services.idea_mark_duplicate)."""

    AUTO_ID = "duplicate_%s"

    duplicate_of = forms.IntegerField(
        label=_("Duplicate of pin #"), min_value=1, help_text=_("The number of the original pin.")
    )
    answer = StoredTextField(
        label=_("Public answer"),
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave empty for: “This is the same as pin #N…”."),
    )

    def clean_duplicate_of(self) -> Idea:
        # A public pin only; any other number, the same words (selectors.merge_original).
        original = merge_original(pk=self.cleaned_data["duplicate_of"])
        if original is None:
            raise forms.ValidationError(NO_SUCH_PIN_MESSAGE)
        return original


ASSIGNEE_BY_NUMBER_MESSAGE = _(
    "Choose a member of the team from the list (links that name a person are out of date)."
)


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
    # A member by number (their user id), never by username: usernames may be email
    # addresses, and these filters travel in URLs (links, access logs, the bulk form's way
    # back). A link saved when members were named by username is left out, and said so.
    assignee = forms.ChoiceField(
        label=_("Assigned to"),
        required=False,
        error_messages={"invalid_choice": ASSIGNEE_BY_NUMBER_MESSAGE},
    )
    created_after = forms.DateField(
        label=_("Pinned from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label=_("Pinned until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    # "Is it really fixed?" (mapideas.outcomes): closed pins residents dispute, waiting in the
    # team's check queue; pins reopened after being closed, once or more.
    disputed = forms.BooleanField(label=_("Disputed only"), required=False)
    reopened = forms.BooleanField(label=_("Reopened only"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=QueueSort.choices)

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Slugs and names only: the polygons are large (11 ms for a team's on SpatiaLite).
        area = active_neighborhoods().filter(team=team).order_by("name")
        _field(self, "neighborhood", forms.ChoiceField).choices = [("", gettext("Any"))] + list(
            area.values_list("slug", "name")
        )
        _field(self, "assignee", forms.ChoiceField).choices = [
            ("", gettext("Anyone")),
            ("none", gettext("Nobody")),
        ] + [(str(u.pk), u.get_username()) for u in team.members.order_by("username")]

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
            disputed=bool(data.get("disputed")),
            reopened=bool(data.get("reopened")),
            q=(data.get("q") or "").strip(),
            assignee=data.get("assignee") or "",
            sort=data.get("sort") or QueueSort.NEWEST,
        )

    def query_string(self) -> str:
        """The filters as the queue's own links carry them (the pager, the bulk form's way
        back): only the filters of this form, with the values it accepted; a filter in error
        (an old link's username, say) is left out, never passed on."""
        self.is_valid()
        given = self.data if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
        kept = QueryDict(mutable=True)
        for name in self.fields:
            values = [v for v in given.getlist(name) if v] if name not in self.errors else []
            if values:
                kept.setlist(name, values)
        return kept.urlencode()


class BulkForm(_PageForm):
    """One change to the pins ticked in the queue (services.ideas_bulk_update)."""

    AUTO_ID = "bulk_%s"

    ACTIONS = [("status", _("Change status")), ("assign", _("Assign")), ("unassign", _("Unassign"))]

    ideas = forms.TypedMultipleChoiceField(label=_("Pins"), coerce=int, choices=[])
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "---------")] + list(PLAIN_STATUS_CHOICES)
    )
    answer = StoredTextField(
        label=_("Public answer (for all)"),
        max_length=ANSWER_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    template = _template_field(
        _("Answer from a template"),
        _(
            "With the answer empty: the template, filled for each pin in its own language. "
            "Without either, a template set for the new status is each pin's answer."
        ),
    )
    assignee = AssigneeField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
    )

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _field(self, "assignee", AssigneeField).queryset = team.members.order_by("username")
        _field(self, "template", TemplateChoiceField).queryset = team_templates(team=team)
        # Any pin id: the service checks each one (exists, and the person may change it).
        raw = self.data.getlist("ideas") if hasattr(self.data, "getlist") else []
        _field(self, "ideas", forms.TypedMultipleChoiceField).choices = [
            (v, v) for v in raw if str(v).isdigit()
        ]

    def clean(self) -> dict[str, Any]:
        # Form.clean() returns self.cleaned_data (typed "or None" for overrides).
        super().clean()
        cleaned = self.cleaned_data
        action = cleaned.get("action")
        if action == "status" and not cleaned.get("status"):
            self.add_error("status", gettext("Choose the new status."))
        if action == "assign" and cleaned.get("assignee") is None:
            self.add_error("assignee", gettext("Choose who to assign the pins to."))
        return cleaned
