"""The URLs of mapideas.backoffice: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.backoffice import views

urlpatterns = [
    path("staff/backoffice/", views.backoffice_list, name="backoffice-list"),
    path("staff/backoffice/<int:pk>/", views.backoffice_detail, name="backoffice-detail"),
    path(
        "staff/backoffice/<int:pk>/services/",
        views.backoffice_services,
        name="backoffice-services",
    ),
    path("staff/backoffice/<int:pk>/mapping/", views.backoffice_mapping, name="backoffice-mapping"),
    path("staff/backoffice/teams/", views.backoffice_teams, name="backoffice-teams"),
    path("staff/backoffice/teams/<slug:slug>/", views.backoffice_team, name="backoffice-team"),
    path(
        "staff/backoffice/forwards/<int:pk>/retry/",
        views.forward_retry,
        name="backoffice-forward-retry",
    ),
    path(
        "staff/backoffice/forwards/<int:pk>/found/",
        views.forward_found,
        name="backoffice-forward-found",
    ),
    path(
        "staff/backoffice/forwards/<int:pk>/closed-there/",
        views.forward_left_closed,
        name="backoffice-forward-left-closed",
    ),
    path(
        "staff/backoffice/forwards/<int:pk>/erased-there/",
        views.forward_erasure_done,
        name="backoffice-forward-erasure-done",
    ),
    path("staff/backoffice/forwards.csv", views.forwards_export, name="backoffice-export"),
]
