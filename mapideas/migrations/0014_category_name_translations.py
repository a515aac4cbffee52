"""Category names in each language (issue 9): `name_translations` next to `name`, and the
starting categories of 0002 translated into the site's languages, unless staff renamed them."""

from django.conf import settings
from django.db import migrations, models

# The starting categories (0002_default_categories) in each language we ship.
DEFAULT_NAMES = {
    "streets-sidewalks": {
        "en": "Streets and sidewalks",
        "fr": "Rues et trottoirs",
        "nl": "Straten en stoepen",
    },
    "traffic-transit-cycling": {
        "en": "Traffic, transit and cycling",
        "fr": "Circulation, transports en commun et vélo",
        "nl": "Verkeer, openbaar vervoer en fietsen",
    },
    "parks-green-space": {
        "en": "Parks and green space",
        "fr": "Parcs et espaces verts",
        "nl": "Parken en groen",
    },
    "litter-graffiti-waste": {
        "en": "Litter, graffiti and waste",
        "fr": "Déchets, graffitis et propreté",
        "nl": "Zwerfvuil, graffiti en afval",
    },
    "lighting-safety": {
        "en": "Lighting and safety",
        "fr": "Éclairage et sécurité",
        "nl": "Verlichting en veiligheid",
    },
    "housing-buildings": {
        "en": "Housing and buildings",
        "fr": "Logement et bâtiments",
        "nl": "Wonen en gebouwen",
    },
    "community-culture": {
        "en": "Community life and culture",
        "fr": "Vie de quartier et culture",
        "nl": "Buurtleven en cultuur",
    },
    "other": {"en": "Something else", "fr": "Autre chose", "nl": "Iets anders"},
}


def translate_default_categories(apps, schema_editor) -> None:
    """Name each untouched starting category in the site's language (`name`) and the others
    (`name_translations`)."""
    Category = apps.get_model("mapideas", "Category")
    languages = [code for code, _ in settings.LANGUAGES]
    default = settings.LANGUAGE_CODE
    for category in Category.objects.filter(slug__in=DEFAULT_NAMES):
        names = DEFAULT_NAMES[category.slug]
        if category.name != names["en"] or category.name_translations:
            continue  # renamed or translated by staff: theirs
        if default in names:
            category.name = names[default]
        category.name_translations = {
            code: names[code] for code in languages if code != default and code in names
        }
        category.save(update_fields=["name", "name_translations"])


class Migration(migrations.Migration):
    dependencies = [("mapideas", "0013_viewport_counts")]

    operations = [
        migrations.AddField(
            model_name="category",
            name="name_translations",
            field=models.JSONField(
                blank=True, default=dict, null=True, verbose_name="name in other languages"
            ),
        ),
        migrations.RunPython(translate_default_categories, migrations.RunPython.noop),
    ]
