"""Boundary files uploaded by staff, kept on the server between the dry run and the commit.

An upload is stored under a random token (in a directory of its own, in the system's temporary
directory); the staff member's session holds the token, so the commit re-reads exactly the file
that was previewed without sending it again. Uploads are deleted after the commit, when replaced
by another upload, and after UPLOAD_KEEP if left behind.
"""

import re
import secrets
import shutil
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

UPLOAD_ROOT = Path(tempfile.gettempdir()) / "mapideas-boundary-uploads"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# A zip is read through GDAL's /vsizip/: cap what it unpacks to, not only what was sent.
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
UPLOAD_KEEP = timedelta(hours=24)
# Shapefiles are uploaded zipped: a bare .shp would come without its .dbf, .shx and .prj.
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class UploadError(Exception):
    """The upload cannot be kept; the message says why."""


def _too_large() -> str:
    return _("The file is larger than %(size)s MB.") % {"size": MAX_UPLOAD_BYTES // 2**20}


def upload_store(upload: UploadedFile) -> str:
    """Keep `upload` on the server; returns the token that finds it again."""
    suffix = Path(upload.name or "").suffix.lower()
    if suffix == ".shp":
        raise UploadError(
            _("Upload a shapefile as a .zip holding its .shp, .shx, .dbf and .prj files.")
        )
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(
            _(
                "Unsupported file type %(suffix)s: upload GeoJSON (.geojson, .json), "
                "a GeoPackage (.gpkg) or a zipped shapefile (.zip)."
            )
            % {"suffix": suffix or _("(none)")}
        )
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise UploadError(_too_large())
    token = secrets.token_urlsafe(24)
    directory = UPLOAD_ROOT / token
    directory.mkdir(parents=True, mode=0o700)
    path = directory / f"boundaries{suffix}"
    try:
        written = 0
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                written += len(chunk)
                if written > MAX_UPLOAD_BYTES:
                    raise UploadError(_too_large())
                out.write(chunk)
        if suffix == ".zip":
            _check_zip(path)
    except BaseException:
        upload_discard(token)
        raise
    return token


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise UploadError(_("The .zip file is damaged or not a zip file.")) from None
    if sum(member.file_size for member in members) > MAX_UNZIPPED_BYTES:
        raise UploadError(
            _("The .zip unpacks to more than %(size)s MB.") % {"size": MAX_UNZIPPED_BYTES // 2**20}
        )


def upload_path(token: str) -> Path | None:
    """The stored file for `token`, or None if there is none (expired, committed, forged)."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    directory = UPLOAD_ROOT / token
    files = sorted(directory.glob("boundaries.*")) if directory.is_dir() else []
    return files[0] if files else None


def upload_claim(token: str) -> Path | None:
    """Take the upload for one commit, or None if it is gone or already taken.

    The rename is atomic: of two requests committing the same upload (a double click), only
    one gets the file. The claimed file is removed by upload_discard(token) afterwards.
    """
    if upload_path(token) is None:
        return None
    claimed = UPLOAD_ROOT / f"{token}.claimed"
    try:
        (UPLOAD_ROOT / token).rename(claimed)
    except OSError:  # gone, or claimed by the other request
        return None
    files = sorted(claimed.glob("boundaries.*"))
    return files[0] if files else None


def upload_discard(token: str) -> None:
    if isinstance(token, str) and _TOKEN.match(token):
        shutil.rmtree(UPLOAD_ROOT / token, ignore_errors=True)
        shutil.rmtree(UPLOAD_ROOT / f"{token}.claimed", ignore_errors=True)


def uploads_expire() -> None:
    """Delete uploads older than UPLOAD_KEEP (previewed, never committed nor replaced)."""
    if not UPLOAD_ROOT.is_dir():
        return
    cutoff = time.time() - UPLOAD_KEEP.total_seconds()
    for directory in UPLOAD_ROOT.iterdir():
        try:
            if directory.is_dir() and directory.stat().st_mtime < cutoff:
                shutil.rmtree(directory, ignore_errors=True)
        except FileNotFoundError:  # another worker removed it first
            continue
