"""The URLs of mapideas.submission: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.submission import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("ideas/confirm/<str:token>/", views.idea_confirm, name="idea-confirm"),
    path(
        "ideas/confirm/<str:token>/photo.jpg",
        views.idea_confirm_photo,
        name="idea-confirm-photo",
    ),
    path("api/ideas/", api.IdeaListCreate.as_view(), name="api-ideas"),
]
