"""A pin's optional photo: checked, re-encoded and stored (plain functions, no database).

What a citizen uploads is never stored as sent. Its type is read from the bytes (not the
name or the Content-Type the browser claims): JPEG, PNG or WebP, and Pillow opens it with
that one decoder only. It is refused above MAPIDEAS_PHOTO_MAX_BYTES; then turned upright by
its EXIF orientation, scaled down to MAPIDEAS_PHOTO_MAX_SIDE on its long side, and written as
a fresh JPEG with no metadata at all: no EXIF (so no GPS position, camera serial or time), no
XMP, no ICC profile, no comment. The file goes to the photo storage (MAPIDEAS_PHOTO_ROOT,
outside any web root) under a random name, and is served only by views.idea_photo.

Memory. A small file can declare a huge picture (a 170 KB PNG of 6320 x 6320 pixels decodes
to 160 MB, and was then copied twice more), so what decoding costs is known before a pixel is:
- the type and dimensions are read from the header by this module, before Pillow opens the
  file (Pillow's WebP reader sets up its canvas as it opens); more than MAX_DECLARED_PIXELS
  is refused whatever the type;
- a JPEG is decoded reduced (libjpeg's 1/2, 1/4 or 1/8 scale, Pillow's `draft`) to no less
  than the size it is stored at, so a phone's 12 to 64 megapixel photo decodes to a few
  megapixels; a JPEG whose scans make libjpeg keep every coefficient of the image at full
  size (progressive, or not interleaved) counts those too, and decodes more reduced if that
  keeps it within the budget;
- what the decoded picture (and those coefficients) takes is capped by DECODE_BUDGET: this
  sets the most pixels of a PNG (12.5 megapixels) and of a WebP (3.1, Pillow holds it four
  times over), and refuses the rare JPEG that would take more even at 1/8;
- the metadata Pillow would read and keep (APP segments, text chunks: up to the whole file)
  is cut before Pillow sees it, as it is dropped anyway; only what decoding needs stays, and
  the EXIF block (at most 64 KB) that tells the orientation;
- the picture is scaled, laid on white and turned to RGB a tile at a time, never as a second
  full-size copy, and freed before the small one is encoded;
- one photo at a time is decoded in a worker process (its threads wait their turn).
So the worst photo accepted of each type takes a worker at most 100 MB above what it held
before (tests/mapideas/pins/test_photo_memory.py measures it in a fresh process). An
animated PNG or WebP gives its first picture.

The row (IdeaPhoto) is written by services; see services._create_with_photo for how the file
and the row stay together.
"""

import math
import secrets
import threading
import warnings
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import ExifTags, Image, UnidentifiedImageError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"

MIB = 1024 * 1024
# The most pixels a photo may declare, whatever its type: a 64-megapixel phone's photo
# (9248 x 6936) fits. Larger ones are refused from the header: decoded reduced, they would
# fit in memory, but would still take the time of every pixel.
MAX_DECLARED_PIXELS = 80_000_000
# What one photo may hold decoded at once: the picture as Pillow keeps it (4 bytes a pixel,
# WEBP_BYTES_PER_PIXEL for a WebP), plus libjpeg's coefficients when it keeps the whole
# image's. Around it come the photo's bytes, the tile being converted and the stored size in
# RGB (16 MB at 2048 x 2048): measured, the worst accepted photo of each type stays within
# 100 MB of what the worker held before.
DECODE_BUDGET = 48 * MIB
BYTES_PER_PIXEL = 4
# Pillow reads a WebP through libwebp's animation decoder, which keeps its canvas twice and
# hands it over as bytes that Pillow copies into the image: four copies of 4 bytes a pixel.
WEBP_BYTES_PER_PIXEL = 16
# libjpeg keeps 64 coefficients of 2 bytes for each 8 x 8 block.
JPEG_BYTES_PER_BLOCK = 128
# The reduced sizes libjpeg decodes a JPEG at (Pillow's `draft`): 1/1, 1/2, 1/4 and 1/8.
JPEG_SCALES = (1, 2, 4, 8)
# The start-of-frame markers of the JPEGs taken, and whether they are progressive: Huffman
# baseline, extended and progressive, and their arithmetic-coded kin. Lossless JPEGs (which
# libjpeg cannot decode reduced) and hierarchical ones (which it cannot decode) are refused.
JPEG_FRAMES = {0xC0: False, 0xC1: False, 0xC2: True, 0xC9: False, 0xCA: True}
# The APP segments a JPEG keeps, each at most 64 KB, the first of each kind: JFIF and Adobe
# (how the colours are coded) and EXIF (the orientation). Other APP segments and comments
# (XMP, ICC profiles, depth maps...) are cut before Pillow reads them.
JPEG_KEPT_APP = {0xE0: b"JFIF\x00", 0xE1: b"Exif\x00\x00", 0xEE: b"Adobe"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The chunks a PNG keeps: its (first) picture. Text, ICC profile, the frames of an animated
# PNG... are cut before Pillow reads them; an EXIF chunk stays if it is no larger than a
# JPEG's can be.
PNG_KEPT = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
MAX_EXIF_BYTES = 65_535
# The chunks a WebP keeps: its picture (or frames) and their transparency. ICC profile and
# XMP are cut, EXIF too if larger than a JPEG's can be; the flags of VP8X say so.
WEBP_KEPT = {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"}
WEBP_ICC, WEBP_EXIF, WEBP_XMP = 0x20, 0x08, 0x04
# Pictures are scaled and converted a tile of TILE x TILE output pixels at a time.
TILE = 256
# Lanczos reads 3 source pixels (times the scale) on each side of an output pixel.
LANCZOS_SUPPORT = 3

# One photo decoded at a time per worker process: with threaded workers (WEB_THREADS) the
# budget above holds per process, not per thread. A photo waits its turn rather than being
# refused: a turn is short (the worst photo accepted takes about a second) and a worker has
# few threads, so the wait is too; refused, the citizen would only send it again.
_decoding = threading.Lock()

# EXIF orientation -> the turn that puts the pixels upright (as ImageOps.exif_transpose).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _megabytes(size: int) -> str:
    return _("%(size)s MB") % {"size": f"{size / (1024 * 1024):g}"}


def _megapixels(pixels: int) -> str:
    # Rounded down: "at most 12.5" must not promise a pixel more than the limit.
    return f"{math.floor(pixels / 100_000) / 10:g}"


def max_png_pixels() -> int:
    return DECODE_BUDGET // BYTES_PER_PIXEL


def max_webp_pixels() -> int:
    return DECODE_BUDGET // WEBP_BYTES_PER_PIXEL


def too_big_message() -> str:
    return _("The photo is too large: at most %(size)s.") % {
        "size": _megabytes(settings.MAPIDEAS_PHOTO_MAX_BYTES)
    }


def too_many_pixels_message(max_pixels: int = MAX_DECLARED_PIXELS) -> str:
    """The refusal of a photo with more pixels than `max_pixels`, the limit of its kind."""
    return _("The photo has too many pixels: at most %(megapixels)s megapixels.") % {
        "megapixels": _megapixels(max_pixels)
    }


NOT_A_PHOTO_MESSAGE = gettext_lazy(
    "This file is not a photo we can take: send a JPEG, PNG or WebP image."
)
DAMAGED_MESSAGE = gettext_lazy(
    "This photo could not be read (the file may be damaged or cut short)."
)
EMPTY_MESSAGE = gettext_lazy("The photo file is empty.")


def limits_text() -> str:
    """The limits in words, for the forms' help text and the API's documentation."""
    # The lower limits of PNG and WebP images are said when one is refused.
    return _(
        "JPEG, PNG or WebP, at most %(size)s and %(megapixels)s megapixels. It is resized to "
        "at most %(side)s pixels, and its location and camera data (EXIF) are removed."
    ) % {
        "size": _megabytes(settings.MAPIDEAS_PHOTO_MAX_BYTES),
        "megapixels": _megapixels(MAX_DECLARED_PIXELS),
        "side": settings.MAPIDEAS_PHOTO_MAX_SIDE,
    }


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo as it will be stored: a metadata-free JPEG and its size."""

    content: bytes
    width: int
    height: int


@dataclass(frozen=True)
class _Upload:
    """An upload as read before Pillow opens it: its type, its size as the header declares
    it, and the bytes Pillow will read (the metadata cut)."""

    format: str
    width: int
    height: int
    data: bytes
    # JPEG only: the bytes of the coefficients libjpeg keeps for the whole image; 0 when it
    # decodes as it reads (a single interleaved sequential scan).
    whole_image_bytes: int = 0


def _refuse(message: "StrOrPromise") -> ValidationError:
    return ValidationError({"photo": [message]})


def photo_process(upload: File) -> ProcessedPhoto:
    """Check and re-encode an uploaded photo, or raise a ValidationError naming `photo`.

    Nothing is written anywhere: a refused photo leaves no trace."""
    max_bytes = settings.MAPIDEAS_PHOTO_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise _refuse(too_big_message())
    upload.seek(0)
    # One byte more than allowed tells a file whose size was not known up front.
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _refuse(too_big_message())
    if not data:
        raise _refuse(EMPTY_MESSAGE)
    photo = _read(data)
    # From here on only photo.data is read: the bytes as sent need not be held any longer.
    del data
    with _decoding:
        return _decode(photo)


def _read(data: bytes) -> _Upload:
    """The type and dimensions from the bytes, refused when decoding would cost too much."""
    if data.startswith(PNG_SIGNATURE):
        photo = _read_png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        photo = _read_jpeg(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        photo = _read_webp(data)
    else:
        raise _refuse(NOT_A_PHOTO_MESSAGE)
    if photo.width <= 0 or photo.height <= 0:
        raise _refuse(DAMAGED_MESSAGE)
    pixels = photo.width * photo.height
    if pixels > MAX_DECLARED_PIXELS:
        raise _refuse(too_many_pixels_message())
    if photo.format == "PNG" and pixels > max_png_pixels():
        raise _refuse(too_many_pixels_message(max_png_pixels()))
    if photo.format == "WEBP" and pixels > max_webp_pixels():
        raise _refuse(too_many_pixels_message(max_webp_pixels()))
    if photo.format == "JPEG":
        _jpeg_scale(photo)
    return photo


def _read_png(data: bytes) -> _Upload:
    """A PNG's size from its header (IHDR, the first chunk), and its chunks but metadata."""
    if data[12:16] != b"IHDR" or len(data) < 24:
        raise _refuse(DAMAGED_MESSAGE)
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    kept, position, exif_kept = [PNG_SIGNATURE], len(PNG_SIGNATURE), False
    while True:
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            # Cut short: what is left goes to Pillow, which tells the file is damaged.
            kept.append(data[position:])
            break
        if kind in PNG_KEPT or (kind == b"eXIf" and length <= MAX_EXIF_BYTES and not exif_kept):
            kept.append(data[position:end])
            exif_kept = exif_kept or kind == b"eXIf"
        position = end
        if kind == b"IEND":
            break
    return _Upload("PNG", width, height, b"".join(kept))


def _read_webp(data: bytes) -> _Upload:
    """A WebP's canvas size, as each of its three layouts puts it (RFC 9649), and its chunks
    but metadata."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
    elif chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
    else:
        raise _refuse(DAMAGED_MESSAGE)
    kept, position, exif_kept = [], 12, False
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        # Chunks are padded to an even length.
        end = position + 8 + length + (length & 1)
        if end > len(data):
            break
        if kind in WEBP_KEPT or (kind == b"EXIF" and length <= MAX_EXIF_BYTES and not exif_kept):
            kept.append(bytearray(data[position:end]))
            exif_kept = exif_kept or kind == b"EXIF"
        position = end
    # Cut short: what is left goes to Pillow, which tells the file is damaged.
    kept.append(bytearray(data[position:]))
    if kept[0][:4] == b"VP8X":
        # The extended header's flags say which chunks follow: no ICC profile, no XMP, and no
        # EXIF unless it was kept.
        kept[0][8] &= ~(WEBP_ICC | WEBP_XMP | (0 if exif_kept else WEBP_EXIF))
    body = b"".join(kept)
    riff = b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WEBP"
    return _Upload("WEBP", width, height, riff + body)


def _read_jpeg(data: bytes) -> _Upload:
    """A JPEG's frame (SOF) and first scan (SOS), walking its segments, and the segments but
    metadata (JPEG_KEPT_APP); from the first scan on, the file is kept as it is.

    libjpeg keeps every coefficient of the image (at full size, whatever the scale it decodes
    at) when the picture comes in several scans: progressive, or a first scan that does not
    carry every component."""
    kept, position, apps = [data[:2]], 2, set()
    frame: tuple[int, bytes] | None = None
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte
            position += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            kept.append(data[position : position + 2])
            position += 2
            continue
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position + 4 : end]
        if marker == 0xDA:
            if frame is None or not segment:
                break
            kept.append(data[position:])
            return _jpeg_upload(*frame, scan_components=segment[0], data=b"".join(kept))
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker not in JPEG_FRAMES:
                raise _refuse(NOT_A_PHOTO_MESSAGE)
            frame = (marker, segment)
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            kept.append(data[position:end])
        elif marker not in apps and segment.startswith(JPEG_KEPT_APP.get(marker, b"-")):
            kept.append(data[position:end])
            apps.add(marker)
        position = end
    raise _refuse(DAMAGED_MESSAGE)


def _jpeg_upload(marker: int, frame: bytes, *, scan_components: int, data: bytes) -> _Upload:
    if len(frame) < 6:
        raise _refuse(DAMAGED_MESSAGE)
    height = int.from_bytes(frame[1:3], "big")
    width = int.from_bytes(frame[3:5], "big")
    count = frame[5]
    sampling = [(factors >> 4, factors & 0x0F) for factors in frame[7 : 6 + 3 * count : 3]]
    if count == 0 or len(sampling) != count or not all(h and v for h, v in sampling):
        raise _refuse(DAMAGED_MESSAGE)
    if not JPEG_FRAMES[marker] and scan_components >= count:
        return _Upload("JPEG", width, height, data)
    # As libjpeg sizes its whole-image arrays (jdcoefct.c): each component's blocks, rounded
    # up to its sampling factors.
    max_h = max(h for h, _ in sampling)
    max_v = max(v for _, v in sampling)
    blocks = 0
    for h, v in sampling:
        across = math.ceil(width * h / (max_h * 8))
        down = math.ceil(height * v / (max_v * 8))
        blocks += math.ceil(across / h) * h * math.ceil(down / v) * v
    return _Upload("JPEG", width, height, data, whole_image_bytes=blocks * JPEG_BYTES_PER_BLOCK)


def _stored_size(width: int, height: int) -> tuple[int, int]:
    """The size a photo is stored at: at most MAPIDEAS_PHOTO_MAX_SIDE on its long side."""
    max_side = settings.MAPIDEAS_PHOTO_MAX_SIDE
    if max(width, height) <= max_side:
        return width, height
    ratio = max_side / max(width, height)
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _jpeg_scale(photo: _Upload) -> int:
    """How many times smaller libjpeg decodes the JPEG (1, 2, 4 or 8): the most reduced that
    is still no smaller than the size it is stored at; or more reduced (stored smaller) when
    that is what keeps the picture and the coefficients within DECODE_BUDGET."""
    width, height = _stored_size(photo.width, photo.height)
    reach = min(photo.width // width, photo.height // height)
    least = max(scale for scale in JPEG_SCALES if scale <= reach)
    for scale in JPEG_SCALES:
        decoded = math.ceil(photo.width / scale) * math.ceil(photo.height / scale)
        if scale >= least and decoded * BYTES_PER_PIXEL + photo.whole_image_bytes <= DECODE_BUDGET:
            return scale
    # Only the coefficients can get here (the picture at 1/8 is small): the most pixels a
    # JPEG coded like this one may have.
    pixels = photo.width * photo.height
    per_pixel = (photo.whole_image_bytes + pixels * BYTES_PER_PIXEL / 64) / pixels
    raise _refuse(too_many_pixels_message(int(DECODE_BUDGET / per_pixel)))


def _decode(photo: _Upload) -> ProcessedPhoto:
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it refuse.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            _verify(photo)
            # Leaving the `with` frees the decoded picture before the small one is encoded.
            with Image.open(BytesIO(photo.data), formats=(photo.format,)) as image:
                if photo.format == "JPEG":
                    scale = _jpeg_scale(photo)
                    image.draft(None, (max(1, photo.width // scale), max(1, photo.height // scale)))
                    decoded = image.width * image.height * BYTES_PER_PIXEL
                    if decoded + photo.whole_image_bytes > DECODE_BUDGET:
                        raise _refuse(DAMAGED_MESSAGE)
                image.load()
                # Upright as the camera meant it: the orientation goes with the other tags.
                turn = UPRIGHT.get(image.getexif().get(ExifTags.Base.Orientation, 1))
                scaled = _scaled_on_white(image, _stored_size(image.width, image.height))
        except ValidationError:
            raise
        except UnidentifiedImageError:
            raise _refuse(NOT_A_PHOTO_MESSAGE) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse(too_many_pixels_message()) from None
        except Exception:
            # Decoders fed hostile or cut-short bytes raise many kinds of errors (OSError,
            # SyntaxError, ValueError, struct.error...): all mean the same to the citizen.
            raise _refuse(DAMAGED_MESSAGE) from None
    return _encode(scaled.transpose(turn) if turn is not None else scaled)


def _verify(photo: _Upload) -> None:
    """Pillow agrees on the type and the size, and finds the file whole (for a PNG, every
    chunk's checksum). verify() leaves the image unusable: _decode opens it again."""
    with Image.open(BytesIO(photo.data), formats=(photo.format,)) as probe:
        if probe.size != (photo.width, photo.height):
            raise _refuse(DAMAGED_MESSAGE)
        probe.verify()


def _encode(clean: Image.Image) -> ProcessedPhoto:
    # `clean` is a new image (_scaled_on_white) holding pixels only: nothing of the upload's
    # `info` (EXIF, XMP, ICC profile, comments) can ride along into the file written here.
    out = BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return ProcessedPhoto(content=out.getvalue(), width=clean.width, height=clean.height)


def _scaled_on_white(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` scaled to `size` (Lanczos), in RGB laid on white, one output tile at a time.

    Each tile reads its source area with a margin as wide as the filter's reach, so the
    tiles meet without seams: the result is that of one resize of the whole image, but only
    a tile is ever converted, and no full-size copy is made (Pillow's resize makes one to
    premultiply an RGBA image's alpha)."""
    width, height = size
    scale_x, scale_y = image.width / width, image.height / height
    margin_x = math.ceil(LANCZOS_SUPPORT * max(scale_x, 1.0)) + 1
    margin_y = math.ceil(LANCZOS_SUPPORT * max(scale_y, 1.0)) + 1
    out = Image.new("RGB", size, "white")
    for top in range(0, height, TILE):
        bottom = min(top + TILE, height)
        y0, y1 = top * scale_y, min(bottom * scale_y, image.height)
        upper = max(0, math.floor(y0) - margin_y)
        lower = min(image.height, math.ceil(y1) + margin_y)
        for left in range(0, width, TILE):
            right = min(left + TILE, width)
            x0, x1 = left * scale_x, min(right * scale_x, image.width)
            first = max(0, math.floor(x0) - margin_x)
            last = min(image.width, math.ceil(x1) + margin_x)
            area = _on_white(image.crop((first, upper, last, lower)))
            # One pass across, then one down, as separate calls: given both at once, Pillow
            # picks their order by the sizes, which differ from tile to tile.
            across = area.resize(
                (right - left, area.height),
                Image.Resampling.LANCZOS,
                box=(x0 - first, 0, x1 - first, area.height),
            )
            tile = across.resize(
                (right - left, bottom - top),
                Image.Resampling.LANCZOS,
                box=(0, y0 - upper, right - left, y1 - upper),
            )
            out.paste(tile, (left, top))
    return out


def _on_white(area: Image.Image) -> Image.Image:
    """`area` in RGB, what is transparent laid on white as a browser shows it on the page
    (JPEG has no transparency)."""
    if area.mode.startswith("I"):
        # 16-bit grey (PNG): converting would clip at 255; bring it to 8 bits first.
        return area.point(lambda value: value / 257).convert("RGB")
    if area.mode in ("RGBA", "LA", "PA") or "transparency" in area.info:
        rgba = area.convert("RGBA")
        flat = Image.new("RGB", area.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return area if area.mode == "RGB" else area.convert("RGB")


def photo_storage() -> FileSystemStorage:
    """Where photos are kept (MAPIDEAS_PHOTO_ROOT), read per call so tests can move it.

    No base_url: the files have no public URL, only the checked view (views.idea_photo)."""
    return FileSystemStorage(
        location=settings.MAPIDEAS_PHOTO_ROOT,
        base_url=None,
        file_permissions_mode=0o640,
        directory_permissions_mode=0o750,
    )


def photo_save(photo: ProcessedPhoto) -> str:
    """Write the photo under a new random name (nothing of the upload's name) and return it.

    Two hex characters of the name make a sub-folder, so no folder holds too many files."""
    token = secrets.token_hex(16)
    return photo_storage().save(f"{token[:2]}/{token}.jpg", ContentFile(photo.content))


def photo_delete(name: str) -> None:
    photo_storage().delete(name)


def delete_file_of_deleted_photo(sender, instance, **kwargs) -> None:
    """post_delete of IdeaPhoto (a pin deleted in the admin cascades to its photo): remove
    the file once the deletion is committed, so a rolled-back delete keeps it."""
    name = instance.name
    transaction.on_commit(lambda: photo_delete(name))
