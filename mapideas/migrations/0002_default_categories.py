"""A starting set of categories, so a new city can take pins at once. Staff can rename,
reorder or add categories in the admin."""

from django.db import migrations

DEFAULT_CATEGORIES = [
    ("streets-sidewalks", "Streets and sidewalks"),
    ("traffic-transit-cycling", "Traffic, transit and cycling"),
    ("parks-green-space", "Parks and green space"),
    ("litter-graffiti-waste", "Litter, graffiti and waste"),
    ("lighting-safety", "Lighting and safety"),
    ("housing-buildings", "Housing and buildings"),
    ("community-culture", "Community life and culture"),
    ("other", "Something else"),
]


def create_categories(apps, schema_editor):
    Category = apps.get_model("mapideas", "Category")
    for position, (slug, name) in enumerate(DEFAULT_CATEGORIES):
        Category.objects.get_or_create(slug=slug, defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("mapideas", "0001_initial")]

    operations = [migrations.RunPython(create_categories, migrations.RunPython.noop)]
