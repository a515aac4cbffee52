"""The URLs of mapideas.alerts: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.alerts import api, views

urlpatterns = [
    path("alerts/", views.alerts_page, name="alerts"),
    path("alerts/confirm/<str:token>/", views.alert_confirm, name="alert-confirm"),
    path(
        "alerts/unsubscribe/<str:token>/",
        views.alert_unsubscribe,
        name="alert-unsubscribe",
    ),
    path("api/subscriptions/", api.SubscriptionCreate.as_view(), name="api-subscriptions"),
]
