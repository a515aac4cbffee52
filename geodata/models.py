"""The place gazetteer: street and place names the city imports (manage.py import_places),
searched with the neighborhood names by GET /api/places/ (geodata.places) so that the map can
go to a place by name without any service outside the city's own server."""

from django.contrib.gis.db import models


class Place(models.Model):
    name = models.CharField(max_length=200)
    # mapideas.plumbing.text.normalise(name): lowercase, accents folded. Matching compares this
    # column
    # with the normalised query, so "Rue de l'Église" is found by "eglise".
    name_normalized = models.CharField(max_length=200, db_index=True)
    kind = models.CharField(max_length=40, default="place")
    # A point on the feature (on a street's line, inside a square's polygon): where the map
    # centres on a small place.
    point = models.PointField(srid=4326)
    # The feature's bounding box in EPSG:4326, which the map fits (a long street is wider than
    # any fixed zoom around its point).
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    # The imported file's name: importing the same file again replaces its places.
    source = models.CharField(max_length=200, db_index=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
