"""The planner page and the GeoJSON downloads."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from geodata import exports, heatmaps
from mapideas import maps, selectors
from mapideas.filters import IdeaFilter
from neighborhoods.roles import is_planner
from neighborhoods.selectors import active_neighborhoods


def _filtered_ideas(request: HttpRequest) -> IdeaFilter:
    return IdeaFilter(request.GET, queryset=selectors.public_ideas())


@login_required
def planner(request: HttpRequest) -> HttpResponse:
    if not is_planner(request.user):
        raise PermissionDenied("The planner page is for planners.")
    ideas = _filtered_ideas(request)
    if not ideas.is_valid():
        return render(
            request,
            "geodata/planner.html",
            {"filter": ideas, "map": None, "query": request.GET.urlencode()},
            status=400,
        )
    fmap, drawn, truncated = heatmaps.heatmap(ideas.qs)
    return render(
        request,
        "geodata/planner.html",
        {
            "filter": ideas,
            "map": maps.render(fmap),
            "drawn": drawn,
            "truncated": truncated,
            "total": ideas.qs.count(),
            "neighborhood_count": active_neighborhoods().count(),
            "query": request.GET.urlencode(),
        },
    )


def export_layer(request: HttpRequest, layer: str) -> HttpResponse:
    """`/export/<layer>.geojson`: a streamed FeatureCollection, public fields only."""
    if layer == "ideas":
        ideas = _filtered_ideas(request)
        if not ideas.is_valid():
            return JsonResponse(ideas.errors, status=400)
        features = exports.idea_features(ideas.qs)
    elif layer == "neighborhoods":
        features = exports.neighborhood_features(active_neighborhoods())
    else:
        raise Http404(f"No layer named {layer!r}; layers: {', '.join(exports.LAYERS)}.")
    response = StreamingHttpResponse(
        exports.feature_collection(features), content_type="application/geo+json"
    )
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="mapideas-{layer}-{stamp}.geojson"'
    return response
