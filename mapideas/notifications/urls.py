"""The URLs of mapideas.notifications: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.notifications import views

urlpatterns = [
    path(
        "unsubscribe/team/<str:token>/",
        views.team_unsubscribe,
        name="team-unsubscribe",
    ),
]
