"""What a photo costs a worker in memory: the worst photo accepted of each type, processed in
a fresh process, takes it at most 100 MB above what it held before (VmHWM, the peak resident
size, against VmRSS just before; the peak is reset first); hostile photos (a few hundred
kilobytes declaring tens of megapixels) are refused from their header or stay within the
same bound; and a phone's photos, 12 and 50 megapixels, are taken end to end by the API.

The worst photos are built here at the largest sizes the limits of mapideas.pins.photos
accept (the tests at the end check that one pixel more is refused), padded with metadata up
to the largest file accepted."""

import json
import os
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from mapideas.models import Idea
from mapideas.pins import photos
from tests.conftest import IN_WEST
from tests.mapideas.pins.photo_files import ROTATE_90_CW, camera_exif, huge_png_header, upload

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="VmHWM and VmRSS are read from Linux's /proc"
)

# The promise: what one worker may take above what it held, for the worst photo accepted.
MAX_GROWTH = 100_000_000
# The largest file accepted (MAPIDEAS_PHOTO_MAX_BYTES as shipped), less room for the picture.
PADDED_SIZE = 10 * 1024 * 1024 - 1_000_000

# The largest of each kind the limits accept, so the costliest to decode:
# - a JPEG decoded at full size: 12.58 megapixels of 4 bytes (photos.DECODE_BUDGET);
WORST_JPEG = (3547, 3547)
# - a progressive one, whose every coefficient libjpeg keeps (36 MiB) besides the half-size
#   picture;
WORST_PROGRESSIVE_JPEG = (4096, 3072)
# - a PNG, decoded at full size (12.58 megapixels), in RGBA, 16 bits or with a palette;
WORST_PNG = (4096, 3072)
# - a WebP, which Pillow holds four times over (3.1 megapixels).
WORST_WEBP = (2048, 1536)
# Phones: a 12-megapixel camera, and a 50-megapixel one (Google's and Samsung's sensors).
PHONE_12MP = (4032, 3024)
PHONE_50MP = (8160, 6144)
# From the attack: 170 KB of RGBA PNG, and a progressive JPEG whose colours are not
# subsampled (libjpeg then keeps 6 bytes a pixel of coefficients).
HOSTILE_PNG = (6320, 6320)
HOSTILE_PROGRESSIVE_JPEG = (7300, 5475)

# Run in a fresh interpreter: processes one photo (or the same photo in several threads at
# once) and prints the result and how much the process grew meanwhile.
CHILD = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import django

django.setup()
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from mapideas.pins import photos


def status(key):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024


def process(data):
    try:
        photo = photos.photo_process(SimpleUploadedFile("photo", data))
    except ValidationError as refused:
        return refused.message_dict["photo"][0]
    return [photo.width, photo.height]


path, threads = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as file:
    data = file.read()
# What a worker loads once, not per photo: Pillow's readers and writer, the translations.
for kind in ("JPEG", "PNG", "WEBP"):
    small = BytesIO()
    Image.new("RGB", (64, 48)).save(small, kind)
    process(small.getvalue())
process(b"not a photo")
# The peak starts again from what the process holds now (Linux 4.0 and later).
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
before = status("VmRSS")
with ThreadPoolExecutor(threads) as pool:
    results = list(pool.map(process, [data] * threads))
print(json.dumps({"results": results, "grew": status("VmHWM") - before}))
"""


def jpeg(size, *, padded: bool = False, **params) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, "JPEG", **params)
    data = out.getvalue()
    if not padded:
        return data
    # XMP, ICC profiles, depth maps: APP segments of 64 KB, as many as the file may hold.
    segment = b"\xff\xe1\xff\xff" + b"http://ns.adobe.com/xap/1.0/\x00" + b"x" * 65_504
    count = (PADDED_SIZE - len(data)) // len(segment)
    return data[:2] + segment * count + data[2:]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png(size, mode: str, *, padded: bool = False, **params) -> bytes:
    out = BytesIO()
    Image.new(mode, size, (10, 20, 30, 128) if mode == "RGBA" else 3).save(out, "PNG", **params)
    return _padded_png(out.getvalue()) if padded else out.getvalue()


def png16(size, *, grey: bool = False) -> bytes:
    """A 16-bit PNG (Pillow writes none), RGBA or grey, written row by row."""
    width, height = size
    row = b"\x00" + b"\x12\x34" * (1 if grey else 4) * width
    squeeze = zlib.compressobj(9)
    pixels = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 0 if grey else 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def _padded_png(data: bytes) -> bytes:
    # Text chunks of 1 MB (Pillow keeps up to 64 of them), up to the largest file.
    text = png_chunk(b"tEXt", b"Comment\x00" + b"t" * 1_000_000)
    count = (PADDED_SIZE - len(data)) // len(text)
    return data[:33] + text * count + data[33:]


def webp(size, *, padded: bool = False, **params) -> bytes:
    out = BytesIO()
    if padded:
        params["xmp"] = b"x" * (PADDED_SIZE - 100_000)
    Image.new("RGBA", size, (10, 20, 30, 128)).save(out, "WEBP", **params)
    return out.getvalue()


# name -> (how to build it, whether it is accepted, threads processing it at once)
CASES = {
    "jpeg: the largest decoded at full size, 10 MB of metadata": (
        lambda: jpeg(WORST_JPEG, padded=True),
        True,
        1,
    ),
    "jpeg: progressive, the largest": (
        lambda: jpeg(WORST_PROGRESSIVE_JPEG, progressive=True),
        True,
        1,
    ),
    "jpeg: a 50-megapixel phone's photo": (lambda: jpeg(PHONE_50MP), True, 1),
    "png: RGBA, the largest, 10 MB of text": (
        lambda: png(WORST_PNG, "RGBA", padded=True),
        True,
        1,
    ),
    "png: 16-bit RGBA, the largest": (lambda: png16(WORST_PNG), True, 1),
    "png: a palette with transparency, the largest": (
        lambda: png(WORST_PNG, "P", transparency=3),
        True,
        1,
    ),
    "webp: lossless, the largest, 10 MB of XMP": (
        lambda: webp(WORST_WEBP, padded=True, lossless=True),
        True,
        1,
    ),
    "webp: lossy with transparency, the largest": (
        lambda: webp(WORST_WEBP, quality=80),
        True,
        1,
    ),
    # Threads of one worker take their turn: three at once cost what one does.
    "png: the largest RGBA, three at once in one worker": (
        lambda: png(WORST_PNG, "RGBA"),
        True,
        3,
    ),
    "hostile: a 170 KB RGBA PNG of 6320 x 6320": (lambda: png(HOSTILE_PNG, "RGBA"), False, 1),
    "hostile: a progressive JPEG of 40 megapixels, no subsampling": (
        lambda: jpeg(HOSTILE_PROGRESSIVE_JPEG, progressive=True, subsampling=0),
        False,
        1,
    ),
    "hostile: a PNG declaring 10 gigapixels": (huge_png_header, False, 1),
}


def _measure(path: Path, threads: int) -> dict:
    run = subprocess.run(  # noqa: S603 - this interpreter, on a script and a file of the test
        [sys.executable, "-c", CHILD, str(path), str(threads)],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE},
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[str, dict]:
    """Every case, each in a fresh process, a few at a time."""
    folder = tmp_path_factory.mktemp("photos")
    paths = {}
    for number, (name, (build, _accepted, _threads)) in enumerate(CASES.items()):
        paths[name] = folder / f"{number}.bin"
        paths[name].write_bytes(build())
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {name: pool.submit(_measure, paths[name], CASES[name][2]) for name in CASES}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_the_worst_photo_of_each_kind_stays_within_100_mb(measured, name):
    _build, accepted, _threads = CASES[name]
    result = measured[name]

    grew_mb = result["grew"] / 1_000_000
    assert result["grew"] <= MAX_GROWTH, f"{name}: +{grew_mb:.0f} MB, {result['results']}"
    for outcome in result["results"]:
        if accepted:
            assert isinstance(outcome, list), f"{name}: refused: {outcome}"
            assert max(outcome) <= settings.MAPIDEAS_PHOTO_MAX_SIDE
        else:
            assert isinstance(outcome, str), f"{name}: accepted ({outcome}), +{grew_mb:.0f} MB"
            assert "too many pixels" in outcome


# --- One pixel more is refused (so the cases above are the worst accepted) ------------------


def refused(data: bytes) -> str:
    with pytest.raises(ValidationError) as caught:
        photos.photo_process(upload(data, "photo"))
    assert list(caught.value.message_dict) == ["photo"]
    return caught.value.message_dict["photo"][0]


def test_a_png_with_a_row_more_than_the_largest_is_refused_from_its_header():
    width, height = WORST_PNG
    # Refused before decoding: the header alone declares it, nothing follows.
    message = refused(huge_png_header(width, height + 1))

    assert message == "The photo has too many pixels: at most 12.5 megapixels."


def test_a_webp_with_a_row_more_than_the_largest_is_refused():
    width, height = WORST_WEBP

    message = refused(webp((width, height + 1), lossless=True))

    assert message == "The photo has too many pixels: at most 3.1 megapixels."


def test_a_progressive_jpeg_whose_coefficients_alone_are_too_many_is_refused():
    # Larger than WORST_PROGRESSIVE_JPEG, it is decoded more reduced (and stored smaller),
    # until its coefficients alone (3 bytes a pixel, in 4:2:0) fill the budget.
    message = refused(jpeg((4096, 4096), progressive=True))

    assert message == "The photo has too many pixels: at most 16.4 megapixels."


def test_a_jpeg_beyond_80_megapixels_is_refused_from_its_header():
    # A small JPEG whose frame header declares 10000 x 8001 pixels.
    data = bytearray(jpeg((64, 48)))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", 8001, 10000)

    assert refused(bytes(data)) == "The photo has too many pixels: at most 80 megapixels."


def test_a_jpeg_whose_first_scan_lacks_a_component_counts_its_coefficients():
    # Sequential, but not interleaved: libjpeg keeps the whole image's coefficients, as for
    # a progressive one. Only the header is read; 48 megapixels of them are too many.
    data = bytearray(jpeg((64, 48)))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", 6000, 8000)
    scan = data.index(b"\xff\xda")
    data[scan + 4] = 1

    assert refused(bytes(data)) == "The photo has too many pixels: at most 16.4 megapixels."


def test_a_lossless_jpeg_is_refused():
    # libjpeg decodes a lossless JPEG at full size only: the frame says which it is.
    data = bytearray(jpeg((64, 48)))
    data[data.index(b"\xff\xc0") + 1] = 0xC3

    assert refused(bytes(data)) == photos.NOT_A_PHOTO_MESSAGE


# --- Phones' photos, end to end -------------------------------------------------------------


@pytest.fixture
def photo_root(settings, tmp_path):
    settings.MAPIDEAS_PHOTO_ROOT = tmp_path / "photos"
    return settings.MAPIDEAS_PHOTO_ROOT


def phone_photo(size) -> bytes:
    # As a phone held upright writes it: landscape pixels, turned by the EXIF orientation.
    return jpeg(size, quality=90, exif=camera_exif(orientation=ROTATE_90_CW).tobytes())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("size", "stored"), [(PHONE_12MP, (1536, 2048)), (PHONE_50MP, (1542, 2048))]
)
def test_a_phones_photo_is_taken_by_the_api(city, category, photo_root, size, stored):
    body = {
        "kind": "issue",
        "title": "Broken bench",
        "description": "",
        "category": category.slug,
        "location": json.dumps({"type": "Point", "coordinates": [IN_WEST.x, IN_WEST.y]}),
        "photo": upload(phone_photo(size), "IMG_0042.jpg"),
    }

    response = APIClient().post("/api/ideas/", body, format="multipart")

    assert response.status_code == 201, response.content
    idea = Idea.objects.get()
    assert (idea.photo.width, idea.photo.height) == stored
    served = Client().get(response.json()["properties"]["photo_url"])
    with Image.open(BytesIO(b"".join(served.streaming_content))) as image:
        assert image.size == stored and image.format == "JPEG"
        assert len(image.getexif()) == 0
