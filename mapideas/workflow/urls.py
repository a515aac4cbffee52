"""The URLs of mapideas.workflow: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.workflow import api, views

urlpatterns = [
    path("ideas/<int:pk>/reassign/", views.idea_reassign, name="idea-reassign"),
    path("ideas/<int:pk>/status/", views.idea_status, name="idea-status"),
    path("ideas/<int:pk>/notes/", views.idea_note, name="idea-note"),
    path("ideas/<int:pk>/assign/", views.idea_assign, name="idea-assign"),
    path("ideas/<int:pk>/duplicate/", views.idea_duplicate, name="idea-duplicate"),
    path("teams/", views.my_teams, name="my-teams"),
    path("teams/<slug:slug>/", views.team_workspace, name="team-workspace"),
    path("teams/<slug:slug>/bulk/", views.team_bulk, name="team-bulk"),
    path("teams/<slug:slug>/offline/", views.team_offline_input, name="team-offline-input"),
    path(
        "api/ideas/<int:pk>/status/",
        api.IdeaStatusChange.as_view(),
        name="api-idea-status",
    ),
    path("api/ideas/<int:pk>/notes/", api.IdeaNotes.as_view(), name="api-idea-notes"),
]
