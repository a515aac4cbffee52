"""Neighborhood polygons, their versions, and the district teams that answer for them.

This app knows places and teams, never pins: ideas point at neighborhoods, not the reverse.
Boundaries are versioned (as mapit does with generations): an import creates a new version
next to the active one, and routing only ever sees the active version. Old versions are kept,
so a pin's history can always say which polygon it was routed by.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models import Q

from neighborhoods.translated_names import translated_name


class Team(models.Model):
    """A district team: the people who triage and answer what lands in their area."""

    name = models.CharField(max_length=200, unique=True)
    # The name in the site's other languages (neighborhoods.translated_names), set by staff.
    # NULL allowed so rows written by raw SQL (imports, the bench's builder) need not name it.
    name_translations = models.JSONField(
        "name in other languages", default=dict, blank=True, null=True
    )
    slug = models.SlugField(max_length=200, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    # The city-wide team that receives pins inside the service area but outside every
    # neighborhood (gaps between polygons, the buffer along the city limit).
    is_triage = models.BooleanField(default=False)
    # The response-time commitment: a pin gets its first answer (a status change away from
    # "new", or a public answer) within this many working days (neighborhoods.calendars: the
    # team's working week, without the city's and its own holidays), or it is overdue.
    response_target_days = models.PositiveSmallIntegerField(
        "response target (working days)",
        default=5,
        db_default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="First answer due within this many working days (the team's working week, "
        "holidays excepted).",
    )

    class Notify(models.TextChoices):
        NONE = "none", "No email"
        EACH = "each", "An email for each new pin"
        DAILY = "daily", "A daily digest of new pins"

    # How the team hears of new pins routed to it (mapideas.notifications): an email each, or
    # a daily digest (`send_notifications --digest`), to notify_email.
    notify = models.CharField(
        "email about new pins",
        max_length=10,
        choices=Notify.choices,
        default=Notify.NONE,
        db_default=Notify.NONE,
    )
    notify_email = models.EmailField(
        "team email",
        blank=True,
        default="",
        db_default="",
        help_text="Where new-pin emails go (a shared mailbox; nothing is sent without one).",
    )
    # The end of the period the last daily digest covered: the next one starts there.
    digest_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # "Is it fixed?" (mapideas.outcomes): this many days after a pin is marked done, its
    # author and followers are asked once whether it is. None: the team asks nobody.
    fix_check_days = models.PositiveSmallIntegerField(
        "ask “is it fixed?” after (days)",
        null=True,
        blank=True,
        default=7,
        db_default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days after a pin is marked done; empty: never ask.",
    )
    # Disputes of a closed pin (mapideas.outcomes): this many distinct people saying "still
    # there" within reopen_window_days reopen it without staff. 0: the team always decides.
    reopen_threshold = models.PositiveSmallIntegerField(
        "people disputing that reopen a pin",
        default=3,
        db_default=3,
        validators=[MaxValueValidator(1000)],
        help_text="Distinct people saying a closed pin's problem is still there; 0: never "
        "reopen automatically, the team decides.",
    )
    reopen_window_days = models.PositiveSmallIntegerField(
        "within (days)",
        default=30,
        db_default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="The disputes counted towards reopening are those of the last this many days.",
    )
    # The team's working week, Monday first, "1" for a working day (numpy.busday_count's
    # weekmask): with the city's holidays (Holiday), the calendar that working days are
    # counted in (neighborhoods.calendars).
    working_weekdays = models.CharField(
        "working days of the week",
        max_length=7,
        default="1111100",
        db_default="1111100",
        validators=[
            RegexValidator(
                r"^(?=.*1)[01]{7}$",
                "Seven 0s and 1s, Monday first, with at least one working day (1111100: "
                "Monday to Friday).",
            )
        ],
        help_text="Seven 0s and 1s, Monday first: 1111100 is Monday to Friday.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the active language (staff's translation), else `name`."""
        return translated_name(self.name, self.name_translations)


class Holiday(models.Model):
    """A day the city's offices are closed: not a working day for any team (or, with `team`
    set, for that team only). Working days are counted in neighborhoods.calendars."""

    date = models.DateField()
    name = models.CharField(max_length=200)
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        related_name="holidays",
        null=True,
        blank=True,
        help_text="Empty: a holiday for the whole city.",
    )

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["date"], condition=Q(team__isnull=True), name="one_city_holiday_per_day"
            ),
            models.UniqueConstraint(fields=["date", "team"], name="one_team_holiday_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}"


class BoundaryVersion(models.Model):
    """One complete set of neighborhood polygons, as imported from one file."""

    label = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=False)
    # The union of the neighborhoods grown by MAPIDEAS_SERVICE_AREA_BUFFER_M: pins inside it
    # but outside every neighborhood go to the triage team; pins outside it are refused.
    service_area = models.MultiPolygonField(srid=4326, null=True, blank=True)
    # What the import reported (repairs, merges, overlaps and gaps with their areas).
    report = models.TextField(blank=True)
    # Total area where two neighborhoods overlap, and of the holes between them (m²). Re-routing
    # recomputes "also in their area" only when there are overlaps.
    overlap_area_m2 = models.FloatField(default=0)
    gap_area_m2 = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="one_active_boundary_version",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.label}{' (active)' if self.is_active else ''}"


class Neighborhood(models.Model):
    """One polygon (or several, for islands) of the city in one boundary version."""

    version = models.ForeignKey(
        BoundaryVersion, on_delete=models.PROTECT, related_name="neighborhoods"
    )
    name = models.CharField(max_length=200)
    # Stable across versions (derived from the name): how a neighborhood is followed through
    # redrawn boundaries, and how category rules name neighborhoods.
    slug = models.SlugField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="neighborhoods")
    population = models.PositiveIntegerField(null=True, blank=True)
    # Other area attributes declared at import_population (median income, share of renters...):
    # {name: number}. Area-level figures, about the neighborhood, never about a person.
    attributes = models.JSONField(default=dict, blank=True, db_default={})
    # Where polygons overlap, the highest priority owns the pin; then the smallest area.
    priority = models.SmallIntegerField(default=0)
    # Geodesic area, computed at import: the tie-breaker for overlaps, and per-km² rates.
    area_m2 = models.FloatField(default=0)
    # WGS84, exterior rings counter-clockwise (normalised at import, as RFC 7946 wants).
    geometry = models.MultiPolygonField(srid=4326)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "slug"], name="neighborhood_slug_per_version"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CategoryRule(models.Model):
    """Send one category to a given team, city-wide or within named neighborhoods.

    The category is named by its slug: this app knows nothing of the ideas domain. Rules
    override the neighborhood's own team, for new pins and on every re-route.
    """

    category = models.SlugField(max_length=100, help_text="slug of the category")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="category_rules")
    neighborhood_slugs = models.TextField(
        blank=True,
        help_text="Neighborhood slugs, one per line or comma-separated; empty means city-wide.",
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["category", "id"]

    def __str__(self) -> str:
        where = ", ".join(self.slugs) or "city-wide"
        return f"{self.category} → {self.team} ({where})"

    @property
    def slugs(self) -> list[str]:
        parts = self.neighborhood_slugs.replace(",", "\n").split("\n")
        return [p.strip() for p in parts if p.strip()]
