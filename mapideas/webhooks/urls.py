"""The URLs of mapideas.webhooks: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.webhooks import views

urlpatterns = [
    path("staff/webhooks/", views.webhook_list, name="webhook-list"),
    path("staff/webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("staff/webhooks/<int:pk>/ping/", views.webhook_ping, name="webhook-ping"),
    path("staff/webhooks/<int:pk>/retry/", views.webhook_retry, name="webhook-retry"),
    path("staff/webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhook-rotate"),
    path("staff/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook-delete"),
]
