"""Response templates: what a saved template may hold, and how it renders on a pin in the
pin's language with every placeholder filled (mapideas.answers.services)."""

import itertools

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from mapideas.answers import selectors
from mapideas.answers.services import (
    PLACEHOLDER_MAX_LENGTHS,
    PLACEHOLDERS,
    template_delete,
    template_render,
    template_save,
)
from mapideas.models import ANSWER_MAX_LENGTH, TITLE_MAX_LENGTH, Category, ResponseTemplate
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_EMPTY_HOLE

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in settings.LANGUAGES]


@pytest.fixture
def pin(city, category):
    city.east_team.name_translations = {"fr": "Équipe Est", "nl": "Team Oost"}
    city.east_team.response_target_days = 7
    city.east_team.save()
    category.name_translations = {"fr": "Parcs", "nl": "Parken"}
    category.save()
    return idea_create(
        kind="issue",
        title="Swing <b>broken</b> & {title}",
        category=category,
        location=IN_EAST,
        language="fr",
    )


def save(team, actor, **overrides):
    given = {"name": "Thanks", "texts": {"en": "Thank you for pin #{pin_number}."}}
    return template_save(team=team, actor=actor, **(given | overrides))


def field_errors(exc: pytest.ExceptionInfo) -> dict:
    return exc.value.message_dict


def test_a_template_renders_in_the_pins_language_with_every_value(city, east_member, pin):
    template = save(
        city.east_team,
        east_member,
        texts={
            "en": "{team}: pin #{pin_number} in {place} ({category}) is {status}.",
            "fr": "{team} : le signalement n°{pin_number} à {place} ({category}) est {status}.",
        },
    )

    french = template_render(template, pin, "fr")
    dutch = template_render(template, pin, "nl")  # no Dutch text: the site's, in Dutch

    assert french == f"Équipe Est : le signalement n°{pin.pk} à East Side (Parcs) est Nouveau."
    assert dutch == f"Team Oost: pin #{pin.pk} in East Side (Parken) is Nieuw."
    # Rendering does not change the caller's language.
    assert translation.get_language() == settings.LANGUAGE_CODE


def test_the_pins_text_is_inserted_as_plain_text_never_as_a_placeholder(city, east_member, pin):
    template = save(city.east_team, east_member, texts={"en": "“{title}” ({target_days} days)"})

    assert template_render(template, pin, "en") == "“Swing <b>broken</b> & {title}” (7 days)"


def test_a_pin_between_neighborhoods_is_placed_by_its_coordinates(city, planner, category):
    gap = idea_create(kind="issue", title="Hole", category=category, location=IN_EMPTY_HOLE)
    template = save(gap.team, planner, texts={"en": "At {place}."})

    assert template_render(template, gap, "en") == "At 50.00700, 4.00700."


@pytest.mark.parametrize(
    ("placeholder", "language"), list(itertools.product(PLACEHOLDERS, LANGUAGES))
)
def test_no_placeholder_is_left_unfilled(city, east_member, pin, placeholder, language):
    text = "[{" + placeholder + "}]"
    template = save(city.east_team, east_member, texts=dict.fromkeys(LANGUAGES, text))

    rendered = template_render(template, pin, language)

    assert rendered.startswith("[") and rendered.endswith("]")
    assert "{" + placeholder + "}" not in rendered.replace("{title}", "")
    assert len(rendered) > 2


def test_a_text_filled_with_the_longest_values_still_fits_an_answer(city, east_member, pin):
    pin.title = "T" * TITLE_MAX_LENGTH
    longest = sum(PLACEHOLDER_MAX_LENGTHS.values())
    text = "".join("{" + p + "}" for p in PLACEHOLDERS)
    text = text * (ANSWER_MAX_LENGTH // longest)
    template = save(city.east_team, east_member, texts={"en": text})

    assert len(template_render(template, pin, "en")) <= ANSWER_MAX_LENGTH


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Hello {name}.", "{name}"),
        ("Hello {Place}.", "{Place}"),
        ("Hello {title!r}.", "{title!r}"),
        ("Hello {title:>30}.", "{title:>30}"),
        ("Hello {0}.", "{0}"),
        ("Hello {}.", "{}"),
    ],
)
def test_an_unknown_placeholder_is_refused_naming_the_field_and_the_placeholder(
    city, east_member, text, named
):
    with pytest.raises(ValidationError) as exc:
        save(city.east_team, east_member, texts={"en": "Fine.", "fr": text})

    assert named in " ".join(field_errors(exc)["texts_fr"])
    assert not ResponseTemplate.objects.exists()


@pytest.mark.parametrize("text", ["Hello {place.", "Hello place}.", "{{place}", "a } b"])
def test_an_unpaired_brace_is_refused(city, east_member, text):
    with pytest.raises(ValidationError) as exc:
        save(city.east_team, east_member, texts={"en": text})

    assert "brace" in " ".join(field_errors(exc)["texts_en"])


def test_doubled_braces_are_braces(city, east_member, pin):
    template = save(
        city.east_team, east_member, texts={"en": "{{not a placeholder}} #{pin_number}"}
    )

    assert template_render(template, pin, "en") == f"{{not a placeholder}} #{pin.pk}"


@pytest.mark.parametrize(
    ("texts", "field"),
    [
        ({"fr": "Merci."}, "texts_en"),  # the site's language is required
        ({"en": "   "}, "texts_en"),
        ({"en": "Bad \x00 char"}, "texts_en"),
        ({"en": "Fine.", "nl": "Slecht \ufffe teken"}, "texts_nl"),
        ({"en": "x" * (ANSWER_MAX_LENGTH + 1)}, "texts_en"),
        ({"en": "{title}" * (ANSWER_MAX_LENGTH // 7)}, "texts_en"),  # too long once filled
        ({"en": "Fine.", "de": "Danke."}, "texts_de"),
    ],
)
def test_a_text_that_cannot_be_an_answer_is_refused_naming_its_field(
    city, east_member, texts, field
):
    with pytest.raises(ValidationError) as exc:
        save(city.east_team, east_member, texts=texts)

    assert field in field_errors(exc)
    assert not ResponseTemplate.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Bad \x1f name"}, "name"),
        ({"status": "duplicate"}, "status"),
        ({"status": "nonsense"}, "status"),
    ],
)
def test_a_bad_name_or_status_is_refused_naming_it(city, east_member, overrides, field):
    with pytest.raises(ValidationError) as exc:
        save(city.east_team, east_member, **overrides)

    assert field in field_errors(exc)


def test_a_name_is_the_teams_once(city, east_member, west_member):
    save(city.east_team, east_member)
    save(city.west_team, west_member)  # another team may

    with pytest.raises(ValidationError) as exc:
        save(city.east_team, east_member)

    assert "name" in field_errors(exc)
    assert ResponseTemplate.objects.count() == 2


def test_only_the_teams_members_and_planners_manage_its_templates(
    city, east_member, west_member, planner, make_user
):
    with pytest.raises(PermissionDenied):
        save(city.east_team, west_member)
    with pytest.raises(PermissionDenied):
        save(city.east_team, make_user("cindy"))
    with pytest.raises(PermissionDenied):
        save(city.east_team, None)
    template = save(city.east_team, planner)
    with pytest.raises(PermissionDenied):
        template_delete(template=template, actor=west_member)
    # Another team's template cannot be changed through this team.
    with pytest.raises(PermissionDenied):
        save(city.west_team, west_member, template=template)

    template_delete(template=template, actor=east_member)
    assert not ResponseTemplate.objects.exists()


def test_the_templates_that_fit_a_pin_are_its_teams_for_its_category_or_any(
    city, east_member, west_member, pin
):
    other = Category.objects.create(slug="roads", name="Roads")
    mine = save(city.east_team, east_member, name="Parks", category=pin.category)
    anyone = save(city.east_team, east_member, name="Any")
    save(city.east_team, east_member, name="Roads", category=other)
    save(city.west_team, west_member, name="West")

    assert list(selectors.templates_for_pin(idea=pin)) == [anyone, mine]


def test_the_automatic_template_of_a_status_prefers_the_pins_category(city, east_member, pin):
    anyone = save(city.east_team, east_member, name="A any", status="acknowledged")
    assert selectors.automatic_template(idea=pin, status="acknowledged") == anyone

    mine = save(
        city.east_team, east_member, name="Z parks", category=pin.category, status="acknowledged"
    )

    assert selectors.automatic_template(idea=pin, status="acknowledged") == mine
    assert selectors.automatic_template(idea=pin, status="planned") is None
