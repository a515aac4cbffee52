"""The URLs of geodata.exports: included at the root by mapideas/urls.py."""

from django.urls import re_path

from geodata.exports import views

urlpatterns = [
    # The layer has no dot, the extension may have one (`ideas.shp.zip`).
    re_path(
        r"^export/(?P<layer>[^/.]+)\.(?P<extension>[^/]+)$",
        views.export_layer,
        name="export-layer",
    ),
]
