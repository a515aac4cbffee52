"""Writes of a team's response templates, and the one way a template becomes an answer.

A template's text is plain text with placeholders in braces (`{place}`, `{team}`...), one
text per site language. What a text may hold is checked once, when it is saved
(`template_save`): every placeholder known, every brace paired, the stored-text rule, and a
length that stays within ANSWER_MAX_LENGTH whatever the pin (each value has a longest form,
PLACEHOLDER_MAX_LENGTHS). So `template_render` always fills every placeholder of a saved
template and always gives an answer the workflow can store.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from string import Formatter
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from mapideas.audit import services as audit
from mapideas.models import (
    ANSWER_MAX_LENGTH,
    RESPONSE_TEMPLATE_NAME_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Category,
    Idea,
    ResponseTemplate,
)
from mapideas.pins.places import place_name
from mapideas.plumbing.stored_text import first_unstorable, normalise_newlines, unstorable_message
from mapideas.workflow import statuses as workflow
from neighborhoods.models import Team
from neighborhoods.roles import can_view_team

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

TEMPLATES_FORBIDDEN = gettext_lazy(
    "Only members of this team and planners can manage its response templates."
)

# Each placeholder and what it is filled with (the pin's values, in the pin's language).
PLACEHOLDERS: dict[str, "StrOrPromise"] = {
    "pin_number": gettext_lazy("the pin's number"),
    "title": gettext_lazy("the pin's title"),
    "category": gettext_lazy("its category"),
    "place": gettext_lazy(
        "the named place nearest it (the gazetteer's), else its neighborhood, else its coordinates"
    ),
    "team": gettext_lazy("the team's name"),
    "target_days": gettext_lazy("the team's response target, in working days"),
    "status": gettext_lazy("the pin's status (the new one, when the answer comes with one)"),
    "pin_url": gettext_lazy("the address of the pin's page"),
}

# The longest each value is given: longer ones are cut (with "…") when rendered, so that the
# check at save time holds for every pin.
PLACEHOLDER_MAX_LENGTHS: dict[str, int] = {
    "pin_number": 20,
    "title": TITLE_MAX_LENGTH,
    "category": 200,
    "place": 200,
    "team": 200,
    "target_days": 5,
    "status": 100,
    "pin_url": 300,
}

# The statuses a template may be the automatic answer of: those a team sets by hand.
AUTOMATIC_STATUSES = tuple(workflow.PLAIN_STATUSES)


def text_field(language: str) -> str:
    """The name of the field that holds a template's text in `language` (forms and errors)."""
    return f"texts_{language}"


def site_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@dataclass(frozen=True)
class _Parsed:
    """A template text split into its literal parts and placeholders, in order."""

    parts: list[tuple[str, str | None]]


def _parse(text: str, *, field: str) -> _Parsed:
    """A ValidationError naming `field` (and the placeholder) for what cannot be rendered:
    an unpaired brace, a placeholder that is not one of PLACEHOLDERS, or one written with a
    format (`{title!r}`, `{title:>9}`, `{title.upper}`)."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        raise ValidationError(
            {
                field: [
                    gettext(
                        "A brace is not paired: write placeholders as {place}, and a brace "
                        "itself as {{ or }}."
                    )
                ]
            }
        ) from None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            shown = "{" + name + ("!" + conversion if conversion else "")
            shown += (":" + spec if spec else "") + "}"
            raise ValidationError(
                {
                    field: [
                        gettext("Unknown placeholder %(placeholder)s: use one of %(known)s.")
                        % {
                            "placeholder": shown,
                            "known": ", ".join("{" + p + "}" for p in PLACEHOLDERS),
                        }
                    ]
                }
            )
        parts.append((literal, name))
    return _Parsed(parts)


def _longest(parsed: _Parsed) -> int:
    return sum(
        len(literal) + (PLACEHOLDER_MAX_LENGTHS[name] if name else 0)
        for literal, name in parsed.parts
    )


def texts_clean(texts: Mapping[str, str]) -> dict[str, str]:
    """The texts as stored: stripped, newlines normalised, empty ones left out; or a
    ValidationError naming each `texts_<language>` at fault. The site's language
    (LANGUAGE_CODE) is required; a language the site does not have is refused."""
    problems: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    languages = site_languages()
    for language, text in texts.items():
        field = text_field(language)
        if language not in languages:
            problems[field] = [gettext("The site has no language %(code)s.") % {"code": language}]
            continue
        text = normalise_newlines(text or "").strip()
        if not text:
            continue
        character = first_unstorable(text)
        if character is not None:
            problems[field] = [unstorable_message(character)]
            continue
        if len(text) > ANSWER_MAX_LENGTH:
            problems[field] = [
                gettext("At most %(max)s characters, not %(length)s.")
                % {"max": ANSWER_MAX_LENGTH, "length": len(text)}
            ]
            continue
        try:
            parsed = _parse(text, field=field)
        except ValidationError as exc:
            problems.update(exc.message_dict)
            continue
        if _longest(parsed) > ANSWER_MAX_LENGTH:
            problems[field] = [
                gettext(
                    "Filled in with the longest values its placeholders can take, this text "
                    "could be longer than an answer may be (%(max)s characters): shorten it "
                    "or use fewer placeholders."
                )
                % {"max": ANSWER_MAX_LENGTH}
            ]
            continue
        cleaned[language] = text
    default = settings.LANGUAGE_CODE
    if default not in cleaned and text_field(default) not in problems:
        problems[text_field(default)] = [
            gettext("Write the text in the site's language (%(language)s).")
            % {"language": dict(settings.LANGUAGES)[default]}
        ]
    if problems:
        raise ValidationError(problems)
    return cleaned


def _check_may_manage(actor: User | AnonymousUser | None, team: Team) -> None:
    if actor is None or not can_view_team(actor, team):
        raise PermissionDenied(TEMPLATES_FORBIDDEN)


@transaction.atomic
def template_save(
    *,
    team: Team,
    actor: User | AnonymousUser | None,
    name: str,
    texts: Mapping[str, str],
    category: Category | None = None,
    status: str = "",
    template: ResponseTemplate | None = None,
) -> ResponseTemplate:
    """Create a team's template, or change `template` (one of the team's): a ValidationError
    naming the field for a name already taken or not storable, an unknown status, or a
    text `texts_clean` refuses. `actor` must be a member of the team or a planner."""
    _check_may_manage(actor, team)
    if template is not None and template.team_id != team.pk:
        raise PermissionDenied(TEMPLATES_FORBIDDEN)
    problems: dict[str, list[str]] = {}
    name = normalise_newlines(name or "").strip()
    character = first_unstorable(name)
    if not name:
        problems["name"] = [gettext("Give the template a name.")]
    elif character is not None:
        problems["name"] = [unstorable_message(character)]
    elif len(name) > RESPONSE_TEMPLATE_NAME_MAX_LENGTH:
        problems["name"] = [
            gettext("At most %(max)s characters, not %(length)s.")
            % {"max": RESPONSE_TEMPLATE_NAME_MAX_LENGTH, "length": len(name)}
        ]
    if status and status not in AUTOMATIC_STATUSES:
        problems["status"] = [
            gettext("Choose one of: %(choices)s.")
            % {"choices": ", ".join(str(s) for s in AUTOMATIC_STATUSES)}
        ]
    try:
        cleaned = texts_clean(texts)
    except ValidationError as exc:
        problems.update(exc.message_dict)
    if problems:
        raise ValidationError(problems)
    template = template or ResponseTemplate(team=team)
    template.name, template.texts = name, cleaned
    template.category, template.status = category, status
    created = template.pk is None
    try:
        with transaction.atomic():
            template.save()
            audit.audit_record(
                actor=actor,
                action=audit.Action.TEMPLATE,
                summary=audit.in_site_language(
                    lambda: (
                        (
                            gettext("Response template “%(name)s” created.")
                            if created
                            else gettext("Response template “%(name)s” changed.")
                        )
                        % {"name": name}
                    )
                ),
                team=team,
            )
    except IntegrityError:
        raise ValidationError(
            {"name": [gettext("The team already has a template with this name.")]}
        ) from None
    return template


@transaction.atomic
def template_delete(*, template: ResponseTemplate, actor: User | AnonymousUser | None) -> None:
    _check_may_manage(actor, template.team)
    audit.audit_record(
        actor=actor,
        action=audit.Action.TEMPLATE,
        summary=audit.in_site_language(
            lambda: gettext("Response template “%(name)s” deleted.") % {"name": template.name}
        ),
        team=template.team,
    )
    template.delete()


# --- Rendering ---------------------------------------------------------------------------


def answer_language(idea: Idea) -> str:
    """The language answers and emails about `idea` are written in: its author's, else the
    site's."""
    return idea.language if idea.language in site_languages() else settings.LANGUAGE_CODE


def template_text(template: ResponseTemplate, language: str) -> str:
    """The template's text in `language`, else in the site's language (always there)."""
    texts = template.texts or {}
    return texts.get(language) or texts.get(settings.LANGUAGE_CODE) or ""


def _place(idea: Idea) -> str:
    """The gazetteer's place nearest the pin, else its neighborhood (pins.places), else its
    coordinates: {place} is never left empty."""
    named = place_name(idea)
    if named:
        return str(named)
    return f"{idea.location.y:.5f}, {idea.location.x:.5f}"


def _cut(value: str, longest: int) -> str:
    return value if len(value) <= longest else value[: longest - 1] + "…"


def placeholder_values(idea: Idea, *, status: str | None = None) -> dict[str, str]:
    """What each placeholder stands for on `idea`, in the active language, as plain text."""
    shown_status = status or idea.status
    values = {
        "pin_number": str(idea.pk),
        "title": idea.title,
        "category": idea.category.display_name,
        "place": _place(idea),
        "team": idea.team.display_name,
        "target_days": str(idea.team.response_target_days),
        "status": str(Idea.Status(shown_status).label),
        "pin_url": settings.MAPIDEAS_SITE_URL.rstrip("/") + idea.get_absolute_url(),
    }
    return {k: _cut(" ".join(v.split()), PLACEHOLDER_MAX_LENGTHS[k]) for k, v in values.items()}


def template_render(
    template: ResponseTemplate, idea: Idea, language: str, *, status: str | None = None
) -> str:
    """The template as an answer on `idea` in `language` (its text in that language, else
    the site's), every placeholder filled from the pin in that language (`status`: the
    status the answer comes with, else the pin's). Plain text: pages escape it as any
    answer."""
    return templates_render([template], idea, language, status=status)[template.pk]


def templates_render(
    templates: Iterable[ResponseTemplate],
    idea: Idea,
    language: str,
    *,
    status: str | None = None,
) -> dict[int, str]:
    """template_render for several templates on one pin, by template id: the pin's values
    are read once (the status form offers every template that fits)."""
    if language not in site_languages():
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        values = placeholder_values(idea, status=status)
    rendered = {}
    for template in templates:
        parsed = _parse(template_text(template, language), field="template")
        text = "".join(literal + (values[name] if name else "") for literal, name in parsed.parts)
        rendered[template.pk] = text.strip()[:ANSWER_MAX_LENGTH]
    return rendered
