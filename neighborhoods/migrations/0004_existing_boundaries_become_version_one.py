"""Neighborhoods imported before versioning become the first, active boundary version; their
geodesic areas are computed; the city-wide triage team is created."""

import shapely
from django.db import migrations
from pyproj import Geod


def forwards(apps, schema_editor):
    BoundaryVersion = apps.get_model("neighborhoods", "BoundaryVersion")
    Neighborhood = apps.get_model("neighborhoods", "Neighborhood")
    Team = apps.get_model("neighborhoods", "Team")
    if not Team.objects.filter(is_triage=True).exists():
        Team.objects.get_or_create(
            slug="city-wide-triage", defaults={"name": "City-wide triage", "is_triage": True}
        )
    unversioned = Neighborhood.objects.filter(version__isnull=True)
    if not unversioned.exists():
        return
    version = BoundaryVersion.objects.create(
        label="Boundaries imported before versioning", is_active=True
    )
    geod = Geod(ellps="WGS84")
    shapes = []
    for neighborhood in unversioned:
        shape = shapely.from_wkb(bytes(neighborhood.geometry.wkb))
        shapes.append(shape)
        neighborhood.area_m2 = abs(geod.geometry_area_perimeter(shape)[0])
        neighborhood.version = version
        neighborhood.save(update_fields=["area_m2", "version"])
    # No buffer here (that needs the settings of a running site): the next import sets it.
    union = shapely.union_all(shapes)
    if isinstance(union, shapely.Polygon):
        union = shapely.MultiPolygon([union])
    from django.contrib.gis.geos import GEOSGeometry

    version.service_area = GEOSGeometry(memoryview(shapely.to_wkb(union)), srid=4326)
    version.save(update_fields=["service_area"])


class Migration(migrations.Migration):
    dependencies = [("neighborhoods", "0003_boundary_versions")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
