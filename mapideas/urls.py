from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from geodata import places_api
from geodata import views as geodata_views
from mapideas import (
    account_views,
    alerts_api,
    alerts_views,
    api,
    health,
    moderation_api,
    moderation_views,
    pin_api,
    similar_api,
    viewport_api,
    views,
)

# A database outage is a 503 with Retry-After wherever it is raised (mapideas.outage).
handler500 = "mapideas.outage.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    # The language switcher posts here (Django's set_language: a cookie, then back to `next`).
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' strings in the page's language (gettext() in pin-map.js and friends).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("ideas/<int:pk>/", views.idea_detail, name="idea-detail"),
    path("ideas/<int:pk>/photo.jpg", views.idea_photo, name="idea-photo"),
    path("ideas/<int:pk>/reassign/", views.idea_reassign, name="idea-reassign"),
    path("ideas/<int:pk>/status/", views.idea_status, name="idea-status"),
    path("ideas/<int:pk>/notes/", views.idea_note, name="idea-note"),
    path("ideas/<int:pk>/assign/", views.idea_assign, name="idea-assign"),
    path("ideas/<int:pk>/duplicate/", views.idea_duplicate, name="idea-duplicate"),
    path("ideas/<int:pk>/support/", views.idea_support, name="idea-support"),
    path("ideas/<int:pk>/unsupport/", views.idea_unsupport, name="idea-unsupport"),
    path("ideas/<int:pk>/comments/", views.comment_add, name="comment-add"),
    path("ideas/<int:pk>/comments/<int:comment_pk>/hide/", views.comment_hide, name="comment-hide"),
    path("ideas/<int:pk>/follow/", views.idea_follow, name="idea-follow"),
    path("ideas/<int:pk>/unfollow/", views.idea_unfollow, name="idea-unfollow"),
    path("ideas/<int:pk>/flag/", moderation_views.idea_flag, name="idea-flag"),
    # Links in emails: signed tokens, no login.
    path("follow/confirm/<str:token>/", views.follow_confirm, name="follow-confirm"),
    path("ideas/confirm/<str:token>/", views.idea_confirm, name="idea-confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/team/<str:token>/", views.team_unsubscribe, name="team-unsubscribe"),
    path("alerts/", alerts_views.alerts_page, name="alerts"),
    path("alerts/confirm/<str:token>/", alerts_views.alert_confirm, name="alert-confirm"),
    path(
        "alerts/unsubscribe/<str:token>/",
        alerts_views.alert_unsubscribe,
        name="alert-unsubscribe",
    ),
    path("teams/", views.my_teams, name="my-teams"),
    path("teams/<slug:slug>/", views.team_workspace, name="team-workspace"),
    path("teams/<slug:slug>/bulk/", views.team_bulk, name="team-bulk"),
    path("teams/<slug:slug>/offline/", views.team_offline_input, name="team-offline-input"),
    path("planner/", geodata_views.planner, name="planner"),
    # The layer has no dot, the extension may have one (`ideas.shp.zip`).
    re_path(
        r"^export/(?P<layer>[^/.]+)\.(?P<extension>[^/]+)$",
        geodata_views.export_layer,
        name="export-layer",
    ),
    path("staff/moderation/", moderation_views.moderation_queue, name="moderation-queue"),
    path(
        "staff/moderation/<int:pk>/decide/",
        moderation_views.moderation_decide,
        name="moderation-decide",
    ),
    path("staff/boundaries/", geodata_views.boundaries, name="boundaries"),
    path("staff/boundaries/commit/", geodata_views.boundaries_commit, name="boundaries-commit"),
    path("staff/boundaries/discard/", geodata_views.boundaries_discard, name="boundaries-discard"),
    path(
        "staff/boundaries/<int:pk>/activate/",
        geodata_views.boundary_activate,
        name="boundary-activate",
    ),
    path("api/categories/", api.CategoryList.as_view(), name="api-categories"),
    path("api/ideas/", api.IdeaListCreate.as_view(), name="api-ideas"),
    # Before any api/ideas/<...> pattern could take "viewport" or "similar" for one.
    path("api/ideas/viewport/", viewport_api.IdeaViewport.as_view(), name="api-ideas-viewport"),
    path("api/ideas/similar/", similar_api.SimilarIdeas.as_view(), name="api-ideas-similar"),
    path("api/ideas/<int:pk>/", pin_api.IdeaDetail.as_view(), name="api-idea"),
    path("api/ideas/<int:pk>/status/", pin_api.IdeaStatusChange.as_view(), name="api-idea-status"),
    path("api/ideas/<int:pk>/notes/", pin_api.IdeaNotes.as_view(), name="api-idea-notes"),
    path("api/ideas/<int:pk>/support/", pin_api.IdeaSupport.as_view(), name="api-idea-support"),
    path("api/ideas/<int:pk>/comments/", pin_api.IdeaComments.as_view(), name="api-idea-comments"),
    path("api/ideas/<int:pk>/follow/", pin_api.IdeaFollow.as_view(), name="api-idea-follow"),
    path("api/ideas/<int:pk>/flag/", moderation_api.IdeaFlagCreate.as_view(), name="api-idea-flag"),
    path("api/neighborhoods/", api.NeighborhoodList.as_view(), name="api-neighborhoods"),
    path("api/route/", api.RoutePreviewView.as_view(), name="api-route"),
    path("api/places/", places_api.PlaceSearchView.as_view(), name="api-places"),
    path("api/subscriptions/", alerts_api.SubscriptionCreate.as_view(), name="api-subscriptions"),
    path("api/engagement/", include("geodata.engagement_urls")),
    path("open311/v2/", include("mapideas.open311.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("ogc/", include("geodata.ogc_urls")),
    # Django's login page with attempts limited (MAPIDEAS_RATE_LOGIN).
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/my-data/", account_views.my_data, name="my-data"),
    path("accounts/delete/", account_views.account_delete, name="account-delete"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
