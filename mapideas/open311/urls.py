"""/open311/v2/…: each resource in the spec's two formats, `.xml` and `.json`.

One URL per format rather than a `{format}` parameter, so each URL has exactly one renderer
(its errors included) and the OpenAPI schema says which media type each answers with.
"""

from django.urls import URLPattern, path

from mapideas.open311 import views
from mapideas.open311.renderers import Open311JSONRenderer, Open311XMLRenderer


def both_formats(route: str, view: type[views.Open311View], name: str) -> list[URLPattern]:
    return [
        path(
            f"{route}.json",
            view.as_view(renderer_classes=[Open311JSONRenderer]),
            name=f"{name}-json",
        ),
        path(
            f"{route}.xml",
            view.as_view(renderer_classes=[Open311XMLRenderer]),
            name=f"{name}-xml",
        ),
    ]


urlpatterns = [
    *both_formats("discovery", views.DiscoveryView, "open311-discovery"),
    *both_formats("services", views.ServiceListView, "open311-services"),
    *both_formats("services/<str:service_code>", views.ServiceDefinitionView, "open311-service"),
    *both_formats("requests", views.ServiceRequestListView, "open311-requests"),
    *both_formats(
        "requests/<str:service_request_id>", views.ServiceRequestDetailView, "open311-request"
    ),
]
