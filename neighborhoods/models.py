"""Neighborhood polygons and the district teams that answer for them.

This app knows places and teams, never pins: ideas point at neighborhoods, not the reverse.
"""

from django.conf import settings
from django.contrib.gis.db import models


class Team(models.Model):
    """A district team: the people who triage and answer what lands in their area."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Neighborhood(models.Model):
    """One polygon (or several, for islands) of the city, owned by one team."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="neighborhoods")
    population = models.PositiveIntegerField(null=True, blank=True)
    # WGS84, exterior rings counter-clockwise (normalised at import, as RFC 7946 wants).
    geometry = models.MultiPolygonField(srid=4326)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
