"""The URLs of mapideas.audit: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.audit import views

urlpatterns = [
    path("staff/audit/", views.audit_log, name="audit-log"),
    path("staff/audit.csv", views.audit_export, name="audit-export"),
]
