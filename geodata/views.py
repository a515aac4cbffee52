"""The planner page, the layer downloads, and the staff page for boundary files."""

import secrets
import shutil
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as BadParameters

from geodata import engagement, engagement_api, export_formats, exports, uploads
from geodata import planner as planner_page
from geodata.boundaries import BoundaryFileError, BoundaryImport, import_boundaries, read_boundaries
from geodata.forms import BoundaryActivateForm, BoundaryUploadForm
from mapideas import selectors
from mapideas.db_routers import replica_alias
from mapideas.filters import IdeaFilter
from mapideas.services import boundaries_activate
from neighborhoods.models import BoundaryVersion
from neighborhoods.roles import is_planner
from neighborhoods.selectors import active_neighborhoods

# The upload waiting for its commit: {"token", "name", "options", "active_version"}.
SESSION_UPLOAD = "geodata.boundary_upload"


def _filtered_ideas(request: HttpRequest) -> IdeaFilter:
    # The heatmap and the exports may lag the primary a little: read from the replica.
    return IdeaFilter(request.GET, queryset=selectors.public_ideas().using(replica_alias()))


@login_required
def planner(request: HttpRequest) -> HttpResponse:
    """Where people speak up and where engagement is thin: figures from geodata.planner."""
    if not is_planner(request.user):
        raise PermissionDenied(_("The planner page is for planners."))
    form = planner_page.PlannerForm(request.GET)
    asked = form.selection()
    context = {"form": form, "export_formats": export_formats.FORMATS.values()}
    if asked is None:
        return render(request, "geodata/planner.html", {**context, "page": None}, status=400)
    selection, options = asked
    page = planner_page.planner_page(selection, options, form.parameters())
    return render(request, "geodata/planner.html", {**context, "page": page})


def export_layer(request: HttpRequest, layer: str, extension: str) -> HttpResponse:
    """`/export/<layer>.<extension>`: the layer in one of export_formats.FORMATS.

    GeoJSON and CSV stream as they are read. The OGR formats are written to a temporary file
    first (a GeoPackage cannot be streamed while it is written), then sent from that file.
    """
    fmt = export_formats.FORMATS.get(extension)
    if layer not in exports.LAYERS or fmt is None:
        return HttpResponseNotFound(
            _(
                "No export /export/%(layer)s.%(extension)s. Layers: %(layers)s; "
                "formats: %(formats)s."
            )
            % {
                "layer": layer,
                "extension": extension,
                "layers": ", ".join(exports.LAYERS),
                "formats": export_formats.supported(),
            }
            + "\n",
            content_type="text/plain; charset=utf-8",
        )
    if layer == "ideas":
        ideas = _filtered_ideas(request)
        if not ideas.is_valid():
            return JsonResponse(ideas.errors, status=400)
        rows = exports.idea_rows(ideas.qs)
    elif exports.LAYER_SPECS[layer].engagement:
        # Same parameters as /api/engagement/...; computed before the response starts.
        try:
            selection, options = engagement_api.parse_query(layer, request.GET)
        except BadParameters as exc:
            return JsonResponse(exc.detail, status=400)
        rows = exports.engagement_rows(engagement.engagement_layer(layer, selection, options))
    else:
        rows = exports.neighborhood_rows(active_neighborhoods())
    filename = f"mapideas-{layer}-{timezone.now():%Y%m%d}.{fmt.extension}"
    if fmt.extension == "geojson":
        response = StreamingHttpResponse(export_formats.geojson_chunks(rows))
    elif fmt.extension == "csv":
        response = StreamingHttpResponse(export_formats.csv_chunks(layer, rows))
    else:
        directory = Path(tempfile.mkdtemp(prefix="mapideas-export-"))
        try:
            written = export_formats.write_ogr(fmt, layer, rows, directory)
            handle = open(written, "rb")  # noqa: SIM115 - FileResponse closes it when sent
        finally:
            # Deleted before the first byte is sent: the open handle keeps the data readable
            # (POSIX), and nothing is left behind if the client goes away mid-download.
            shutil.rmtree(directory)
        response = FileResponse(handle)
    response["Content-Type"] = fmt.content_type
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    options = form.boundary_options()
    try:
        result = import_boundaries(
            read_boundaries(path, **options), label=_label(name), commit=False
        )
    except (BoundaryFileError, ValidationError) as exc:
        uploads.upload_discard(token)
        form.add_import_error(exc, path=path, name=name)
        return None
    request.session[SESSION_UPLOAD] = {
        "token": token,
        "name": name,
        "options": options,
        "active_version": _active_version_id(),
    }
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


def _staged_upload(request: HttpRequest) -> dict | None:
    """The session's upload, if the form names it (a stale tab may name an older one)."""
    staged = request.session.get(SESSION_UPLOAD)
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
    if path is None:
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
            read_boundaries(path, **staged["options"]), label=_label(staged["name"]), commit=True
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
    moved = result.moved
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
    form = BoundaryActivateForm(request.POST)
    if not form.is_valid():
        return _boundaries_page(request, activate_form=form, activate_pk=version.pk, status=400)
    result = boundaries_activate(version=version, reason=form.cleaned_data["reason"].strip())
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
