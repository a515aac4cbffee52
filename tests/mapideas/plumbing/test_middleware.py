"""mapideas.plumbing.middleware: a multipart/form-data body whose text is not UTF-8 is refused
before any view reads it, as a form-encoded one is: a 400 naming the field, nothing stored
(Django would decode it with errors="replace" and store U+FFFD as if typed). File contents
are bytes and pass; a file name is text and is checked."""

import base64
import json

import pytest
from django.test import Client

from mapideas.models import Idea, IdeaPhoto
from tests.conftest import IN_EAST
from tests.mapideas.pins.photo_files import gps_jpeg

pytestmark = pytest.mark.django_db

BOUNDARY = "----mapideas-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
LON, LAT = IN_EAST.x, IN_EAST.y


def part(name: bytes, value: bytes, *, filename: bytes | None = None, headers=b"") -> bytes:
    disposition = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
        headers += b"Content-Type: image/jpeg\r\n"
    return b"--" + BOUNDARY.encode() + b"\r\n" + disposition + b"\r\n" + headers + b"\r\n" + value


def multipart(*parts: bytes) -> bytes:
    return b"\r\n".join(parts) + b"\r\n--" + BOUNDARY.encode() + b"--\r\n"


def text_parts(fields: dict[str, bytes]) -> list[bytes]:
    return [part(name.encode(), value) for name, value in fields.items()]


def api_pin(**overrides: bytes) -> dict[str, bytes]:
    location = {"type": "Point", "coordinates": [LON, LAT]}
    return {
        "kind": b"issue",
        "title": b"Broken swing",
        "description": b"The chain is gone.",
        "category": b"parks-green-space",
        "location": json.dumps(location).encode(),
    } | overrides


def form_pin(**overrides: bytes) -> dict[str, bytes]:
    return {
        "kind": b"issue",
        "title": b"Broken swing",
        "description": b"The chain is gone.",
        "category": b"parks-green-space",
        "latitude": str(LAT).encode(),
        "longitude": str(LON).encode(),
    } | overrides


def post(url: str, body: bytes):
    return Client().post(url, body, content_type=MULTIPART)


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith(f"{field}: "), response.content
    assert "UTF-8" in response.content.decode()
    assert not Idea.objects.exists()
    assert not IdeaPhoto.objects.exists()


@pytest.mark.parametrize("url", ["/api/ideas/", "/"])
def test_a_title_that_is_not_utf8_is_refused_naming_it(city, category, url):
    fields = (api_pin if url.startswith("/api/") else form_pin)(title=b"bad \xff\xfe bytes")

    assert_refused(post(url, multipart(*text_parts(fields))), "title")


@pytest.mark.parametrize("url", ["/api/ideas/", "/"])
def test_a_description_cut_in_the_middle_of_a_character_is_refused(city, category, url):
    fields = (api_pin if url.startswith("/api/") else form_pin)(description="café".encode()[:-1])

    assert_refused(post(url, multipart(*text_parts(fields))), "description")


def test_a_base64_field_is_checked_once_decoded(city, category):
    encoded = base64.b64encode(b"bad \xff bytes")
    fields = api_pin()
    del fields["title"]
    title = part(b"title", encoded, headers=b"Content-Transfer-Encoding: base64\r\n")

    assert_refused(post("/api/ideas/", multipart(*text_parts(fields), title)), "title")


def test_a_field_name_that_is_not_utf8_is_refused(city, category):
    body = multipart(*text_parts(api_pin()), part(b"\xff\xfe", b"x"))

    assert_refused(post("/api/ideas/", body), "a field name")


def test_a_file_name_that_is_not_utf8_is_refused_naming_its_field(city, category):
    photo = part(b"photo", gps_jpeg(), filename=b"holiday \xff.jpg")

    assert_refused(post("/api/ideas/", multipart(*text_parts(api_pin()), photo)), "photo")


def test_an_encoded_file_name_that_is_not_utf8_is_refused_naming_its_field(city, category):
    disposition = b"Content-Disposition: form-data; name=\"photo\"; filename*=UTF-8''bad%FF.jpg"
    photo = (
        b"--" + BOUNDARY.encode() + b"\r\n" + disposition + b"\r\n"
        b"Content-Type: image/jpeg\r\n\r\n" + gps_jpeg()
    )

    assert_refused(post("/api/ideas/", multipart(*text_parts(api_pin()), photo)), "photo")


@pytest.mark.parametrize("url", ["/api/ideas/", "/"])
def test_a_photo_is_bytes_and_passes_with_utf8_text(city, category, url, settings, tmp_path):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    fields = (api_pin if url.startswith("/api/") else form_pin)(title="Café «bancs»".encode())
    # A JPEG is not UTF-8 (its first byte is 0xFF), and so are its markers' bytes.
    photo = part(b"photo", gps_jpeg(), filename="vacances-été.jpg".encode())

    response = post(url, multipart(*text_parts(fields), photo))

    assert response.status_code in (201, 302), response.content[:300]
    assert Idea.objects.get().title == "Café «bancs»"
    assert IdeaPhoto.objects.count() == 1


def test_a_declared_other_charset_is_read_as_declared(city, category):
    body = multipart(*text_parts(api_pin(title="Caf\xe9".encode("latin-1"))))

    # As str: the test client encodes it in the charset the content type declares.
    response = Client().post(
        "/api/ideas/", body.decode("latin-1"), content_type=f"{MULTIPART}; charset=latin-1"
    )

    assert response.status_code == 201, response.content[:300]
    assert Idea.objects.get().title == "Café"


def test_a_body_cut_short_is_a_400_not_a_500(city, category):
    body = multipart(*text_parts(api_pin()))[:-30]

    response = post("/api/ideas/", body)

    assert 400 <= response.status_code < 500
    assert not Idea.objects.exists()
