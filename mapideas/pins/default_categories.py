"""The starting set of categories, so a new city can take pins at once, named in each language
we ship. Staff can rename, translate, reorder or add categories in the admin.

Migrations 0002 (the categories) and 0014 (their names in each language) wrote them into every
installation, each from its own frozen copy of this data. default_categories_create() writes
the same rows again where they are missing, as after the flush that ends a transactional test.
"""

from django.conf import settings

from mapideas.models import Category

# Slug: the name in each language, in the order of `position`.
DEFAULT_CATEGORIES: dict[str, dict[str, str]] = {
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


def default_categories_create() -> None:
    """Create the starting categories that are missing, and name each untouched one in the
    site's language (`name`) and the others (`name_translations`); categories staff renamed
    or translated keep their names."""
    languages = [code for code, _ in settings.LANGUAGES]
    default = settings.LANGUAGE_CODE
    for position, (slug, names) in enumerate(DEFAULT_CATEGORIES.items()):
        category, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": names["en"], "position": position}
        )
        if category.name != names["en"] or category.name_translations:
            continue  # renamed or translated by staff: theirs
        if default in names:
            category.name = names[default]
        category.name_translations = {
            code: names[code] for code in languages if code != default and code in names
        }
        category.save(update_fields=["name", "name_translations"])
