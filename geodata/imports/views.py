"""The staff page for boundary files: upload, dry run, commit, activate."""

import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from geodata.imports import uploads
from geodata.imports.boundaries import (
    BoundaryFileError,
    BoundaryImport,
    import_boundaries,
    read_boundaries,
)
from geodata.imports.forms import BoundaryActivateForm, BoundaryUploadForm
from mapideas.rerouting.services import boundaries_activate
from neighborhoods.models import BoundaryVersion
from neighborhoods.roles import is_planner

# The upload waiting for its commit (a StagedUpload).
SESSION_UPLOAD = "geodata.boundary_upload"


class StagedUpload(TypedDict):
    token: str
    name: str
    options: dict[str, Any]  # read_boundaries' keyword arguments (form.boundary_options())
    active_version: int | None  # the active version's id at the dry run


# --- /staff/boundaries/: upload, dry run, commit, activate ----------------------------------


def planner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors go to the login page; staff who are not planners get a 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_planner(request.user):
            raise PermissionDenied(_("Boundaries are managed by planners."))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _active_version_id() -> int | None:
    return BoundaryVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()


def _label(name: str) -> str:
    return f"{name}, {timezone.now():%Y-%m-%d %H:%M}"


def _boundaries_page(request: HttpRequest, *, status: int = 200, **context) -> HttpResponse:
    context.setdefault("form", BoundaryUploadForm())
    versions = (
        BoundaryVersion.objects.defer("service_area")
        .annotate(neighborhood_count=Count("neighborhoods"))
        .order_by("-created_at", "-id")
    )
    return render(
        request, "geodata/boundaries.html", {"versions": versions, **context}, status=status
    )


def _dry_run(request: HttpRequest, form: BoundaryUploadForm) -> BoundaryImport | None:
    """Keep the upload and report what importing it would change; None if it cannot be."""
    uploads.uploads_expire()
    previous = request.session.pop(SESSION_UPLOAD, None)
    if previous:
        uploads.upload_discard(previous["token"])
    upload = form.cleaned_data["file"]
    name = Path(upload.name).name[:200]
    try:
        token = uploads.upload_store(upload)
    except uploads.UploadError as exc:
        form.add_error("file", str(exc))
        return None
    path = uploads.upload_path(token)
    # upload_store has just written the file under this token.
    assert path is not None
    options = form.boundary_options()
    try:
        result = import_boundaries(
            read_boundaries(path, **options), label=_label(name), commit=False
        )
    except (BoundaryFileError, ValidationError) as exc:
        uploads.upload_discard(token)
        form.add_import_error(exc, path=path, name=name)
        return None
    staged: StagedUpload = {
        "token": token,
        "name": name,
        "options": options,
        "active_version": _active_version_id(),
    }
    request.session[SESSION_UPLOAD] = staged
    return result


@planner_required
def boundaries(request: HttpRequest) -> HttpResponse:
    """The boundary versions, and an upload whose dry run shows what it would change."""
    if request.method != "POST":
        return _boundaries_page(request)
    form = BoundaryUploadForm(request.POST, request.FILES)
    preview = _dry_run(request, form) if form.is_valid() else None
    if preview is None:
        return _boundaries_page(request, form=form, status=400)
    staged = request.session[SESSION_UPLOAD]
    return _boundaries_page(
        request, preview=preview, upload_name=staged["name"], token=staged["token"]
    )


def _staged_upload(request: HttpRequest) -> StagedUpload | None:
    """The session's upload, if the form names it (a stale tab may name an older one)."""
    staged: StagedUpload | None = request.session.get(SESSION_UPLOAD)
    token = request.POST.get("token", "")
    if not staged or not secrets.compare_digest(staged["token"].encode(), token.encode()):
        return None
    return staged


@require_POST
@planner_required
def boundaries_commit(request: HttpRequest) -> HttpResponse:
    """Import the previewed upload for good: a new version, active, open pins re-routed."""
    staged = _staged_upload(request)
    path = uploads.upload_claim(staged["token"]) if staged else None
    if staged is None or path is None:
        messages.error(
            request,
            _("That upload is no longer here (committed, replaced or expired): upload it again."),
        )
        return redirect("boundaries")
    del request.session[SESSION_UPLOAD]
    try:
        if staged["active_version"] != _active_version_id():
            messages.error(
                request,
                _(
                    "The active boundaries changed since this dry run: upload the file again to "
                    "see what it would change now."
                ),
            )
            return redirect("boundaries")
        result = import_boundaries(
            read_boundaries(path, **staged["options"]),
            label=_label(staged["name"]),
            commit=True,
            actor=request.user,
        )
    except (BoundaryFileError, ValidationError) as exc:
        detail = str(exc) if isinstance(exc, BoundaryFileError) else "; ".join(exc.messages)
        messages.error(
            request,
            _("Nothing was written: %(detail)s")
            % {"detail": detail.replace(str(path), staged["name"])},
        )
        return redirect("boundaries")
    finally:
        uploads.upload_discard(staged["token"])
    # Committed and activated (import_boundaries' defaults): the version and its moves are set.
    assert result.version is not None
    moved = result.moved
    assert moved is not None
    messages.success(
        request,
        _(
            "Boundary version #%(pk)s is active: %(moved)s open pins moved to another team "
            "(%(total)s re-routed in all)."
        )
        % {"pk": result.version.pk, "moved": moved.team_changed, "total": moved.total},
    )
    return redirect("boundaries")


@require_POST
@planner_required
def boundaries_discard(request: HttpRequest) -> HttpResponse:
    staged = _staged_upload(request)
    if staged is not None:
        del request.session[SESSION_UPLOAD]
        uploads.upload_discard(staged["token"])
    messages.info(request, _("The upload was discarded; nothing was written."))
    return redirect("boundaries")


@require_POST
@planner_required
def boundary_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch routing to a stored version (a new one, or an earlier one brought back)."""
    version = get_object_or_404(BoundaryVersion.objects.defer("service_area"), pk=pk)
    if version.is_active:
        messages.error(
            request, _("Boundary version #%(pk)s is already active.") % {"pk": version.pk}
        )
        return redirect("boundaries")
    # The reason's id is this version's row's ("reason-<pk>"): its errors are tied to that input.
    form = BoundaryActivateForm(request.POST, auto_id=f"%s-{version.pk}")
    if not form.is_valid():
        return _boundaries_page(request, activate_form=form, activate_pk=version.pk, status=400)
    result = boundaries_activate(
        version=version, reason=form.cleaned_data["reason"].strip(), actor=request.user
    )
    messages.success(
        request,
        _(
            "Boundary version #%(pk)s is active: %(moved)s open pins moved to another team "
            "(%(total)s re-routed in all, of %(open)s open)."
        )
        % {
            "pk": version.pk,
            "moved": result.team_changed,
            "total": result.moved,
            "open": result.open_ideas,
        },
    )
    return redirect("boundaries")
