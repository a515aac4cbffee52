"""The URLs of mapideas.similar: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.similar import api

urlpatterns = [
    path("api/ideas/similar/", api.SimilarIdeas.as_view(), name="api-ideas-similar"),
]
