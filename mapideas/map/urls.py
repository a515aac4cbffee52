"""The URLs of mapideas.map: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.map import api

urlpatterns = [
    # Before any api/ideas/<...> pattern could take "viewport" or "similar" for one.
    path("api/ideas/viewport/", api.IdeaViewport.as_view(), name="api-ideas-viewport"),
]
