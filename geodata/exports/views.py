"""Layer downloads: `/export/<layer>.<format>`."""

import shutil
import tempfile
from pathlib import Path

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponseBase,
    HttpResponseNotFound,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError as BadParameters

from geodata.engagement import layers as engagement
from geodata.engagement import query as engagement_api
from geodata.exports import formats as export_formats
from geodata.exports import layers as exports
from geodata.exports.language import asked_language
from mapideas.pins import selectors
from mapideas.pins.filters import IdeaFilter
from mapideas.plumbing.db_routers import replica_alias
from neighborhoods.selectors import active_neighborhoods


def _filtered_ideas(request: HttpRequest) -> IdeaFilter:
    # The heatmap and the exports may lag the primary a little: read from the replica.
    return IdeaFilter(request.GET, queryset=selectors.public_ideas().using(replica_alias()))


def export_language(request: HttpRequest) -> str:
    """The language asked with `lang=`, else the city's; ValidationError naming `lang`."""
    return asked_language(request.GET.get("lang", ""))


def export_layer(request: HttpRequest, layer: str, extension: str) -> HttpResponseBase:
    """`/export/<layer>.<extension>`: the layer in one of export_formats.FORMATS, names in
    the city's language unless `lang=` asks for another of settings.LANGUAGES.

    GeoJSON and CSV stream as they are read, in pieces of about 64 KB. The OGR formats are
    written to a temporary file first (a GeoPackage cannot be streamed while it is written),
    then sent from that file; the worker is not restarted while it writes, chunk after chunk
    (mapideas.plumbing.request_watch; docs/decisions/0020-exports-over-http.md).
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
    try:
        language = export_language(request)
    except BadParameters as exc:
        return JsonResponse(exc.detail, status=400)
    if layer == "ideas":
        ideas = _filtered_ideas(request)
        if not ideas.is_valid():
            return JsonResponse(ideas.errors, status=400)
        rows = exports.idea_rows(ideas.qs, language)
    elif exports.LAYER_SPECS[layer].engagement:
        # Same parameters as /api/engagement/...; computed before the response starts.
        try:
            selection, options = engagement_api.parse_query(layer, request.GET)
        except BadParameters as exc:
            return JsonResponse(exc.detail, status=400)
        layer_data = engagement.engagement_layer(layer, selection, options)
        rows = exports.engagement_rows(layer_data, language)
    else:
        rows = exports.neighborhood_rows(active_neighborhoods(), language)
    filename = f"mapideas-{layer}-{timezone.now():%Y%m%d}.{fmt.extension}"
    if fmt.extension == "geojson":
        response = StreamingHttpResponse(export_formats.joined(export_formats.geojson_chunks(rows)))
    elif fmt.extension == "csv":
        response = StreamingHttpResponse(
            export_formats.joined(export_formats.csv_chunks(layer, rows))
        )
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
