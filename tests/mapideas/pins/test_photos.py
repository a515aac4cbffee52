"""mapideas.pins.photos and the services that store a pin's photo: what is accepted, what is
refused (with a message on `photo`, nothing written), and that what is stored carries no
metadata, GPS above all."""

from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from PIL import Image, ImageChops

from mapideas.models import Idea, IdeaPhoto
from mapideas.pins import photos
from mapideas.submission.services import idea_submit
from tests.conftest import IN_WEST, OUTSIDE_CITY
from tests.mapideas.pins.photo_files import (
    CAMERA_MAKE,
    ROTATE_90_CW,
    camera_exif,
    gps_jpeg,
    huge_png_header,
    image_bytes,
    upload,
)


@pytest.fixture(autouse=True)
def photo_root(settings, tmp_path) -> Path:
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    return settings.MAPIDEAS_PHOTO_ROOT


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def refused_message(data: bytes, name: str = "photo.jpg") -> str:
    with pytest.raises(ValidationError) as caught:
        photos.photo_process(upload(data, name))
    assert list(caught.value.message_dict) == ["photo"]
    return caught.value.message_dict["photo"][0]


def assert_no_metadata(content: bytes) -> None:
    with Image.open(BytesIO(content)) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert not image.getexif().get_ifd(0x8825)
        for key in ("exif", "xmp", "icc_profile", "comment"):
            assert key not in image.info, key
    # Not hidden anywhere in the bytes either.
    assert b"Exif" not in content
    assert CAMERA_MAKE.encode() not in content


# --- Processing ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_accepts_jpeg_png_and_webp_and_stores_a_jpeg(fmt):
    processed = photos.photo_process(upload(image_bytes(fmt, (80, 60)), f"x.{fmt.lower()}"))

    with Image.open(BytesIO(processed.content)) as image:
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        assert image.size == (80, 60) == (processed.width, processed.height)


def test_it_removes_every_exif_tag_gps_included():
    processed = photos.photo_process(upload(gps_jpeg()))

    assert_no_metadata(processed.content)


def test_it_removes_exif_from_a_png_too():
    data = image_bytes("PNG", exif=camera_exif())
    processed = photos.photo_process(upload(data, "x.png"))

    assert_no_metadata(processed.content)


def test_it_turns_the_photo_upright_by_its_exif_orientation():
    processed = photos.photo_process(upload(gps_jpeg((200, 100), orientation=ROTATE_90_CW)))

    # Stored upright: the orientation tag is gone, so the pixels must be turned.
    assert (processed.width, processed.height) == (100, 200)


def test_it_limits_the_long_side(settings):
    settings.MAPIDEAS_PHOTO_MAX_SIDE = 50

    processed = photos.photo_process(upload(image_bytes("PNG", (400, 80)), "wide.png"))

    assert (processed.width, processed.height) == (50, 10)


def test_it_lays_transparency_on_white():
    processed = photos.photo_process(
        upload(image_bytes("PNG", (10, 10), mode="RGBA", color=(0, 0, 0, 0)), "clear.png")
    )

    with Image.open(BytesIO(processed.content)) as image:
        assert min(image.getpixel((5, 5))) > 240


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_turns_each_type_upright(fmt):
    data = image_bytes(fmt, (200, 100), exif=camera_exif(orientation=ROTATE_90_CW))

    processed = photos.photo_process(upload(data, f"x.{fmt.lower()}"))

    assert (processed.width, processed.height) == (100, 200)
    assert_no_metadata(processed.content)


def test_metadata_beside_exif_is_dropped_too():
    out = BytesIO()
    Image.new("RGB", (80, 60)).save(
        out, "JPEG", icc_profile=b"ZqProfile" * 100, comment=b"ZqComment", xmp=b"<ZqXmp/>"
    )

    content = photos.photo_process(upload(out.getvalue())).content

    assert_no_metadata(content)
    assert b"ZqProfile" not in content and b"ZqComment" not in content and b"Zq" not in content


def test_a_16_bit_grey_png_keeps_its_greys():
    # Pillow reads it as I;16, whose plain conversion to RGB would clip every grey to white.
    from tests.mapideas.pins.test_photo_memory import png16

    processed = photos.photo_process(upload(png16((40, 30), grey=True), "grey.png"))

    with Image.open(BytesIO(processed.content)) as image:
        # 0x1234 of 0xFFFF: 18 of 255.
        assert all(abs(value - 18) <= 2 for value in image.getpixel((20, 15)))


def test_a_transparent_colour_is_laid_on_white():
    out = BytesIO()
    Image.new("RGB", (20, 20), (0, 0, 0)).save(out, "PNG", transparency=(0, 0, 0))

    processed = photos.photo_process(upload(out.getvalue(), "key.png"))

    with Image.open(BytesIO(processed.content)) as image:
        assert min(image.getpixel((10, 10))) > 240


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_animated_image_gives_its_first_picture(fmt):
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((220, 20, 20), (20, 20, 220))]
    out = BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)

    processed = photos.photo_process(upload(out.getvalue(), f"moving.{fmt.lower()}"))

    with Image.open(BytesIO(processed.content)) as image:
        red, _green, blue = image.getpixel((20, 15))
        assert red > 180 and blue < 60


@pytest.mark.parametrize(
    ("size", "stored"),
    [((1500, 1100), (700, 513)), ((999, 3001), (233, 700)), ((5000, 300), (700, 42))],
)
def test_scaling_tile_by_tile_leaves_no_seam(size, stored):
    # Noise with noisy transparency, the hardest case: tile by tile, the result is the one
    # resize of the whole image laid on white (across, then down), give or take rounding.
    image = Image.effect_noise(size, 64).convert("RGB")
    image.putalpha(Image.effect_noise(size, 90))
    flat = Image.new("RGB", size, "white")
    flat.paste(image, mask=image.getchannel("A"))
    whole = flat.resize((stored[0], size[1]), Image.Resampling.LANCZOS).resize(
        stored, Image.Resampling.LANCZOS
    )

    tiled = photos._scaled_on_white(image, stored)

    assert max(high for _low, high in ImageChops.difference(whole, tiled).getextrema()) <= 1


def test_a_text_file_named_jpg_is_refused():
    message = refused_message(b"Just some text, not a photo at all.\n" * 10, "photo.jpg")

    assert message == photos.NOT_A_PHOTO_MESSAGE


def test_an_image_of_another_type_is_refused():
    assert refused_message(image_bytes("GIF"), "cat.gif") == photos.NOT_A_PHOTO_MESSAGE


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_refused(fmt):
    noise = Image.effect_noise((300, 200), 60).convert("RGB")
    out = BytesIO()
    noise.save(out, format=fmt)
    whole = out.getvalue()

    assert refused_message(whole[: len(whole) // 2]) == photos.DAMAGED_MESSAGE


def test_an_empty_file_is_refused():
    assert refused_message(b"") == photos.EMPTY_MESSAGE


def test_a_decompression_bomb_is_refused_before_decoding():
    # ~100 bytes declaring 10 gigapixels.
    assert refused_message(huge_png_header(), "bomb.png") == photos.too_many_pixels_message()


def test_a_file_over_the_size_limit_is_refused(settings):
    data = image_bytes("PNG", (200, 200))
    settings.MAPIDEAS_PHOTO_MAX_BYTES = len(data) - 1

    message = refused_message(data, "big.png")

    assert message == photos.too_big_message()
    assert message.startswith("The photo is too large: at most ")


def test_the_limits_are_said_in_words():
    text = photos.limits_text()

    assert "10 MB" in text and "80 megapixels" in text and "EXIF" in text


def test_the_default_root_is_outside_static_and_templates():
    # The setting as configured (the fixture moved it for the tests): under var/, not served.
    from mapideas import settings as project_settings

    root = project_settings.MAPIDEAS_PHOTO_ROOT
    assert root == (project_settings.BASE_DIR / "var" / "photos").resolve()
    assert django_settings.STATIC_ROOT not in root.parents


# --- Storing with a pin --------------------------------------------------------------------


def submit(photo, point=IN_WEST, **overrides) -> Idea:
    fields = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "",
        "location": point,
        "photo": photo,
    }
    fields.update(overrides)
    return idea_submit(**fields)


@pytest.mark.django_db
def test_the_pin_and_its_photo_are_stored_together(city, category, photo_root):
    idea = submit(upload(gps_jpeg((300, 200))), category=category)

    photo = IdeaPhoto.objects.get(idea=idea)
    files = stored_files(photo_root)
    assert len(files) == 1 and files[0] == photo_root / photo.name
    # A random name: nothing of what the citizen's file was called.
    assert "holiday" not in photo.name and photo.name.endswith(".jpg")
    assert len(Path(photo.name).stem) == 32
    content = files[0].read_bytes()
    assert (photo.width, photo.height, photo.bytes) == (300, 200, len(content))
    assert_no_metadata(content)


@pytest.mark.django_db
def test_two_photos_never_share_a_name(city, category, photo_root):
    first = submit(upload(gps_jpeg()), category=category)
    second = submit(upload(gps_jpeg()), category=category)

    assert first.photo.name != second.photo.name
    assert len(stored_files(photo_root)) == 2


@pytest.mark.django_db
def test_a_refused_photo_refuses_the_pin_and_writes_nothing(city, category, photo_root):
    with pytest.raises(ValidationError) as caught:
        submit(upload(b"not an image", "evil.jpg"), category=category)

    assert "photo" in caught.value.message_dict
    assert Idea.objects.count() == 0 and IdeaPhoto.objects.count() == 0
    assert stored_files(photo_root) == []


@pytest.mark.django_db
def test_a_pin_refused_after_the_file_was_written_leaves_no_file(city, category, photo_root):
    # The photo is fine; the place is not: the transaction rolls back and the file goes.
    with pytest.raises(ValidationError) as caught:
        submit(upload(gps_jpeg()), point=OUTSIDE_CITY, category=category)

    assert "location" in caught.value.message_dict
    assert Idea.objects.count() == 0 and IdeaPhoto.objects.count() == 0
    assert stored_files(photo_root) == []


@pytest.mark.django_db
def test_a_pin_without_a_photo_has_none(city, category, photo_root):
    idea = submit(None, category=category)

    assert not IdeaPhoto.objects.filter(idea=idea).exists()
    assert stored_files(photo_root) == []


@pytest.mark.django_db
def test_deleting_the_pin_deletes_its_file_once_committed(
    city, category, photo_root, django_capture_on_commit_callbacks
):
    idea = submit(upload(gps_jpeg()), category=category)
    assert len(stored_files(photo_root)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        idea.delete()

    assert IdeaPhoto.objects.count() == 0
    assert stored_files(photo_root) == []
