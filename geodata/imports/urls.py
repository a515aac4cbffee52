"""The URLs of geodata.imports: included at the root by mapideas/urls.py."""

from django.urls import path

from geodata.imports import views

urlpatterns = [
    path("staff/boundaries/", views.boundaries, name="boundaries"),
    path("staff/boundaries/commit/", views.boundaries_commit, name="boundaries-commit"),
    path("staff/boundaries/discard/", views.boundaries_discard, name="boundaries-discard"),
    path(
        "staff/boundaries/<int:pk>/activate/",
        views.boundary_activate,
        name="boundary-activate",
    ),
]
