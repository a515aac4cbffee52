"""The URLs of geodata.places: included at the root by mapideas/urls.py."""

from django.urls import path

from geodata.places import api

urlpatterns = [
    path("api/places/", api.PlaceSearchView.as_view(), name="api-places"),
]
