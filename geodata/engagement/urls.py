"""`/api/engagement/...` (included from mapideas.urls)."""

from django.urls import path

from geodata.engagement import api as engagement_api

urlpatterns = [
    path(
        "neighborhoods/",
        engagement_api.EngagementNeighborhoods.as_view(),
        name="api-engagement-neighborhoods",
    ),
    path("hexagons/", engagement_api.EngagementHexagons.as_view(), name="api-engagement-hexagons"),
    path(
        "coldspots/",
        engagement_api.EngagementColdspots.as_view(),
        name="api-engagement-coldspots",
    ),
    path("outreach/", engagement_api.EngagementOutreach.as_view(), name="api-engagement-outreach"),
    path(
        "representativeness/",
        engagement_api.EngagementRepresentativeness.as_view(),
        name="api-engagement-representativeness",
    ),
    path(
        "service/neighborhoods/",
        engagement_api.ServiceNeighborhoods.as_view(),
        name="api-engagement-service-neighborhoods",
    ),
    path(
        "service/teams/",
        engagement_api.ServiceTeams.as_view(),
        name="api-engagement-service-teams",
    ),
    path(
        "service/hexagons/",
        engagement_api.ServiceHexagons.as_view(),
        name="api-engagement-service-hexagons",
    ),
    path(
        "service/slowspots/",
        engagement_api.ServiceSlowspots.as_view(),
        name="api-engagement-slowspots",
    ),
    path(
        "service/slowspots-hexagons/",
        engagement_api.ServiceSlowspotHexagons.as_view(),
        name="api-engagement-slowspots-hexagons",
    ),
]
