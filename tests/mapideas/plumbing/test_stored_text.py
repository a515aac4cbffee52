"""What MapIdeas stores as text (docs/decisions/0016-stored-text.md): no Unicode noncharacter,
no C0 or C1 control character but newline and tab, carriage returns stored as newlines. The
rule itself (mapideas.plumbing.stored_text), then every door a person's text comes in by:
a refused text is a 400 naming the field and the character, and nothing is written."""

import json
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from geodata.imports.ideas import ideas_import_csv
from mapideas.models import Comment, Flag, Idea, IdeaUpdate
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST
from tests.mapideas.open311.open311_support import ROOT

pytestmark = pytest.mark.django_db

LON, LAT = IN_EAST.x, IN_EAST.y

# Every class of character the rule refuses, with a neighbour of each that it keeps.
REFUSED = [
    "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f",  # C0 but tab, newline, CR
    "\x7f", "\x80", "\x85", "\x9f",  # DEL and C1
    "\ufdd0", "\ufdef",  # the noncharacter block
    "\ufffe", "\uffff", "\U0001fffe", "\U0001ffff", "\U0010fffe", "\U0010ffff",  # every plane
]  # fmt: skip
KEPT = [
    "\t", "\n", " ", "~", "\xa0", "é", "\ufdcf", "\ufdf0", "\ufffd", "\ue000",
    "\U0001fffd", "\U00020000", "🙂", "\u2028",
]  # fmt: skip


def code_point(character: str) -> str:
    return f"U+{ord(character):04X}"


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("character", REFUSED, ids=code_point)
def test_the_rule_refuses_noncharacters_and_control_characters(character):
    from mapideas.plumbing.stored_text import first_unstorable, stored_text

    assert first_unstorable(f"a{character}b") == character
    with pytest.raises(ValidationError) as refused:
        stored_text(f"Bench{character}")
    assert refused.value.messages == [
        f"contains a character that cannot be stored ({code_point(character)})"
    ]
    assert refused.value.code == "unstorable"


@pytest.mark.parametrize("character", KEPT, ids=code_point)
def test_the_rule_keeps_every_other_character(character):
    from mapideas.plumbing.stored_text import first_unstorable, stored_text

    assert first_unstorable(f"a{character}b") is None
    assert stored_text(f"a{character}b") == f"a{character}b"


def test_carriage_returns_are_stored_as_newlines():
    from mapideas.plumbing.stored_text import first_unstorable, stored_text

    assert stored_text("one\r\ntwo\rthree\n\rfour") == "one\ntwo\nthree\n\nfour"
    # A carriage return is not refused: it is what a browser's textarea sends.
    assert first_unstorable("one\r\ntwo") is None


def test_the_form_and_api_fields_apply_the_rule():
    from mapideas.plumbing.stored_text import StoredTextField, StoredTextSerializerField

    form_field = StoredTextField(max_length=10)
    assert form_field.clean("a\r\nb") == "a\nb"
    with pytest.raises(ValidationError, match=r"U\+FFFF"):
        form_field.clean("a\uffff")

    api_field = StoredTextSerializerField(max_length=10)
    assert api_field.run_validation("a\r\nb") == "a\nb"
    with pytest.raises(Exception, match=r"U\+FFFF"):
        api_field.run_validation("a\uffff")


# --- every door: the API, the form on /, Open311, comments, flags, answers, imports -----------


def pin_json(**overrides) -> dict:
    body = {
        "kind": "issue",
        "title": "Broken swing",
        "description": "The chain is gone.",
        "category": "parks-green-space",
        "location": {"type": "Point", "coordinates": [LON, LAT]},
    }
    return body | overrides


def form(**overrides) -> dict:
    body = {
        "kind": "issue",
        "title": "Broken swing",
        "description": "The chain is gone.",
        "category": "parks-green-space",
        "latitude": LAT,
        "longitude": LON,
    }
    return body | overrides


@pytest.mark.parametrize("character", ["\uffff", "\x07", "\x9f", "\ufdd0"], ids=code_point)
@pytest.mark.parametrize("field", ["title", "description"])
def test_the_api_refuses_a_pin_whose_text_cannot_be_stored(city, category, field, character):
    response = APIClient().post(
        "/api/ideas/", pin_json(**{field: f"Bad {character} text"}), format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        field: [f"contains a character that cannot be stored ({code_point(character)})"]
    }
    assert not Idea.objects.exists()


def test_the_api_refuses_it_in_a_multipart_body_too(city, category):
    data = pin_json(title="Bad \ufffe text", location=json.dumps(pin_json()["location"]))

    response = APIClient().post("/api/ideas/", data, format="multipart")

    assert response.status_code == 400, response.content
    assert response.json() == {"title": ["contains a character that cannot be stored (U+FFFE)"]}
    assert not Idea.objects.exists()


def test_the_api_stores_carriage_returns_as_newlines(city, category):
    response = APIClient().post(
        "/api/ideas/", pin_json(description="one\r\ntwo\rthree"), format="json"
    )

    assert response.status_code == 201, response.content
    assert Idea.objects.get().description == "one\ntwo\nthree"


@pytest.mark.parametrize("field", ["title", "description"])
def test_the_form_on_the_map_refuses_it_next_to_the_field(client, city, category, field):
    response = client.post("/", form(**{field: "Bad \uffff text"}))

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [
        "contains a character that cannot be stored (U+FFFF)"
    ]
    assert "cannot be stored (U+FFFF)" in response.content.decode()
    assert not Idea.objects.exists()


def test_the_form_on_the_map_stores_carriage_returns_as_newlines(client, city, category):
    response = client.post("/", form(description="one\r\ntwo"))

    assert response.status_code == 302, response.content[:300]
    assert Idea.objects.get().description == "one\ntwo"


@pytest.fixture
def open311_key(db):
    from mapideas.open311.services import open311_client_create

    return open311_client_create(name="Text App").key


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Bad \uffff text"),
        ("address_string", "1 Main St\x1b"),
        ("first_name", "A\x85B"),
    ],
)
def test_open311_refuses_it_naming_the_field(city, category, open311_key, field, value):
    body = {
        "api_key": open311_key,
        "service_code": "parks-green-space",
        "lat": LAT,
        "long": LON,
        "description": "Broken swing",
    } | {field: value}

    response = Client().post(f"{ROOT}/requests.json", body)

    assert response.status_code == 400, response.content
    [error] = response.json()
    assert error["description"].startswith(f"{field}: contains a character that cannot be stored")
    assert not Idea.objects.exists()


@pytest.fixture
def pin(city, category):
    return idea_create(kind="issue", title="Broken swing", category=category, location=IN_EAST)


def test_a_comment_is_refused_by_the_api_and_the_page(pin, make_user):
    api = APIClient()
    api.force_authenticate(make_user("carla"))
    by_api = api.post(f"/api/ideas/{pin.pk}/comments/", {"text": "Yes\ufffe"}, format="json")
    page = Client()
    page.force_login(make_user("cathy"))
    by_page = page.post(f"/ideas/{pin.pk}/comments/", {"text": "Yes\x7f"})

    assert by_api.status_code == 400, by_api.content
    assert by_api.json() == {"text": ["contains a character that cannot be stored (U+FFFE)"]}
    assert by_page.status_code == 400
    assert "cannot be stored (U+007F)" in by_page.content.decode()
    assert not Comment.objects.exists()


def test_a_flag_is_refused_by_the_api_and_the_page(pin):
    by_api = APIClient().post(
        f"/api/ideas/{pin.pk}/flag/", {"reason": "spam", "text": "see\uffff"}, format="json"
    )
    by_page = Client().post(f"/ideas/{pin.pk}/flag/", {"reason": "spam", "text": "see\x1bx"})

    assert by_api.status_code == 400, by_api.content
    assert by_api.json() == {"text": ["contains a character that cannot be stored (U+FFFF)"]}
    assert by_page.status_code == 400
    assert not Flag.objects.exists()


def test_a_public_answer_is_refused_by_the_api_and_the_page(pin, make_user, city):
    member = make_user("erin", teams=[city.east_team])
    api = APIClient()
    api.force_authenticate(member)
    by_api = api.post(
        f"/api/ideas/{pin.pk}/status/",
        {"status": "planned", "public_answer": "Next week\x0c"},
        format="json",
    )
    page = Client()
    page.force_login(member)
    by_page = page.post(
        f"/ideas/{pin.pk}/status/", {"status": "planned", "answer": "Next week\U0010ffff"}
    )

    assert by_api.status_code == 400, by_api.content
    assert by_api.json() == {
        "public_answer": ["contains a character that cannot be stored (U+000C)"]
    }
    assert by_page.status_code == 400
    assert "cannot be stored (U+10FFFF)" in by_page.content.decode()
    assert not IdeaUpdate.objects.exists()
    pin.refresh_from_db()
    assert pin.answer == ""


def test_a_csv_import_names_the_line_and_column_of_such_a_text(tmp_path, city):
    path = tmp_path / "ideas.csv"
    path.write_text(
        "lat,lon,title,description\n"
        f'{LAT},{LON},Good one,"two\r\nlines"\n'
        f"{LAT},{LON},Bad \uffff one,fine\n",
        newline="",
    )

    result = ideas_import_csv(
        path=path,
        lat_field="lat",
        lon_field="lon",
        title_field="title",
        description_field="description",
    )

    assert result.imported == 1
    [problem] = result.problems
    assert (problem.line, problem.field) == (4, "title")  # the quoted CRLF is a line
    assert "cannot be stored (U+FFFF)" in problem.message
    assert Idea.objects.get().description == "two\nlines"


def test_json_strings_anywhere_in_a_body_are_checked_by_the_parser(city, category):
    """Before any serializer: a key or a nested string of a JSON body is named by its field."""
    response = APIClient().post(
        "/api/ideas/",
        pin_json(location={"type": "Point\uffff", "coordinates": [LON, LAT]}),
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"location": ["contains a character that cannot be stored (U+FFFF)"]}


# --- what XML can carry -----------------------------------------------------------------------


def test_xml_text_replaces_what_xml_cannot_carry():
    from mapideas.plumbing.xml_text import xml_text

    every_bad = "".join(REFUSED) + "\ud800" + "\r"
    cleaned = xml_text(f"a{every_bad}b\tc\nd")

    root = ET.fromstring(f"<t>{cleaned}</t>".encode())  # noqa: S314 - our own text
    # XML 1.0 carries C1, DEL and the noncharacters of U+FDD0-U+FDEF and the other planes;
    # only C0 (but tab, newline, CR), U+FFFE, U+FFFF and surrogates become U+FFFD.
    assert root.text is not None
    assert "\x00" not in cleaned and "\uffff" not in cleaned and "\ufffe" not in cleaned
    assert cleaned.startswith("a") and cleaned.endswith("b\tc\nd")
