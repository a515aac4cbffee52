"""Every form's errors, on every page that shows them, are tied to their field for screen
readers: the errors sit in one element whose id is the field's id + `_error`, the field (or,
for radio buttons, their fieldset; for a field rendered once per row, that row's input) points
at it with `aria-describedby` and says `aria-invalid="true"`, and no `aria-describedby` on the
page points at an id the page lacks."""

import re
from html.parser import HTMLParser

import pytest

from mapideas.models import Idea
from mapideas.participation.services import comment_add
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST
from tests.layered_city import layered_version

pytestmark = pytest.mark.django_db


class _Elements(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


def error_text(html: str, error_id: str) -> str:
    """The text of the one element that holds a field's errors."""
    assert html.count(f'id="{error_id}"') == 1, f"one element id={error_id} on the page"
    found = re.search(rf'<(\w+)[^>]*\bid="{error_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no element id={error_id}"
    return re.sub(r"<[^>]+>", " ", found.group(2)).strip()


def described_by(html: str, error_id: str) -> list[tuple[str, dict[str, str]]]:
    """The elements whose aria-describedby names `error_id`."""
    return [
        (tag, attrs)
        for tag, attrs in elements(html)
        if error_id in attrs.get("aria-describedby", "").split()
    ]


def assert_no_dangling_descriptions(html: str) -> None:
    tags = elements(html)
    ids = {attrs["id"] for _tag, attrs in tags if "id" in attrs}
    for tag, attrs in tags:
        for named in attrs.get("aria-describedby", "").split():
            assert named in ids, f"<{tag} aria-describedby={named!r}> names no element"


def assert_tied(html: str, error_id: str, *, pointing: str) -> None:
    """The error element exists, has text, and the `pointing` element(s) (a tag name) name it;
    a field (not a fieldset) says it is invalid."""
    assert error_text(html, error_id)
    pointers = described_by(html, error_id)
    assert pointers, f"nothing on the page points at {error_id}"
    assert {tag for tag, _attrs in pointers} == {pointing}
    if pointing != "fieldset":
        assert all(attrs.get("aria-invalid") == "true" for _tag, attrs in pointers)
    assert_no_dangling_descriptions(html)


def radio_fieldset(html: str, error_id: str) -> dict[str, str]:
    """The fieldset that names `error_id` holds radio buttons, which say they are invalid."""
    found = re.search(
        rf'<fieldset[^>]*aria-describedby="[^"]*\b{error_id}\b[^"]*"[^>]*>(.*?)</fieldset>',
        html,
        re.S,
    )
    assert found, f"no fieldset points at {error_id}"
    radios = [attrs for tag, attrs in elements(found.group(1)) if attrs.get("type") == "radio"]
    assert radios and all(attrs.get("aria-invalid") == "true" for attrs in radios)
    return dict(elements(found.group(0))[0][1])


@pytest.fixture
def east_pin(city, category) -> Idea:
    return idea_create(kind="issue", title="Broken bench", category=category, location=IN_EAST)


def offline_entry(**overrides) -> dict:
    return {
        "kind": "issue",
        "title": "Streetlight out on Elm",
        "description": "Called in.",
        "category": "parks-green-space",
        "latitude": str(IN_EAST.y),
        "longitude": str(IN_EAST.x),
        "channel": "phone",
    } | overrides


def test_the_offline_forms_kind_error_is_tied_to_its_radio_buttons(
    client, city, category, east_member
):
    client.force_login(east_member)

    response = client.post("/teams/east-team/offline/", offline_entry(kind="neither"))

    assert response.status_code == 400
    html = response.content.decode()
    assert_tied(html, "id_kind_error", pointing="fieldset")
    radio_fieldset(html, "id_kind_error")


def test_the_offline_forms_field_errors_are_tied_to_their_fields(
    client, city, category, east_member
):
    client.force_login(east_member)

    response = client.post("/teams/east-team/offline/", offline_entry(title=""))

    assert_tied(response.content.decode(), "id_title_error", pointing="input")


def test_the_alert_forms_frequency_error_is_tied_to_its_radio_buttons(client, city):
    response = client.post(
        "/alerts/",
        {"email": "ana@example.org", "neighborhood": city.east.slug, "frequency": "hourly"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert_tied(html, "id_frequency_error", pointing="fieldset")
    radio_fieldset(html, "id_frequency_error")


def test_the_bulk_forms_pins_error_is_tied_to_the_pin_checkboxes(client, east_pin, east_member):
    client.force_login(east_member)

    response = client.post("/teams/east-team/bulk/", {"action": "unassign"})

    assert response.status_code == 400
    html = response.content.decode()
    assert_tied(html, "bulk_ideas_error", pointing="input")
    assert all(attrs.get("name") == "ideas" for _t, attrs in described_by(html, "bulk_ideas_error"))


def test_the_bulk_forms_field_errors_are_tied_to_their_fields(client, east_pin, east_member):
    client.force_login(east_member)

    response = client.post("/teams/east-team/bulk/", {"ideas": [east_pin.pk], "action": "status"})

    assert_tied(response.content.decode(), "bulk_status_error", pointing="select")


def test_the_queue_filters_errors_are_tied_to_their_fields(client, east_pin, east_member):
    client.force_login(east_member)

    response = client.get("/teams/east-team/", {"created_after": "yesterday"})

    assert_tied(response.content.decode(), "id_created_after_error", pointing="input")


def test_the_hide_comment_forms_error_is_tied_to_that_comments_reason(
    client, east_pin, east_member, make_user
):
    said = comment_add(idea=east_pin, author=make_user("ana"), text="Rude words")
    other = comment_add(idea=east_pin, author=make_user("bo"), text="Kind words")
    client.force_login(east_member)

    response = client.post(f"/ideas/{east_pin.pk}/comments/{said.pk}/hide/", {"reason": "  "})

    assert response.status_code == 400
    html = response.content.decode()
    error_id = f"hide_reason_{said.pk}_error"
    assert_tied(html, error_id, pointing="input")
    ((_tag, field),) = described_by(html, error_id)
    assert field["id"] == f"hide_reason_{said.pk}"
    other_field = next(a for _t, a in elements(html) if a.get("id") == f"hide_reason_{other.pk}")
    assert "aria-invalid" not in other_field


def test_the_flag_forms_reason_error_is_tied_to_its_radio_buttons(client, east_pin):
    response = client.post(f"/ideas/{east_pin.pk}/flag/", {"reason": "nonsense"})

    assert response.status_code == 400
    html = response.content.decode()
    assert_tied(html, "flag_reason_error", pointing="fieldset")
    radio_fieldset(html, "flag_reason_error")


def test_the_boundary_activation_reason_error_is_tied_to_that_versions_reason(
    client, city, planner
):
    draft = layered_version(label="draft")
    client.force_login(planner)

    response = client.post(f"/staff/boundaries/{draft.pk}/activate/", {"reason": "  "})

    assert response.status_code == 400
    html = response.content.decode()
    assert_tied(html, f"reason-{draft.pk}_error", pointing="input")


def test_the_maps_form_keeps_its_errors_tied(client, city, category):
    response = client.post(
        "/",
        {
            "kind": "neither",
            "title": "",
            "category": "parks-green-space",
            "latitude": str(IN_EAST.y),
            "longitude": str(IN_EAST.x),
        },
    )

    html = response.content.decode()
    assert_tied(html, "id_kind_error", pointing="fieldset")
    radio_fieldset(html, "id_kind_error")
    assert_tied(html, "id_title_error", pointing="input")
