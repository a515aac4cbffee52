"""Ideas and issues that citizens pin on the map."""

import hashlib

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxLengthValidator, URLValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mapideas.cells import pin_cells
from mapideas.plumbing import rate_counters
from mapideas.plumbing.hashing import keyed_hash
from neighborhoods.models import Neighborhood, Team
from neighborhoods.translated_names import translated_name

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 5000
# The largest id any row can have: a 64-bit primary key on both databases. A larger number
# in a link or a form names no row, answered without asking the database (SQLite cannot even
# compare it, and a query compiled once is given it as it is).
ID_MAX = 2**63 - 1
MEDIA_URL_MAX_LENGTH = 2000
CONTACT_NAME_MAX_LENGTH = 200
# A link shown to staff and returned by the Open311 API: never javascript:, data: or file:.
media_url_validator = URLValidator(
    schemes=["http", "https"], message="Give an http:// or https:// URL."
)


class Category(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    # The name in the site's other languages (neighborhoods.translated_names), set by staff.
    name_translations = models.JSONField(
        "name in other languages", default=dict, blank=True, null=True
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language (staff's translation), else `name`: what the APIs
        show. Which output uses which language is neighborhoods.translated_names' rule."""
        return translated_name(self.name, self.name_translations)


# The pins no one but their staff may see: the complement of PUBLIC_PINS (below), written as
# the partial index idea_not_public holds them, so that a query with this condition can use it
# (SQLite takes a partial index only for a query that repeats its condition).
NOT_PUBLIC_PINS = models.Q(awaiting_confirmation=True) | models.Q(
    hidden_by_moderation_at__isnull=False
)


class Idea(models.Model):
    """A pin: an idea for the city or an issue to fix, routed to a team when it is created."""

    class Kind(models.TextChoices):
        IDEA = "idea", _("Idea")
        ISSUE = "issue", _("Issue")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        UNDER_REVIEW = "under_review", _("Under review")
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        DECLINED = "declined", _("Declined")
        DUPLICATE = "duplicate", _("Duplicate")

    class Channel(models.TextChoices):
        """How the input reached the city: online, or gathered offline and entered by staff."""

        WEB = "web", _("Web map")
        API = "api", _("API")
        PHONE = "phone", _("Phone")
        MEETING = "meeting", _("Meeting or workshop")
        PAPER = "paper", _("Paper form")
        LETTER = "letter", _("Letter")
        EMAIL = "email", _("Email")
        KIOSK = "kiosk", _("Kiosk")
        IMPORT = "import", _("Imported file")
        OTHER = "other", _("Other")

    # Channels through which staff enter input gathered offline on a resident's behalf.
    OFFLINE_CHANNELS = (
        Channel.PHONE,
        Channel.MEETING,
        Channel.PAPER,
        Channel.LETTER,
        Channel.EMAIL,
        Channel.KIOSK,
        Channel.IMPORT,
        Channel.OTHER,
    )

    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(
        blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="ideas")
    location = models.PointField(srid=4326)
    # Set by routing (at creation, and on re-routing), never taken from the client. No
    # neighborhood means the pin fell in a gap inside the service area: the triage team has it.
    neighborhood = models.ForeignKey(
        Neighborhood, on_delete=models.PROTECT, related_name="ideas", null=True, blank=True
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="ideas")
    # Teams of the other neighborhoods covering the pin, where polygons overlap.
    also_in_teams = models.ManyToManyField(Team, related_name="ideas_also_in_area", blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    # The town-hall meeting, workshop or campaign an offline pin was gathered at (public).
    event_name = models.CharField(max_length=200, blank=True, default="", db_default="")
    # Personal data: never serialised into public pages, the API or exports.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ideas",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # A photo or page about the pin, sent by an Open311 client (public: the Open311 API
    # returns it).
    # The database defaults let set-based SQL (bench, bulk imports) insert pins without them.
    media_url = models.URLField(
        max_length=MEDIA_URL_MAX_LENGTH,
        blank=True,
        default="",
        db_default="",
        validators=[media_url_validator],
    )
    # Personal data sent by an Open311 client so staff can reach the reporter: never
    # serialised into public pages, the API, the Open311 API or exports.
    contact_email = models.EmailField(blank=True, default="", db_default="")
    contact_name = models.CharField(
        max_length=CONTACT_NAME_MAX_LENGTH, blank=True, default="", db_default=""
    )
    contact_phone = models.CharField(max_length=50, blank=True, default="", db_default="")
    # The citizen agreed, when sending the pin, that their name and contact details go with it
    # to the city's own work-order system (mapideas.backoffice); without it they never do.
    contact_shared_with_city = models.BooleanField(default=False, db_default=False)
    # The Open311 client whose key sent the pin; for staff, never shown publicly.
    open311_client = models.ForeignKey(
        "Open311Client", on_delete=models.PROTECT, null=True, blank=True, related_name="ideas"
    )
    # The team's workflow (mapideas.workflow; written only by the services, which record each
    # change in IdeaUpdate or IdeaNote). The member of the pin's team working on it: staff
    # only, never public (a name is personal data).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_ideas",
    )
    # Staff sent the pin to this team by hand (services.idea_reassign): re-routing after a
    # boundary change then keeps the team (a person decided who answers for this pin) and
    # only moves its neighborhood to the new polygons.
    team_set_by_staff = models.BooleanField(default=False, db_default=False)
    # Set with status "duplicate": the pin this one repeats (its page points there).
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    # The first answer: the first status change away from "new", or the first public answer.
    # None while the pin waits; the response-time commitment (Team.response_target_days) is
    # measured to it. Denormalised from IdeaUpdate, so the queue's "overdue" is one WHERE.
    first_response_at = models.DateTimeField(null=True, blank=True)
    # The latest public answer and when it was given (public: pin page, API, exports).
    # Denormalised from IdeaUpdate (written in the same transaction), so the API and the
    # exports read it without a subquery per pin.
    answer = models.TextField(blank=True, default="", db_default="")
    answer_at = models.DateTimeField(null=True, blank=True)
    # How many people support the pin (Support rows; public: page, API, exports). Kept by
    # the services under the pin's row lock, so the API and the exports read a column, not
    # a count per pin.
    support_count = models.PositiveIntegerField(default=0, db_default=0)
    # The language its author used (a code of settings.LANGUAGES; "" when nobody said:
    # imports, raw SQL): response templates and the emails about the pin are written in it.
    language = models.CharField(max_length=10, blank=True, default="", db_default="")
    # When the pin was last marked done or declined; None while it has never been closed.
    # Kept by the workflow (services._record_update). "Is it fixed?" is asked some days after
    # it, and residents' verdicts (FixFeedback) are about that closure.
    closed_at = models.DateTimeField(null=True, blank=True)
    # How many people confirmed the fix and how many said the problem is still there, over
    # the pin's life (public: page, API, exports; counts, never who). Kept by
    # mapideas.outcomes under the pin's row lock, like support_count.
    fix_confirmed_count = models.PositiveIntegerField(default=0, db_default=0)
    dispute_count = models.PositiveIntegerField(default=0, db_default=0)
    # How many times the pin was reopened after being closed (Reopening rows), and the last.
    reopen_count = models.PositiveIntegerField(default=0, db_default=0)
    reopened_at = models.DateTimeField(null=True, blank=True)
    # A pin sent without an account but with an email address: routed and in its team's
    # queue at once, kept off every public page, list, API and export until the link sent to
    # that address is followed (as FixMyStreet does). False for every other pin.
    awaiting_confirmation = models.BooleanField(default=False, db_default=False)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # The H3 cells (resolutions 7, 8 and 9, as 64-bit integers) holding the pin, written
    # with the location (save() below, and the bulk writers), so a hexagon heatmap is a
    # GROUP BY on a column: there is no H3 in PostGIS or SpatiaLite here (mapideas.cells).
    # NULL only for rows written by raw SQL; the heatmap computes those from coordinates.
    h3_res7 = models.BigIntegerField(null=True, blank=True, editable=False)
    h3_res8 = models.BigIntegerField(null=True, blank=True, editable=False)
    h3_res9 = models.BigIntegerField(null=True, blank=True, editable=False)
    # Moderation (mapideas.moderation; written only there, under the pin's row lock).
    # Flags received since staff last decided (kept with the Flag rows, like support_count):
    # MAPIDEAS_FLAGS_TO_HIDE of them hide the pin.
    flag_count = models.PositiveIntegerField(default=0, db_default=0)
    # Set when the flags hid the pin (or staff removed it): every public output leaves it
    # out (selectors.public_ideas) until staff keep it. Stays set after "remove".
    hidden_by_moderation_at = models.DateTimeField(null=True, blank=True)
    # The last staff decision ("kept" or "removed") and when; "" before any.
    moderation_decision = models.CharField(max_length=10, blank=True, default="", db_default="")
    moderation_decided_at = models.DateTimeField(null=True, blank=True)
    # Idempotent submission: the keyed hash of who sent the pin (account, address
    # or Open311 client) with their Idempotency-Key header, or the web form's one-time token
    # (services.idempotency). Unique, so a retried submission finds its pin instead of
    # writing a second one, however the retries race: the database refuses the second row.
    # NULL for pins sent without a key. Never published. The fingerprint (a hash of what was
    # sent) tells a retry from a different pin sent with the same key.
    idempotency_key = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    idempotency_fingerprint = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The team workspace lists a team's pins newest first.
            models.Index(fields=["team", "-created_at"], name="idea_team_newest"),
            # The public map, exports and lists page by newest first, by key: (created_at, id)
            # is the total order a cursor continues from (mapideas.plumbing.keyset).
            models.Index(fields=["-created_at", "-id"], name="idea_newest_key"),
            # The few pins that have a duplicate, an assignee or a signed-in author, found by
            # that value (a pin's page lists its duplicates; a workspace filters by assignee;
            # a person's data lists their pins). The foreign keys' own indexes hold every pin,
            # and SQLite's ANALYZE counts all the NULLs as one value: it then estimates that
            # `duplicate_of_id = ?` matches every pin and scans the table instead (20 ms a pin
            # page at 100,000 pins). These partial indexes hold only the rows that are set, so
            # SQLite's statistics for them are true; PostgreSQL reads them too (smaller).
            models.Index(
                fields=["duplicate_of"],
                condition=models.Q(duplicate_of__isnull=False),
                name="idea_duplicate_of_set",
            ),
            models.Index(
                fields=["assignee"],
                condition=models.Q(assignee__isnull=False),
                name="idea_assignee_set",
            ),
            models.Index(
                fields=["author"],
                condition=models.Q(author__isnull=False),
                name="idea_author_set",
            ),
            # A team's pins that are not public (awaiting their author's confirmation, hidden
            # by moderators): a few. The workspace counts its queue as the public ones, kept
            # per team by the viewport's counts, plus these (workflow.selectors).
            models.Index(fields=["team"], condition=NOT_PUBLIC_PINS, name="idea_not_public"),
        ]

    # Open pins follow boundary changes; closed ones keep the team that closed them.
    OPEN_STATUSES = (
        Status.NEW,
        Status.ACKNOWLEDGED,
        Status.UNDER_REVIEW,
        Status.PLANNED,
        Status.IN_PROGRESS,
    )

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_public(self) -> bool:
        """Shown to anyone (PUBLIC_PINS): not awaiting its author's email confirmation, not
        hidden by moderation."""
        return not self.awaiting_confirmation and self.hidden_by_moderation_at is None

    def get_absolute_url(self) -> str:
        return reverse("idea-detail", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        # The cells follow the location on every save (admin, services); bulk writers
        # (imports, bench data) set them themselves, since bulk_create skips save().
        cells = self.cells_follow_location()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "location" in update_fields:
            kwargs["update_fields"] = {*update_fields, *cells}
        super().save(*args, **kwargs)

    def cells_follow_location(self) -> dict[str, int]:
        """Set the pin's cells (the viewport counts' and hexagons') from its location; the
        cells set, by field name. save() calls it; a writer that does not save() must too."""
        if self.location is None:
            return {}
        cells = pin_cells(self.location.x, self.location.y)
        for field, cell in cells.items():
            setattr(self, field, cell)
        return cells


# The pins anyone may see (Idea.is_public as a filter): every public queryset starts here.
PUBLIC_PINS = models.Q(awaiting_confirmation=False, hidden_by_moderation_at__isnull=True)


class Open311Client(models.Model):
    """An application allowed to post pins through the Open311 API, with its own key.

    Only the key's SHA-256 is kept (a leaked database leaks no key) and its first characters,
    so staff can tell keys apart. A key is shown once, when issued; a lost key is revoked and
    a new client issued. Revoked rather than deleted: pins keep saying which client sent them.
    """

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=200)
    key_prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "-created_at"]
        verbose_name = "Open311 client"
        constraints = [
            # One live key per client name, so `open311_key --revoke NAME` means one key; a
            # revoked client's name may be issued again.
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(revoked_at__isnull=True),
                name="open311_client_active_name",
                violation_error_message="An Open311 client with this name has a live key.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…{', revoked' if self.revoked_at else ''})"

    @staticmethod
    def hash_key(key: str) -> str:
        """What is stored of a key: its SHA-256. Keys are 192 random bits, so no salt or slow
        hash is needed (nothing to guess), and a lookup by hash stays one indexed query."""
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class RoutingEvent(models.Model):
    """Where an idea was sent, and every time it moved: the audit trail of routing."""

    class Cause(models.TextChoices):
        CREATED = "created", _("Routed when pinned")
        BOUNDARY_CHANGE = "boundary_change", _("Boundaries redrawn")
        MANUAL = "manual", _("Re-assigned by staff")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="routing_events")
    cause = models.CharField(max_length=20, choices=Cause.choices)
    from_neighborhood = models.ForeignKey(
        Neighborhood, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_neighborhood = models.ForeignKey(
        Neighborhood, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    boundary_version = models.ForeignKey(
        "neighborhoods.BoundaryVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    # Staff who re-assigned by hand. Personal data: public pages say "staff", never who.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["idea", "created_at"], name="routing_event_idea_time")]

    def __str__(self) -> str:
        return f"{self.idea_id}: {self.from_team_id} -> {self.to_team_id} ({self.cause})"


ANSWER_MAX_LENGTH = 5000
NOTE_MAX_LENGTH = 5000


class IdeaUpdate(models.Model):
    """One step of a pin's public timeline: a status change, a public answer, or both.

    Public: shown on the pin's page, merged in time with its routing history. Signed by the
    team that answered, never by the person (`actor` is kept for staff and audits only).
    """

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="updates")
    from_status = models.CharField(max_length=20, choices=Idea.Status.choices)
    # The same as from_status for an answer without a status change.
    to_status = models.CharField(max_length=20, choices=Idea.Status.choices)
    answer = models.TextField(blank=True, validators=[MaxLengthValidator(ANSWER_MAX_LENGTH)])
    # The team that had the pin when it answered: the public author of the answer.
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    # For to_status "duplicate": the pin it was merged into.
    duplicate_of = models.ForeignKey(
        Idea, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Personal data: never shown publicly.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Where the step was taken: on MapIdeas by the team, or in the city's own work-order
    # system and read back from it (mapideas.backoffice). The public timeline says which.
    from_city_system = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["idea", "created_at"], name="idea_update_idea_time")]

    def __str__(self) -> str:
        return f"{self.idea_id}: {self.from_status} -> {self.to_status}"

    @property
    def changes_status(self) -> bool:
        return self.from_status != self.to_status


class Reopening(models.Model):
    """A closed pin (done or declined) opened again, by its team or by residents' disputes.

    It starts its own response clock: `first_response_at` is the team's first public step
    after the reopening, kept beside the pin's first answer (Idea.first_response_at), never
    over it, so the response times of the original report stay true."""

    class Cause(models.TextChoices):
        TEAM = "team", _("Reopened by the team")
        DISPUTES = "disputes", _("Reopened because residents said the problem is still there")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="reopenings")
    # The public step that reopened it (its status change and answer).
    update = models.OneToOneField(IdeaUpdate, on_delete=models.CASCADE, related_name="reopening")
    cause = models.CharField(max_length=10, choices=Cause.choices)
    created_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["idea", "created_at"], name="reopening_idea_time")]

    def __str__(self) -> str:
        return f"reopening of {self.idea_id} ({self.cause})"


class IdeaNote(models.Model):
    """Staff-only: an internal note on a pin, or a change of who works on it.

    Never public: not on the pin's public timeline, the API, the exports, OGC or Open311.
    Seen by the members of the pin's team and of the teams it is "also in the area" of,
    planners and administrators (mapideas.pins.roles.can_see_internal).
    """

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        ASSIGNED = "assigned", _("Assigned")
        UNASSIGNED = "unassigned", _("Unassigned")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(blank=True, validators=[MaxLengthValidator(NOTE_MAX_LENGTH)])
    # For assignments: who the pin was given to.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["idea", "created_at"], name="idea_note_idea_time")]

    def __str__(self) -> str:
        return f"{self.idea_id}: {self.kind}"


class RerouteStaging(models.Model):
    """Scratch rows of one bulk re-route (mapideas.rerouting); empty between re-routes.

    Plain integer columns, no foreign keys: it is written and read by set-based SQL only.
    """

    batch = models.CharField(max_length=32, db_index=True)
    idea_id = models.BigIntegerField()
    from_neighborhood_id = models.BigIntegerField(null=True)
    from_team_id = models.BigIntegerField()
    to_neighborhood_id = models.BigIntegerField(null=True)
    to_team_id = models.BigIntegerField(null=True)


# --- Citizens follow what happens: support, comments, follow, email notifications -----------

COMMENT_MAX_LENGTH = 2000
HIDE_REASON_MAX_LENGTH = 500


class Support(models.Model):
    """One person's support of a pin ("me too"): one row per (pin, user) for signed-in
    people, one per (pin, cookie token) for anonymous ones. The token is kept only as a
    keyed hash; no IP address is stored. Idea.support_count counts these rows."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="supports",
    )
    # keyed_hash("supporter", token) of the anonymous supporter's signed cookie; "" for users.
    token_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idea", "user"],
                condition=models.Q(user__isnull=False),
                name="support_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["idea", "token_hash"],
                condition=~models.Q(token_hash=""),
                name="support_one_per_token",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(token_hash=""),
                name="support_has_a_supporter",
            ),
        ]

    def __str__(self) -> str:
        return f"support of {self.idea_id}"


class Comment(models.Model):
    """A signed-in person's comment on a pin, public unless moderators hid it.

    The author is personal data: the page shows a neutral label (public_author), or the
    team's name when the author spoke for the pin's team (`team`, set when they could work
    on it)."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The team the author answered for (a staff reply), else None (a citizen's comment).
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    text = models.TextField(validators=[MaxLengthValidator(COMMENT_MAX_LENGTH)])
    created_at = models.DateTimeField(default=timezone.now)
    # Moderation: hidden comments leave the public page; the reason is shown in their place.
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=HIDE_REASON_MAX_LENGTH, blank=True, default="")
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        # The pin's page lists its comments oldest first.
        indexes = [models.Index(fields=["idea", "created_at"], name="comment_idea_time")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.idea_id}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def public_author(self) -> str:
        """Who the page says wrote it: the team for a staff reply, else "Citizen #<hash>",
        the same for one person on one pin and unlinkable across pins (never a name)."""
        if self.team is not None:
            return self.team.display_name
        if self.author_id is None:
            return gettext("A neighbor")
        return gettext("Citizen #%(code)s") % {
            "code": keyed_hash("commenter", f"{self.idea_id}:{self.author_id}")[:6]
        }


class Follower(models.Model):
    """Who gets an email when a pin's status changes or its team answers.

    A signed-in person (their account's email), or an email address given by someone not
    signed in: private (never shown), and only written to once confirmed by the link sent to
    it. Authors with an email follow their pins from the start. Unfollowing deletes the row.
    """

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
    )
    # Personal data: never shown publicly. "" for signed-in followers (their account's email).
    email = models.EmailField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # None until the address is confirmed (signed-in followers are confirmed at once).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idea", "user"],
                condition=models.Q(user__isnull=False),
                name="follower_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["idea", "email"],
                condition=~models.Q(email=""),
                name="follower_one_per_email",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email=""),
                name="follower_has_an_address",
            ),
        ]

    def __str__(self) -> str:
        return f"follower {self.pk} of {self.idea_id}"

    @property
    def address(self) -> str:
        """Where notifications go ("" when a signed-in follower has no email)."""
        return self.user.email if self.user is not None else self.email


class EmailOutbox(models.Model):
    """An email waiting to be sent, written in the transaction of what it tells.

    `manage.py send_notifications` sends pending rows through Django's email backend, outside
    any request, and retries failures with a back-off up to a cap (attempts)."""

    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    # The one-click unsubscribe URL (also the List-Unsubscribe header); "" for confirmations.
    unsubscribe_url = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "email in the outbox"
        verbose_name_plural = "email outbox"
        # send_notifications reads the pending rows due now, oldest first.
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({'sent' if self.sent_at else 'pending'})"


# --- Area alerts: new pins in a neighborhood or around a point, by email ----------------------

ALERT_RADIUS_MIN_M = 50
# A few kilometres is "my part of town"; a wider circle is the whole city, a flood of email.
ALERT_RADIUS_MAX_M = 5000


class AreaAlert(models.Model):
    """Someone's subscription to new public pins in a neighborhood or within a radius of a
    point, emailed at once or weekly (mapideas.alerts). Nothing is sent to the address but the
    confirmation link until it is followed; unsubscribing deletes the row.

    The neighborhood is kept by slug, not by row: boundaries are versioned and a redrawn
    neighborhood is a new row with the same slug (as category rules name them)."""

    class Frequency(models.TextChoices):
        IMMEDIATE = "immediate", _("Immediately")
        WEEKLY = "weekly", _("Weekly")

    # Personal data: never shown publicly, never in the API's answers.
    email = models.EmailField()
    neighborhood_slug = models.SlugField(max_length=200, blank=True, default="")
    center = models.PointField(srid=4326, null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    frequency = models.CharField(
        max_length=10, choices=Frequency.choices, default=Frequency.IMMEDIATE
    )
    created_at = models.DateTimeField(default=timezone.now)
    # None until the address is confirmed: an unconfirmed alert is never matched.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # The watermark: every pin with an id up to this one has been looked at (set to the
    # newest pin on confirming, so older pins are never sent). Ids, not times: an imported
    # pin may carry an old created_at yet be new on the map.
    last_idea_id = models.BigIntegerField(default=0)
    # Matching pins that were still awaiting their author's confirmation when looked at:
    # looked at again on each run, and sent once they are public (or dropped after a while).
    held_idea_ids = models.JSONField(default=list, blank=True)
    # When pins were last looked for; a weekly alert looks again 7 days later.
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    ~models.Q(neighborhood_slug="")
                    & models.Q(center__isnull=True)
                    & models.Q(radius_m__isnull=True)
                )
                | (
                    models.Q(neighborhood_slug="")
                    & models.Q(center__isnull=False)
                    & models.Q(radius_m__gte=ALERT_RADIUS_MIN_M)
                    & models.Q(radius_m__lte=ALERT_RADIUS_MAX_M)
                ),
                name="area_alert_one_area",
                violation_error_message="An alert is for a neighborhood or a radius, not both.",
            ),
        ]
        indexes = [
            # send_notifications reads the confirmed alerts, and the subscribe service looks
            # an address's alerts up to find an identical one.
            models.Index(fields=["email"], name="area_alert_email"),
        ]

    def __str__(self) -> str:
        return f"area alert {self.pk} ({self.area_label})"

    @property
    def area_label(self) -> str:
        """Where, in words (the neighborhood's slug; the email names it)."""
        if self.neighborhood_slug:
            return self.neighborhood_slug
        if self.center is None:
            return "nowhere"
        return f"{self.radius_m} m around {self.center.y:.5f}, {self.center.x:.5f}"


class IdeaPhoto(models.Model):
    """A pin's optional photo, as re-encoded by mapideas.pins.photos (never the uploaded bytes).

    The file lives in the photo storage (MAPIDEAS_PHOTO_ROOT, outside any web root) under
    `name`, a random name that says nothing about the upload; it is served only through
    the pin's photo view, which checks the pin is public.
    """

    idea = models.OneToOneField(Idea, on_delete=models.CASCADE, related_name="photo")
    name = models.CharField(max_length=100, unique=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set by moderators to withdraw the photo from public view without deleting the pin.
    hidden_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"photo of idea {self.idea_id}"


# --- Moderation: anyone flags a pin; enough flags hide it until staff decide ---------------

FLAG_TEXT_MAX_LENGTH = 500


class Flag(models.Model):
    """Someone's report that a pin should not be public (spam, abuse, personal data...).

    One per person per pin, ever (a flag cleared by a staff "keep" still counts as that
    person's flag, so the same few people cannot hide a kept pin again): signed-in people by
    account, anyone else by a keyed hash of their IP address (models.keyed_hash; the address
    itself is never stored). The hash of an address, not of a cookie: a cookie can be
    dropped at will, so one person could hide any pin alone.
    """

    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam or advertising")
        ABUSIVE = "abusive", _("Abusive, hateful or offensive")
        PERSONAL_DATA = "personal_data", _("Someone's personal data")
        OTHER = "other", _("Something else")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    text = models.TextField(
        blank=True, default="", validators=[MaxLengthValidator(FLAG_TEXT_MAX_LENGTH)]
    )
    # Personal data, staff-only. An erased account's flags are kept, anonymised
    # (mapideas.accounts.personal_data): they were part of a moderation decision.
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="flags",
    )
    # keyed_hash("flagger", ...) of an anonymous flagger's IP address; "" for accounts.
    flagger_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # Set when staff decided on the pin: the flag no longer counts towards hiding it.
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["idea", "flagged_by"],
                condition=models.Q(flagged_by__isnull=False),
                name="flag_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["idea", "flagger_hash"],
                condition=~models.Q(flagger_hash=""),
                name="flag_one_per_address",
            ),
            models.CheckConstraint(
                condition=models.Q(flagged_by__isnull=False) | ~models.Q(flagger_hash=""),
                name="flag_has_a_flagger",
            ),
        ]

    def __str__(self) -> str:
        return f"flag of {self.idea_id} ({self.reason})"


# The filters the viewport's counts are kept for: ViewportCount's key after the cell, and
# columns the count triggers watch (mapideas.map.count_triggers).
VIEWPORT_COUNT_FILTERS = ("category_id", "status", "kind", "channel", "team_id", "neighborhood_id")


class ViewportCount(models.Model):
    """How many public pins lie in each H3 cell (resolutions 7, 8 and 9), per value of each
    filter the map's viewport API can apply (category, status, kind, channel, team,
    neighborhood): the clusters' counts kept on write, so a map move reads a few thousand
    summary rows instead of counting every pin in view (mapideas.map.viewport).

    Written only by database triggers on mapideas_idea (migration 0013), in the transaction
    of the write, whatever wrote it: the services, the admin, bulk updates, imports,
    re-routing, moderation, raw SQL. Never write it from Python. Counts are for PUBLIC_PINS
    only. `cell` 0 holds the pins without a stored cell (raw SQL), `neighborhood_id` 0 the
    pins outside every neighborhood. Rows whose count fell to 0 are kept (no churn)."""

    resolution = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField()
    category_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    kind = models.CharField(max_length=10)
    channel = models.CharField(max_length=10)
    team_id = models.BigIntegerField()
    neighborhood_id = models.BigIntegerField()
    n = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resolution", "cell", *VIEWPORT_COUNT_FILTERS],
                name="viewportcount_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.n} pins in {self.cell:x} (res {self.resolution})"


class ViewportCellCount(models.Model):
    """How many public pins lie in each H3 cell, whatever their category, status, kind,
    channel, team or neighborhood: what the map without filters reads (mapideas.map.viewport).
    ViewportCount splits a cell into some 70 rows (one per combination of the filters' values
    among its pins), so an unfiltered zoom-13 view of a 1M-pin city read 143,000 of them to
    add up 2,000 cells; here it reads the 2,000.

    Kept by the same triggers as ViewportCount (migration 0015), in the same transaction.
    Never write it from Python. `cell` 0 holds the pins without a stored cell."""

    resolution = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField()
    n = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resolution", "cell"], name="viewportcellcount_key"),
        ]

    def __str__(self) -> str:
        return f"{self.n} pins in {self.cell:x} (res {self.resolution})"


class RateLimitCounter(models.Model):
    """How many requests one client made in one window of one rate limit
    (mapideas.plumbing.ratelimit): the counters' own table, so nothing else stored can evict
    them (docs/decisions/0015-rate-limit-counters.md).

    A window is fixed: it starts at a multiple of its period (epoch seconds) and ends at
    `window_end`, however often it is hit. `identity` is a keyed hash (of an IP address, an
    account or an account name tried), never the value. Written only by one atomic upsert
    in mapideas.plumbing.rate_counters (SQL: plumbing imports no model), which also deletes
    the windows that have ended, and registers the check of a Redis store."""

    bucket = models.CharField(max_length=100)
    identity = models.CharField(max_length=64)
    window_start = models.BigIntegerField()
    window_end = models.BigIntegerField()
    hits = models.BigIntegerField()

    class Meta:
        db_table = rate_counters.COUNTER_TABLE
        constraints = [
            # The upsert's conflict target: one row per client, limit and window.
            models.UniqueConstraint(
                fields=["bucket", "identity", "window_start", "window_end"],
                name="ratelimitcounter_key",
            ),
        ]
        # The purge of the windows that have ended.
        indexes = [models.Index(fields=["window_end"], name="ratelimitcounter_end")]

    def __str__(self) -> str:
        return f"{self.hits} hits in {self.bucket} until {self.window_end}"


# --- "Is it really fixed?": residents' verdicts on closed pins ------------------------------

FEEDBACK_NOTE_MAX_LENGTH = 1000


class FixFeedback(models.Model):
    """One person's verdict on a closed pin: the fix is confirmed, or the problem is still
    there (a dispute, with a note and maybe a photo). mapideas.outcomes writes them.

    One per person per closure of the pin (`closed_at`, Idea.closed_at when given): a person
    is a verified address, kept only as a keyed hash (`person_hash`): an account's address
    verified at sign-up, an address that followed the link emailed to it, or the address an
    "Is it fixed?" email reached. Disputes land in the pin team's check queue; `ip_hash`
    makes several from one network within the window count once towards reopening.
    The note and the photo are for the team; the public sees counts (Idea.dispute_count)."""

    class Verdict(models.TextChoices):
        FIXED = "fixed", _("Fixed")
        STILL_THERE = "still_there", _("Still there")

    class Source(models.TextChoices):
        FIX_CHECK = "fix_check", _("Answer to “Is it fixed?”")
        PIN_PAGE = "pin_page", _("The pin's page")
        API = "api", _("API")

    class Decision(models.TextChoices):
        PENDING = "", _("Waiting for the team")
        REOPENED = "reopened", _("Reopened")
        KEPT_CLOSED = "kept_closed", _("Kept closed")
        # Moderation: abusive or spam, it no longer counts.
        DISMISSED = "dismissed", _("Dismissed as abuse")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="fix_feedback")
    closed_at = models.DateTimeField()
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    note = models.TextField(
        blank=True, default="", validators=[MaxLengthValidator(FEEDBACK_NOTE_MAX_LENGTH)]
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    # Personal data, never public. A signed-in person's account, else the address a
    # confirmation link goes to ("" once confirmed: the hash is what is kept).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    email = models.EmailField(blank=True, default="")
    person_hash = models.CharField(max_length=64)
    ip_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # None until the address is confirmed by the link sent to it: until then it is not
    # counted, not in the queue, not public.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # The team's decision on a dispute (its check queue), when and who (staff only).
    decision = models.CharField(
        max_length=12, choices=Decision.choices, blank=True, default="", db_default=""
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["idea", "closed_at", "person_hash"], name="fix_feedback_one_per_person"
            ),
        ]
        indexes = [
            models.Index(fields=["idea", "closed_at"], name="fix_feedback_idea_closure"),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} on {self.idea_id}"


class FixCheck(models.Model):
    """One "Is it fixed?" question emailed about a closed pin to one person (its author or
    a follower): asked once per person per pin, ever. The email's links carry a random token
    (only its SHA-256 is kept here), single-use and expiring, naming no one."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="fix_checks")
    # keyed_hash of the address asked, the same as FixFeedback.person_hash for that address.
    person_hash = models.CharField(max_length=64)
    # The account asked, when the address is an account's (personal data, staff only).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    closed_at = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idea", "person_hash"], name="fix_check_once_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"fix check of {self.idea_id}"


class TimelinePhoto(models.Model):
    """A photo on a pin's story besides the pin's own (IdeaPhoto): before and after photos of
    a team's public answer (public), or a resident's photo of a dispute (for the team).
    Checked, re-encoded and stripped as citizens' photos are (mapideas.pins.photos)."""

    class Role(models.TextChoices):
        BEFORE = "before", _("Before")
        AFTER = "after", _("After")
        DISPUTE = "dispute", _("Still there")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="timeline_photos")
    update = models.ForeignKey(
        IdeaUpdate, on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    feedback = models.ForeignKey(
        FixFeedback, on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    name = models.CharField(max_length=100, unique=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set by moderators to withdraw the photo from view.
    hidden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(update__isnull=False) & models.Q(feedback__isnull=True))
                | (models.Q(update__isnull=True) & models.Q(feedback__isnull=False)),
                name="timeline_photo_of_one_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} photo of idea {self.idea_id}"


# --- Answers quick to give: a team's response templates --------------------------------------

RESPONSE_TEMPLATE_NAME_MAX_LENGTH = 100


class ResponseTemplate(models.Model):
    """A team's ready answer, for one category or any, in each site language, with
    placeholders ({place}, {team}, {target_days}, ...) filled from the pin when it is used
    (mapideas.answers). With `status`, it is the answer given automatically when the team
    sets that status without writing one."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="response_templates")
    # None: for any category.
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=RESPONSE_TEMPLATE_NAME_MAX_LENGTH)
    # {language code: text} for the codes of settings.LANGUAGES; at least the site's own.
    texts = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=Idea.Status.choices, blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="response_template_name"),
        ]

    def __str__(self) -> str:
        return self.name


class VerifiedAddress(models.Model):
    """An account's email address, proved by its owner: the account was activated from the
    link emailed to it at sign-up (mapideas.accounts.services.signup_confirm). Accounts made
    by staff have none. It holds while the account's address is still this one, so changing
    the address drops the proof. A verified address is one person to mapideas.outcomes (one
    verdict per closure of a pin)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verified_addresses"
    )
    # Personal data, never public: as the account held it when it was verified.
    email = models.EmailField()
    verified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="verified_address_once"),
        ]

    def __str__(self) -> str:
        return f"verified address of user {self.user_id}"


# --- Webhooks: signed JSON POSTs to the city's systems, in order per pin ---------------------


class WebhookEndpoint(models.Model):
    """A URL that staff registered to receive a signed JSON POST for each pin event it
    subscribes to (mapideas.webhooks). Its signing secret is not stored: it is derived from
    `secret_salt` and the site's SECRET_KEY (mapideas.webhooks.services.endpoint_secret),
    shown once when made or rotated."""

    class Event(models.TextChoices):
        CREATED = "pin.created", _("A pin is created")
        STATUS_CHANGED = "pin.status_changed", _("A pin's status changes")
        ANSWERED = "pin.answered", _("A pin gets a public answer")

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    # Event values (Event) this endpoint receives.
    events = models.JSONField(default=list)
    # Random; with SECRET_KEY it gives the signing secret. A new salt is a new secret.
    secret_salt = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The receiver's back-off: set when it could not be reached, timed out or answered 5xx or
    # 429 (its deliveries wait until retry_at, in order), cleared by its next success.
    failing_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One POST to one endpoint, in the delivery queue: written in the transaction of the
    event it tells, sent by `manage.py send_webhooks` after the commit, retried without end
    (with a back-off) until the receiver answers 2xx. A pin's deliveries to an endpoint go in
    the order of their ids: a later one waits while an earlier one is pending. The body is
    kept as sent, so every attempt signs and sends the same bytes."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # None for a test delivery. A pin erased takes its deliveries with it.
    idea = models.ForeignKey(
        Idea, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    event = models.CharField(max_length=40)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A sender took it until then (its lease): no other sender takes it meanwhile; a sender
    # killed mid-POST leaves it to be sent again once the lease ends (at least once).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # The receiver's HTTP status of the last attempt; None if it gave none.
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # send_webhooks: the pending head of each (endpoint, pin), oldest first.
            models.Index(
                fields=["endpoint", "idea", "id"],
                condition=models.Q(delivered_at__isnull=True),
                name="webhook_pending",
            ),
            # The delivery log of an endpoint, newest first.
            models.Index(fields=["endpoint", "-id"], name="webhook_log"),
        ]

    def __str__(self) -> str:
        state = "delivered" if self.delivered_at else "pending"
        return f"{self.event} to endpoint {self.endpoint_id} ({state})"


# --- The staff's audit log ---------------------------------------------------------------------


class AuditEvent(models.Model):
    """One staff action, as it was taken: who (the account, and its username as it was then),
    what, on which pin or team, and a one-line summary. Written by the service of the action,
    in its transaction (mapideas.audit.services.audit_record); read and exported by planners
    and administrators (/staff/audit/). Never public: staff usernames are personal data."""

    class Action(models.TextChoices):
        STATUS = "status", _("Status change")
        ANSWER = "answer", _("Public answer")
        DUPLICATE = "duplicate", _("Merge of duplicates")
        ASSIGNMENT = "assignment", _("Assignment")
        REASSIGNMENT = "reassignment", _("Sent to another team")
        MODERATION = "moderation", _("Moderation decision")
        TEMPLATE = "template", _("Response template")
        BOUNDARIES = "boundaries", _("Boundaries switched")
        WEBHOOK = "webhook", _("Webhook configuration")
        HANDOFF = "handoff", _("Hand-off to an outside body")
        BACKOFFICE = "backoffice", _("Back-office forwarding")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # SET_NULL: the log outlives the account; actor_name keeps who it was.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=20, choices=Action.choices)
    # The pin's number is kept as a number: the log outlives an erased pin.
    idea_number = models.PositiveIntegerField(null=True, blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.CharField(max_length=500)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["action", "-created_at"], name="audit_by_action")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or '-'}: {self.summary}"


# --- Pins handed to an outside body (mapideas.handoffs) -----------------------------------------


class Handoff(models.Model):
    """A pin handed by its team to a body with no account (a utility, a contractor, another
    agency). The body works through a page reached by an emailed link, /handoffs/<id>/<token>/:
    the id and a random token, of which only a keyed hash is kept (token_hash). The body's
    name is public (the timeline's "Handed to ..."); its address and the team's message are
    never. The team reviews the body's report before the pin's public status changes."""

    class State(models.TextChoices):
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REPORTED = "reported", _("Work reported done")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Sent back")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="handoffs")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    body_name = models.CharField(max_length=120)
    body_email = models.EmailField()
    message = models.TextField(blank=True, default="")
    token_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENT)
    body_comment = models.TextField(blank=True, default="")
    # The body's after-photo, checked and stored as citizens' photos are (pins.photos); kept
    # here until the team approves, then it goes with the answer as its "after" photo.
    photo_name = models.CharField(max_length=100, blank=True, default="")
    photo_width = models.PositiveIntegerField(default=0)
    photo_height = models.PositiveIntegerField(default=0)
    photo_bytes = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"pin {self.idea_id} handed to {self.body_name} ({self.state})"


# --- Pins forwarded to the city's back office (mapideas.backoffice) --------------------------


class BackofficeEndpoint(models.Model):
    """A city work-order system that speaks Open311 GeoReport v2, where a team's pins (or the
    team's pins of one category) are forwarded and whose answers come back to the map.

    The API key is a secret: named as an environment variable (api_key_env), or encrypted at
    rest with a key derived from SECRET_KEY (api_key_encrypted); never shown after entry."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    # Only the team's pins of this category; None: the team's pins no other endpoint takes.
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    # The GeoReport v2 base: <base_url>services.json, <base_url>requests.json ...
    base_url = models.URLField(max_length=2000)
    jurisdiction_id = models.CharField(max_length=200, blank=True, default="")
    api_key_env = models.CharField(max_length=100, blank=True, default="")
    api_key_encrypted = models.TextField(blank=True, default="")
    # Category slug -> the remote's service_code (read from its services.json).
    service_codes = models.JSONField(default=dict, blank=True)
    # service_code -> {attribute code: value}: the required attributes of the remote's
    # service definitions that a pin does not fill.
    attribute_values = models.JSONField(default=dict, blank=True)
    # The remote's status -> a pin status (closed -> done when not said).
    status_map = models.JSONField(default=dict, blank=True)
    # The remote's services.json as last read, each with its required attribute codes.
    services = models.JSONField(default=list, blank=True)
    services_read_at = models.DateTimeField(null=True, blank=True)
    # Its requests.json can be searched by service code and time window: after a time-out, a
    # request that may have arrived is looked for there before it is posted again. When not,
    # such a pin is held for staff to check instead.
    searchable = models.BooleanField(default=True)
    # How long the remote may take to list a request it stored (seconds): a request not found
    # is looked for once more after this before it is posted again.
    listing_delay = models.PositiveIntegerField(default=600)
    # FixMyStreet's servicerequestupdates.json is offered: updates are read from it too.
    reads_updates = models.BooleanField(default=False)
    # Pins created from then on are forwarded (not those from before it was set up).
    forward_from = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Back-off of the whole endpoint (unreachable, time-outs, 5xx, 429), cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_status_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "category"],
                condition=models.Q(category__isnull=False),
                name="backoffice_one_per_team_category",
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=models.Q(category__isnull=True),
                name="backoffice_one_per_team",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BackofficeForward(models.Model):
    """One pin at one back office, and where it stands: the forwarding queue's row.

    It is written in the transaction that routes the pin to a team with a back office, and
    `manage.py sync_backoffice` moves it on: queued -> sending -> forwarded (or token ->
    forwarded). A POST that may have reached the remote without an answer (a time-out, a
    worker killed) makes it uncertain: it is searched for on the remote before it is posted
    again, or held for staff where the remote cannot be searched. Never dropped: a row only
    leaves the queue as forwarded, held for staff, or left behind when its pin moved."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        UNCERTAIN = "uncertain", _("May have arrived: being checked")
        TOKEN = "token", _("Received, waiting for its number")
        FORWARDED = "forwarded", _("Forwarded")
        HELD = "held", _("Held for staff to check")
        LEFT = "left", _("Left at this back office: the pin moved")

    endpoint = models.ForeignKey(
        BackofficeEndpoint, on_delete=models.CASCADE, related_name="forwards"
    )
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="forwards")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    service_code = models.CharField(max_length=200, blank=True, default="")
    remote_id = models.CharField(max_length=200, blank=True, default="")
    token = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker holds it until then (its lease); a worker killed leaves it to run out.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the last POST began (the search window after a time-out starts there).
    posted_at = models.DateTimeField(null=True, blank=True)
    # When a search first did not find it (it is looked for once more listing_delay later).
    not_found_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    held_reason = models.TextField(blank=True, default="")
    # The last exchange with the remote about it, and the remote's updated_datetime and
    # status as last applied to the pin (an older remote state never undoes a later one).
    last_exchange_at = models.DateTimeField(null=True, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    remote_status = models.CharField(max_length=50, blank=True, default="")
    remote_notes = models.TextField(blank=True, default="")
    # The citizen's name and email went with it (their consent): an erasure is passed on.
    sent_contact = models.BooleanField(default=False)
    erasure_requested_at = models.DateTimeField(null=True, blank=True)
    erasure_done_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # Staff closed the request left behind on the back office (it cannot be withdrawn).
    left_closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "idea"], name="backoffice_forward_once")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="backoffice_due"),
            models.Index(fields=["endpoint", "state", "id"], name="backoffice_by_state"),
            # The staff pages' erasures to do at each back office.
            models.Index(
                fields=["endpoint"],
                condition=models.Q(
                    erasure_requested_at__isnull=False, erasure_done_at__isnull=True
                ),
                name="backoffice_erasure_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"pin {self.idea_id} at {self.endpoint_id} ({self.state})"
