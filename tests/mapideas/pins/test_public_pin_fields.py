"""mapideas.pins.fields: one specification of the public pin, from which the serializer, the
map's row builder, the exports and Open311 are made. The outputs built from plain rows must
give exactly what the serializer gives from the model, field for field."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation

from geodata.exports import layers as exports
from mapideas.map import viewport as map_viewport
from mapideas.map.coordinates import Latitude, Longitude
from mapideas.models import Category, Idea, IdeaPhoto
from mapideas.open311 import serializers as open311
from mapideas.pins import fields, selectors
from mapideas.pins.serializers import IdeaFeatureSerializer
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_EMPTY_HOLE, IN_WEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def pins(city, category):
    """Pins in every state a field renders differently: answered, supported, in a gap (no
    neighborhood), with a photo, with a hidden photo, offline at an event, closed then
    confirmed, disputed and reopened."""
    lighting = Category.objects.get(slug="lighting-safety")
    lighting.name_translations = {"fr": "Éclairage"}
    lighting.save()
    city.east_team.name_translations = {"fr": "Équipe Est"}
    city.east_team.save()
    made = [
        idea_create(kind="idea", title="Plain", category=category, location=IN_WEST),
        idea_create(kind="issue", title="Answered", category=lighting, location=IN_EAST),
        idea_create(kind="idea", title="In a gap", category=category, location=IN_EMPTY_HOLE),
        idea_create(kind="idea", title="Photo", category=category, location=IN_WEST),
        idea_create(kind="idea", title="Hidden photo", category=lighting, location=IN_EAST),
    ]
    Idea.objects.filter(pk=made[1].pk).update(
        answer="Fixed soon", answer_at=timezone.now(), support_count=3, event_name="Fair"
    )
    Idea.objects.filter(pk=made[0].pk).update(created_at=timezone.now() - timedelta(days=400))
    Idea.objects.filter(pk=made[1].pk).update(
        closed_at=timezone.now() - timedelta(days=9),
        fix_confirmed_count=1,
        dispute_count=4,
        reopen_count=2,
        reopened_at=timezone.now() - timedelta(days=2),
    )
    IdeaPhoto.objects.create(idea=made[3], name="a.jpg", width=1, height=1, bytes=1)
    IdeaPhoto.objects.create(
        idea=made[4], name="b.jpg", width=1, height=1, bytes=1, hidden_at=timezone.now()
    )
    return made


def serialized() -> dict[int, dict]:
    features = IdeaFeatureSerializer(selectors.public_ideas(), many=True).data["features"]
    return {f["properties"]["id"]: dict(f["properties"]) for f in features}


def test_the_serializer_gives_the_specifications_fields_in_its_order(pins):
    for properties in serialized().values():
        assert tuple(properties) == fields.PUBLIC_PIN_NAMES


def test_every_output_lists_the_same_fields():
    # rest_framework_gis appends the geometry to Meta.fields once a serializer is made.
    listed = [name for name in IdeaFeatureSerializer.Meta.fields if name != fields.GEOMETRY]
    assert tuple(listed) == fields.PUBLIC_PIN_NAMES
    assert exports.IDEA_PROPERTIES == fields.PUBLIC_PIN_NAMES
    assert exports.LAYER_SPECS["ideas"].integers == {
        "id",
        "support_count",
        "fix_confirmations",
        "disputes",
        "reopenings",
    }
    assert map_viewport.PIN_ROWS.keys == map_viewport.PIN_VALUES


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Asia/Kolkata"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_row_builders_give_what_the_serializer_gives(pins, settings, zone, language):
    settings.TIME_ZONE = zone
    with translation.override(language):
        want = serialized()
        context = fields.PinContext.of(language, timezone.get_current_timezone())
        by_key = map_viewport.PIN_ROWS.builder(context)
        by_position = exports.PIN_ROWS.builder(context)
        dicts = (
            selectors.public_ideas()
            .annotate(lon=Longitude("location"), lat=Latitude("location"))
            .values(*map_viewport.PIN_ROWS.keys, "lon", "lat")
        )
        tuples = selectors.public_ideas().values_list(*exports.PIN_ROWS.keys)

        from_dicts = {row["id"]: by_key(row)["properties"] for row in dicts}
        from_tuples = {props["id"]: props for props in map(by_position, tuples)}

    assert from_dicts == want
    assert from_tuples == want
    # The same order too: CSV columns and OGR fields follow it.
    assert all(tuple(p) == fields.PUBLIC_PIN_NAMES for p in from_tuples.values())
    hidden, shown = pins[4].pk, pins[3].pk
    assert want[hidden]["photo_url"] is None and want[shown]["photo_url"].endswith("photo.jpg")
    assert want[pins[2].pk]["neighborhood"] is None


def test_the_viewport_builder_makes_the_serializers_feature(pins):
    want = IdeaFeatureSerializer(selectors.public_ideas(), many=True).data["features"]
    rows = (
        selectors.public_ideas()
        .annotate(lon=Longitude("location"), lat=Latitude("location"))
        .values(*map_viewport.PIN_VALUES, "lon", "lat")
    )
    build = map_viewport.PIN_ROWS.builder(
        fields.PinContext.of("en", timezone.get_current_timezone())
    )

    made = [build(row) for row in rows]

    def plain(feature) -> dict:
        # As a client reads it: the serializer's coordinates are a tuple, the builder's a list.
        return json.loads(json.dumps(feature))

    assert sorted(map(plain, made), key=lambda f: f["id"]) == sorted(
        map(plain, want), key=lambda f: f["id"]
    )


def test_a_category_added_while_an_export_streams_is_named_all_the_same(pins):
    context = fields.PinContext.of("en", timezone.get_current_timezone())
    build = exports.PIN_ROWS.builder(context)
    late = Category.objects.create(slug="late", name="Late", name_translations={"fr": "Tard"})
    pin = idea_create(kind="idea", title="Late", category=late, location=IN_WEST)

    row = selectors.public_ideas().filter(pk=pin.pk).values_list(*exports.PIN_ROWS.keys).get()

    assert (build(row)["category"], build(row)["category_name"]) == ("late", "Late")


def test_no_public_field_reads_a_private_column():
    columns = {f.name for f in Idea._meta.get_fields()}
    # The list names real columns (a renamed one would silently stop being guarded).
    assert columns >= fields.NEVER_PUBLIC
    read = {key.split("__")[0].removesuffix("_id") for f in fields.PUBLIC_PIN for key in f.reads}
    assert not read & fields.NEVER_PUBLIC
    assert not {k.split("__")[0] for k in map_viewport.PIN_VALUES} & fields.NEVER_PUBLIC


def test_every_name_has_its_slug_beside_it():
    names = {f.name: f for f in fields.PUBLIC_PIN}
    for field in fields.PUBLIC_PIN:
        if field.render is fields.Render.NAME:
            slugs = [
                f
                for f in fields.PUBLIC_PIN
                if f.render is fields.Render.SLUG and f.relation == field.relation
            ]
            assert len(slugs) == 1, field
    assert names["neighborhood"].reads == ("neighborhood__name",)
    assert names["neighborhood_slug"].reads == ("neighborhood__slug",)


def test_the_builder_is_a_plain_function_compiled_once():
    # No loop over the fields per pin: one dict display, an expression per field.
    source = exports.PIN_ROWS.source
    assert "for " not in source
    assert all(repr(name) in source for name in fields.PUBLIC_PIN_NAMES)


def test_open311_maps_its_names_to_public_fields_in_one_table(pins):
    assert set(open311.PIN_FIELDS.values()) <= set(fields.PUBLIC_PIN_NAMES)
    declared = open311.ServiceRequestSerializer().fields
    assert set(open311.PIN_FIELDS) <= set(declared)
    pin = selectors.public_ideas().get(pk=pins[1].pk)

    with translation.override("fr"):
        (row,) = open311.request_rows(selectors.public_ideas().filter(pk=pin.pk))
        data = open311.ServiceRequestSerializer(row).data

    # The city's language whatever the request's (neighborhoods.translated_names).
    assert data["service_name"] == pin.category.name == "Lighting and safety"
    assert data["service_code"] == pin.category.slug
    assert data["agency_responsible"] == pin.team.name == "East Team"
    assert data["service_request_id"] == pin.pk
    assert data["description"] == pin.description


def test_the_published_interface_lists_the_fields_in_order():
    """docs/interfaces.md's table of the public pin is the specification's, row for row."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "interfaces.md").read_text()
    table = doc.split("## The public pin", 1)[1].split("\n\n")
    rows = next(block for block in table if block.startswith("| property |")).splitlines()[2:]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    types = {"integer": "integer", "text": "text", "datetime": "date-time"}

    assert [c[0].strip("`") for c in cells] == list(fields.PUBLIC_PIN_NAMES)
    assert [c[1] for c in cells] == [types[f.type.value] for f in fields.PUBLIC_PIN]
    assert [c[2] == "yes" for c in cells] == [f.nullable for f in fields.PUBLIC_PIN]
