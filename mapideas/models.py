"""Ideas and issues that citizens pin on the map."""

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxLengthValidator
from django.urls import reverse
from django.utils import timezone

from neighborhoods.models import Neighborhood, Team

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 5000


class Category(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Idea(models.Model):
    """A pin: an idea for the city or an issue to fix, routed to a team when it is created."""

    class Kind(models.TextChoices):
        IDEA = "idea", "Idea"
        ISSUE = "issue", "Issue"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        UNDER_REVIEW = "under_review", "Under review"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DECLINED = "declined", "Declined"
        DUPLICATE = "duplicate", "Duplicate"

    class Channel(models.TextChoices):
        """How the input reached the city: online, or gathered offline and entered by staff."""

        WEB = "web", "Web map"
        API = "api", "API"
        PAPER = "paper", "Paper form"
        EVENT = "event", "Meeting or workshop"
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        KIOSK = "kiosk", "Kiosk"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(
        blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="ideas")
    location = models.PointField(srid=4326)
    # Set by routing at creation, never taken from the client.
    neighborhood = models.ForeignKey(Neighborhood, on_delete=models.PROTECT, related_name="ideas")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="ideas")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The team workspace lists a team's pins newest first.
            models.Index(fields=["team", "-created_at"], name="idea_team_newest"),
            # The public map and exports page by newest first.
            models.Index(fields=["-created_at"], name="idea_newest"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("idea-detail", args=[self.pk])
