"""Image files made with Pillow for the photo tests: camera-like JPEGs carrying GPS EXIF,
PNGs, WebPs, and hostile files (not an image, cut short, a decompression bomb)."""

import struct
import zlib
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

CAMERA_MAKE = "ZqSecretCam-5309"
GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
# Rotate 90° clockwise to display (a phone held upright).
ROTATE_90_CW = 6


def camera_exif(*, orientation: int | None = None) -> Image.Exif:
    """EXIF as a phone writes it: its make and where the photo was taken (GPS)."""
    exif = Image.Exif()
    exif[MAKE] = CAMERA_MAKE
    if orientation is not None:
        exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {
        1: "N",
        2: (50.0, 0.0, 17.5),
        3: "E",
        4: (4.0, 0.0, 43.25),
    }
    return exif


def image_bytes(
    fmt: str = "JPEG",
    size: tuple[int, int] = (64, 48),
    *,
    mode: str = "RGB",
    color=(200, 30, 30),
    exif: Image.Exif | None = None,
) -> bytes:
    image = Image.new(mode, size, color)
    out = BytesIO()
    params = {"exif": exif.tobytes()} if exif is not None else {}
    image.save(out, format=fmt, **params)
    return out.getvalue()


def gps_jpeg(size: tuple[int, int] = (64, 48), orientation: int | None = None) -> bytes:
    data = image_bytes("JPEG", size, exif=camera_exif(orientation=orientation))
    # The fixture must carry what the processing has to remove.
    with Image.open(BytesIO(data)) as check:
        assert check.getexif().get_ifd(GPS_IFD), "the test JPEG should carry GPS tags"
        assert check.getexif()[MAKE] == CAMERA_MAKE
    return data


def huge_png_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG signature and header declaring `width` x `height` pixels, and one tiny
    compressed row: a few dozen bytes that would decode to gigabytes."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "holiday-at-home.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)
