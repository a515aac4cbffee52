from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from geodata import views as geodata_views
from mapideas import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("ideas/<int:pk>/", views.idea_detail, name="idea-detail"),
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
    # Links in emails: signed tokens, no login.
    path("follow/confirm/<str:token>/", views.follow_confirm, name="follow-confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/team/<str:token>/", views.team_unsubscribe, name="team-unsubscribe"),
    path("teams/", views.my_teams, name="my-teams"),
    path("teams/<slug:slug>/", views.team_workspace, name="team-workspace"),
    path("teams/<slug:slug>/bulk/", views.team_bulk, name="team-bulk"),
    path("planner/", geodata_views.planner, name="planner"),
    # The layer has no dot, the extension may have one (`ideas.shp.zip`).
    re_path(
        r"^export/(?P<layer>[^/.]+)\.(?P<extension>[^/]+)$",
        geodata_views.export_layer,
        name="export-layer",
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
    path("api/neighborhoods/", api.NeighborhoodList.as_view(), name="api-neighborhoods"),
    path("api/route/", api.RoutePreviewView.as_view(), name="api-route"),
    path("api/engagement/", include("geodata.engagement_urls")),
    path("open311/v2/", include("mapideas.open311.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("ogc/", include("geodata.ogc_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
