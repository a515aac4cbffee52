"""The root URLconf: each room of the product brings its own `urls.py` (docs/architecture.md).

Every room is included at the root with no prefix of its own, so each keeps the full paths and
names it always had (`/ideas/<pk>/status/`, `idea-status`); only the protocols that live under
one prefix (the engagement API, Open311, OGC API) are included under it.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from mapideas import health

# A database outage is a 503 with Retry-After wherever it is raised (mapideas.plumbing.outage).
handler500 = "mapideas.plumbing.outage.server_error"

urlpatterns = [
    # The language switcher posts here (Django's set_language: a cookie, then back to `next`).
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' strings in the page's language (gettext() in pin-map.js and friends).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # Citizens: the map and its pin form, a pin's page, following it, area alerts, accounts.
    path("", include("mapideas.submission.urls")),
    path("", include("mapideas.pins.urls")),
    path("", include("mapideas.map.urls")),
    path("", include("mapideas.similar.urls")),
    path("", include("mapideas.participation.urls")),
    path("", include("mapideas.alerts.urls")),
    path("", include("mapideas.accounts.urls")),
    # Residents confirm or dispute a closed pin; its team's check queue.
    path("", include("mapideas.outcomes.urls")),
    # District teams and staff.
    path("", include("mapideas.workflow.urls")),
    path("", include("mapideas.answers.urls")),
    path("", include("mapideas.notifications.urls")),
    path("", include("mapideas.moderation.urls")),
    path("", include("mapideas.webhooks.urls")),
    # Pins handed to an outside body, and that body's page behind its emailed link.
    path("", include("mapideas.handoffs.urls")),
    # Pins forwarded to a team's back office (Open311 GeoReport v2), for staff.
    path("", include("mapideas.backoffice.urls")),
    path("", include("mapideas.audit.urls")),
    path("open311/v2/", include("mapideas.open311.urls")),
    # Planners and GIS tools.
    path("", include("geodata.planner.urls")),
    path("", include("geodata.exports.urls")),
    path("", include("geodata.imports.urls")),
    path("", include("geodata.places.urls")),
    path("api/engagement/", include("geodata.engagement.urls")),
    path("ogc/", include("geodata.ogc.urls")),
    # The API's own description.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
