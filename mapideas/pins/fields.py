"""The public pin, once: the name, order, type and source of every field anyone may see.

`PUBLIC_PIN` is the one list. Everything that shows a pin is made from it:

- /api/ideas/, one pin's API and the OGC API: mapideas.pins.serializers.IdeaFeatureSerializer
  takes its field names and order from here, and its declared fields from
  `serializer_fields()` (the fields the model describes itself, with their choices and
  lengths, are left to ModelSerializer: `model_column`).
- The map's viewport (mapideas.map) and every export format (geodata.exports): they read up
  to 5,000 and a million pins from plain `.values()` rows, not model instances, so
  `PinRows` turns the list into the keys they read and a row builder compiled once, at
  import, into a plain function (a dict display, as one would write by hand): no loop over
  the fields per pin.
- Open311 (mapideas.open311.serializers) maps its own names to these fields in one table.

Visibility: only what is listed here is public, and only for the pins of
mapideas.pins.selectors.public_ideas(). `NEVER_PUBLIC` names the pin's personal and
internal columns; a field reading one of them fails at import.

Names (`category_name`, `team`) come from neighborhoods.translated_names, in the output's
language (its docstring holds the rule: the APIs answer in the request's language, the
exports in the city's unless asked); each has its slug beside it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.urls import reverse

from mapideas.models import Category
from neighborhoods.models import Team
from neighborhoods.translated_names import names_by_id, translated_name

# Six decimals is about 10 cm: more only leaks noise and bytes.
COORDINATE_PRECISION = 6
# The pin's geometry (a Point, WGS84): the Feature's geometry, never a property.
GEOMETRY = "location"


class Type(enum.Enum):
    """What a field holds, as every output types it."""

    INTEGER = "integer"
    TEXT = "text"
    # ISO 8601 text in the current time zone (settings.TIME_ZONE), UTC as "Z": DRF's form.
    DATETIME = "datetime"


class Render(enum.Enum):
    """How a field's value is made from what it reads."""

    VALUE = "value"  # the value read, as it is (a DATETIME as ISO 8601 text)
    SLUG = "slug"  # the slug of the named relation (a category, a team)
    NAME = "name"  # the name of the named relation, in the output's language
    PAGE = "page"  # the pin's page on this site, site-relative
    PHOTO = "photo"  # its photo's URL; None without one or when moderators hid it


@dataclass(frozen=True)
class PinField:
    name: str  # the public name: property, column, field
    type: Type
    render: Render
    # The `.values()` keys it is made from: a column, a joined column ("neighborhood__name")
    # or, for SLUG and NAME, the relation's id ("category_id").
    reads: tuple[str, ...]
    nullable: bool = False
    # The model column describes it to the serializer (type, choices, length): the API
    # schema's enums and lengths are the model's own.
    model_column: bool = False

    @property
    def relation(self) -> str:
        """SLUG and NAME: the relation named ("category" for "category_id")."""
        return self.reads[0].removesuffix("_id")


def _column(
    name: str, type: Type = Type.TEXT, *, source: str = "", nullable: bool = False
) -> PinField:
    return PinField(name, type, Render.VALUE, (source or name,), nullable)


def _model_column(name: str, type: Type = Type.TEXT) -> PinField:
    return PinField(name, type, Render.VALUE, (name,), model_column=True)


def _slug(name: str, relation: str) -> PinField:
    return PinField(name, Type.TEXT, Render.SLUG, (f"{relation}_id",))


def _name(name: str, relation: str) -> PinField:
    return PinField(name, Type.TEXT, Render.NAME, (f"{relation}_id",))


PUBLIC_PIN: tuple[PinField, ...] = (
    _model_column("id", Type.INTEGER),
    _model_column("kind"),
    _model_column("title"),
    _model_column("description"),
    _slug("category", "category"),
    _name("category_name", "category"),
    _model_column("status"),
    _model_column("channel"),
    # The meeting or campaign an offline pin was gathered at ("" for the others).
    _model_column("event_name"),
    # None for a pin in a gap between neighborhoods (the triage team has it). Neighborhood
    # names are the boundary file's, never translated: read as they are, by a join.
    _column("neighborhood", source="neighborhood__name", nullable=True),
    _column("neighborhood_slug", source="neighborhood__slug", nullable=True),
    _name("team", "team"),
    _slug("team_slug", "team"),
    _model_column("created_at", Type.DATETIME),
    # The team's latest public answer and when it came ("" and null before any). Never the
    # internal notes, the assignee or who answered.
    _column("answer"),
    _column("answer_at", Type.DATETIME, nullable=True),
    # How many people support the pin (a count, never who): a column kept by the services.
    _column("support_count", Type.INTEGER),
    # "Is it really fixed?" (mapideas.outcomes): when the team last closed the pin (done or
    # declined; null while never closed), how many people confirmed the fix and how many
    # said the problem is still there, how many times it was reopened and the last time.
    # Counts and dates, never who: columns kept by the services under the pin's row lock.
    _column("closed_at", Type.DATETIME, nullable=True),
    _column("fix_confirmations", Type.INTEGER, source="fix_confirmed_count"),
    _column("disputes", Type.INTEGER, source="dispute_count"),
    _column("reopenings", Type.INTEGER, source="reopen_count"),
    _column("reopened_at", Type.DATETIME, nullable=True),
    PinField("url", Type.TEXT, Render.PAGE, ("id",)),
    # The photo's row, if any (a join on its unique idea_id): its URL is public unless
    # moderators hid it. Never where the file is stored.
    PinField(
        "photo_url",
        Type.TEXT,
        Render.PHOTO,
        ("id", "photo__id", "photo__hidden_at"),
        nullable=True,
    ),
)
PUBLIC_PIN_NAMES: tuple[str, ...] = tuple(f.name for f in PUBLIC_PIN)
BY_NAME: dict[str, PinField] = {f.name: f for f in PUBLIC_PIN}

# The relations whose names staff translate (neighborhoods.translated_names): named once per
# answer from the id each pin carries, in the answer's language.
TRANSLATED: dict[str, type[Model]] = {"category": Category, "team": Team}

# The pin's columns no public output reads: personal data (who sent it, how to reach them),
# the teams' internal work, moderation and submission bookkeeping. Open311 adds `media_url`
# and `updated_at` (public, its own: mapideas.open311.serializers), never these.
NEVER_PUBLIC = frozenset(
    {
        "author",
        "contact_email",
        "contact_name",
        "contact_phone",
        "open311_client",
        "assignee",
        "team_set_by_staff",
        "first_response_at",
        "awaiting_confirmation",
        "confirmation_sent_at",
        "flag_count",
        "hidden_by_moderation_at",
        "moderation_decision",
        "moderation_decided_at",
        "idempotency_key",
        "idempotency_fingerprint",
    }
)


def _check() -> None:
    """At import: every field reads public columns only, each name once, each relation
    named is one whose names are known."""
    if len(BY_NAME) != len(PUBLIC_PIN):
        raise ImproperlyConfigured("PUBLIC_PIN names a field twice")
    for field in PUBLIC_PIN:
        for key in field.reads:
            if key.split("__")[0].removesuffix("_id") in NEVER_PUBLIC:
                raise ImproperlyConfigured(f"{field.name} reads {key}, which is never public")
        if field.render in (Render.SLUG, Render.NAME) and field.relation not in TRANSLATED:
            raise ImproperlyConfigured(f"{field.name}: no names known for {field.relation}")


_check()


# --- rendering, shared by every output ---------------------------------------------------------


def iso_datetime(value: datetime | None, zone: tzinfo) -> str | None:
    """A datetime as DRF's DateTimeField gives it (ISO 8601 in `zone`, the current time
    zone; UTC as "Z"), in 1.8 µs instead of 6.2: two per pin, up to 5,000 pins an answer."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_PK = 987654321  # a stand-in id, replaced in a reversed URL


@dataclass(frozen=True)
class PinUrls:
    """Where a pin's page and photo are (mapideas.pins.urls), as the text around its id:
    reversed once per answer, not once per pin."""

    page: tuple[str, str]
    photo: tuple[str, str]

    @classmethod
    def current(cls) -> PinUrls:
        def around_id(name: str) -> tuple[str, str]:
            before, after = reverse(name, args=[_PK]).split(str(_PK))
            return before, after

        return cls(page=around_id("idea-detail"), photo=around_id("idea-photo"))


class NameTable(dict[int, tuple[str, str]]):
    """id -> (slug, name) of one translated relation, in one language. An id it does not
    hold (a category added while a long export streams) is read when first met."""

    def __init__(
        self, model: type[Model], language: str, ids: Iterable[int] | None, using: str | None
    ) -> None:
        ids = None if ids is None else set(ids)
        # No ids, no query (nor its compiling): the table of pins in memory (of_pins).
        super().__init__(names_by_id(model, language, ids=ids, using=using) if ids != set() else {})
        self.model, self.language, self.using = model, language, using

    def __missing__(self, pk: int) -> tuple[str, str]:
        found = names_by_id(self.model, self.language, ids=[pk], using=self.using)
        self.update(found)
        return found[pk]


@dataclass(frozen=True)
class PinContext:
    """What a pin's properties depend on besides its row: the language its names are in,
    the time zone of its dates, where its pages are."""

    names: Mapping[str, Mapping[int, tuple[str, str]]]  # relation -> NameTable
    zone: tzinfo
    urls: PinUrls

    @classmethod
    def of(
        cls,
        language: str,
        zone: tzinfo,
        *,
        rows: list[dict] | None = None,
        using: str | None = None,
    ) -> PinContext:
        """The names in `language`: of the relations `rows` (dict rows) point at, or of
        every category and team when the rows are not known yet (a streamed export)."""
        names = {
            relation: NameTable(
                model,
                language,
                None if rows is None else {row[f"{relation}_id"] for row in rows},
                using,
            )
            for relation, model in TRANSLATED.items()
        }
        return cls(names=names, zone=zone, urls=PinUrls.current())

    @classmethod
    def of_pins(cls, language: str, zone: tzinfo, pins: Iterable[Model]) -> PinContext:
        """The names in `language` of the relations of pins in memory (their category and
        team loaded, as a pin just written has them): no query."""
        names: dict[str, NameTable] = {}
        for relation, model in TRANSLATED.items():
            # ids=(): an empty table, read from no query; then the pins' own relations.
            table = names[relation] = NameTable(model, language, (), None)
            for pin in pins:
                related = getattr(pin, relation)
                table[related.pk] = (
                    related.slug,
                    translated_name(related.name, related.name_translations, language),
                )
        return cls(names=names, zone=zone, urls=PinUrls.current())


# --- the rows of the fast paths --------------------------------------------------------------

RowBuilder = Callable[[Any], dict[str, object]]


class PinRows:
    """The public pin as the fast paths read it: `keys`, what to ask `.values()` or
    `.values_list()` for (then the caller's own after them), and `builder(context)`, the
    function turning one such row into the pin's properties or, given the `coordinates`
    keys (longitude, latitude), into its whole GeoJSON Feature, as the serializer makes it.

    The builder is generated from PUBLIC_PIN as source text and compiled once, at import,
    as dataclasses and namedtuple make their methods: a plain function returning a dict
    display, each value one expression, with the context's names, zone and URLs bound as
    closure variables. Interpreting the list per pin (a loop, a call per field) would cost
    several times as much, for up to 5,000 pins a map move and a million in an export.
    """

    def __init__(self, *, by_position: bool, coordinates: tuple[str, str] | None = None) -> None:
        # Dict rows (`.values()`) are read by key, tuple rows (`.values_list()`) by position.
        keys: list[str] = []
        for field in PUBLIC_PIN:
            keys += [key for key in field.reads if key not in keys]
        self.keys: tuple[str, ...] = tuple(keys)
        self.by_position = by_position
        self.coordinates = coordinates
        self.source = self._source()
        namespace: dict[str, Any] = {"iso_datetime": iso_datetime}
        # Source text made above from this module's constants only (field names and keys,
        # written with repr()): nothing from outside reaches it.
        exec(compile(self.source, f"<{__name__}.PinRows>", "exec"), namespace)  # noqa: S102
        self._bind: Callable[..., RowBuilder] = namespace["bind"]

    def position(self, key: str) -> int:
        return self.keys.index(key)

    def row_of(self, pin: Model) -> dict[str, object]:
        """The dict row the fast paths read from the database, of a pin in memory (one just
        written, its relations loaded): each key read through the instance; the values of a
        missing relation (no neighborhood, no photo) are None, as a LEFT JOIN reads them."""
        row: dict[str, object] = {}
        for key in self.keys:
            value: Any = pin
            for name in key.split("__"):
                # A reverse one-to-one without a row raises RelatedObjectDoesNotExist, an
                # AttributeError: getattr's default.
                value = getattr(value, name, None)
                if value is None:
                    break
            row[key] = value
        if self.coordinates is not None:
            lon, lat = self.coordinates
            location = getattr(pin, GEOMETRY)
            row[lon], row[lat] = location.x, location.y
        return row

    def builder(self, context: PinContext) -> RowBuilder:
        urls = context.urls
        return self._bind(context.names, context.zone, *urls.page, *urls.photo)

    def _read(self, key: str) -> str:
        return f"row[{self.position(key)}]" if self.by_position else f"row[{key!r}]"

    def _value(self, field: PinField) -> str:
        if field.render is Render.VALUE:
            read = "pk" if field.reads[0] == "id" else self._read(field.reads[0])
            return f"iso({read}, zone)" if field.type is Type.DATETIME else read
        if field.render is Render.SLUG:
            return f"{field.relation}_named[0]"
        if field.render is Render.NAME:
            return f"{field.relation}_named[1]"
        if field.render is Render.PAGE:
            return 'f"{page_before}{pk}{page_after}"'
        # PHOTO: the photo row's id (the join found one) and its hidden_at (moderators).
        photo_id, hidden_at = (self._read(key) for key in field.reads[1:])
        return (
            f'(f"{{photo_before}}{{pk}}{{photo_after}}" '
            f"if {photo_id} is not None and {hidden_at} is None else None)"
        )

    def _source(self) -> str:
        relations = list(dict.fromkeys(f.relation for f in PUBLIC_PIN if f.render in _NAMED))
        lines = ["def bind(names, zone, page_before, page_after, photo_before, photo_after):"]
        # Closure variables, the cheapest names to read in the loop of a long answer.
        lines += ["    iso = iso_datetime", "    rounded = round"]
        lines += [f"    {relation}_names = names[{relation!r}]" for relation in relations]
        lines.append("    def build(row):")
        lines.append(f"        pk = {self._read('id')}")
        for relation in relations:
            read = self._read(f"{relation}_id")
            lines.append(f"        {relation}_named = {relation}_names[{read}]")
        properties = [f"{f.name!r}: {self._value(f)}," for f in PUBLIC_PIN]
        if self.coordinates is None:
            lines += ["        return {", *(f"            {p}" for p in properties), "        }"]
        else:
            # The Feature IdeaFeatureSerializer makes: the id at the top and in the properties.
            lon, lat = (
                f"rounded({self._read(key)}, {COORDINATE_PRECISION})" for key in self.coordinates
            )
            lines += [
                "        return {",
                '            "id": pk,',
                '            "type": "Feature",',
                f'            "geometry": {{"type": "Point", "coordinates": [{lon}, {lat}]}},',
                '            "properties": {',
                *(f"                {p}" for p in properties),
                "            },",
                "        }",
            ]
        lines += ["    return build", ""]
        return "\n".join(lines)


_NAMED = (Render.SLUG, Render.NAME)
