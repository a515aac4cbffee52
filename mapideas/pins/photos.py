"""A pin's optional photo: checked, re-encoded and stored (plain functions, no database).

What a citizen uploads is never stored as sent. It is opened by Pillow, which decides the type
from the bytes (not the name or the Content-Type the browser claims), with only JPEG, PNG and
WebP decoders allowed; refused above MAPIDEAS_PHOTO_MAX_BYTES or MAPIDEAS_PHOTO_MAX_PIXELS
(a small file can declare a huge image: a decompression bomb); turned upright by its EXIF
orientation, scaled down to MAPIDEAS_PHOTO_MAX_SIDE on its long side, and written as a fresh
JPEG with no metadata at all: no EXIF (so no GPS position, camera serial or time), no XMP,
no ICC profile, no comment. The file goes to the photo storage (MAPIDEAS_PHOTO_ROOT, outside
any web root) under a random name, and is served only by views.idea_photo.

The row (IdeaPhoto) is written by services; see services._create_with_photo for how the file
and the row stay together.
"""

import secrets
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
from PIL import Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Pillow's format names for the types a photo may be; any other decoder is never tried.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"


def _megabytes(size: int) -> str:
    return _("%(size)s MB") % {"size": f"{size / (1024 * 1024):g}"}


def too_big_message() -> str:
    return _("The photo is too large: at most %(size)s.") % {
        "size": _megabytes(settings.MAPIDEAS_PHOTO_MAX_BYTES)
    }


def too_many_pixels_message() -> str:
    megapixels = settings.MAPIDEAS_PHOTO_MAX_PIXELS / 1_000_000
    return _("The photo has too many pixels: at most %(megapixels)s megapixels.") % {
        "megapixels": f"{megapixels:g}"
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
    megapixels = settings.MAPIDEAS_PHOTO_MAX_PIXELS / 1_000_000
    return _(
        "JPEG, PNG or WebP, at most %(size)s and %(megapixels)s megapixels. It is resized to "
        "at most %(side)s pixels, and its location and camera data (EXIF) are removed."
    ) % {
        "size": _megabytes(settings.MAPIDEAS_PHOTO_MAX_BYTES),
        "megapixels": f"{megapixels:g}",
        "side": settings.MAPIDEAS_PHOTO_MAX_SIDE,
    }


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo as it will be stored: a metadata-free JPEG and its size."""

    content: bytes
    width: int
    height: int


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
    max_pixels = settings.MAPIDEAS_PHOTO_MAX_PIXELS
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it refuse.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # The header alone: the size it declares is checked before any pixel is decoded.
            with Image.open(BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                if probe.width * probe.height > max_pixels:
                    raise _refuse(too_many_pixels_message())
                probe.verify()
            # verify() leaves the image unusable: open it again to decode it.
            with Image.open(BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                image.load()
                return _reencode(image)
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


def _reencode(image: Image.Image) -> ProcessedPhoto:
    # Upright as the camera meant it: the orientation tag is about to be dropped with the rest.
    upright = ImageOps.exif_transpose(image)
    max_side = settings.MAPIDEAS_PHOTO_MAX_SIDE
    upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    ):
        # JPEG has no transparency: lay it on white, as a browser shows it on the page.
        rgba = upright.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, "white")
        rgb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        rgb = upright.convert("RGB")
    # A new image holds pixels only: nothing of the upload's `info` (EXIF, XMP, ICC profile,
    # comments) can ride along into the file written below.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    out = BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return ProcessedPhoto(content=out.getvalue(), width=clean.width, height=clean.height)


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
