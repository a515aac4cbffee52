"""The URLs of mapideas.moderation: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.moderation import api, views

urlpatterns = [
    path("ideas/<int:pk>/flag/", views.idea_flag, name="idea-flag"),
    path("staff/moderation/", views.moderation_queue, name="moderation-queue"),
    path(
        "staff/moderation/<int:pk>/decide/",
        views.moderation_decide,
        name="moderation-decide",
    ),
    path("api/ideas/<int:pk>/flag/", api.IdeaFlagCreate.as_view(), name="api-idea-flag"),
]
