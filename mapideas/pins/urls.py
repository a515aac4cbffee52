"""The URLs of mapideas.pins: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.pins import api, views

urlpatterns = [
    path("ideas/<int:pk>/", views.idea_detail, name="idea-detail"),
    path("ideas/<int:pk>/photo.jpg", views.idea_photo, name="idea-photo"),
    path(
        "ideas/<int:pk>/photos/<int:photo_pk>.jpg",
        views.timeline_photo,
        name="idea-timeline-photo",
    ),
    path("api/categories/", api.CategoryList.as_view(), name="api-categories"),
    path("api/ideas/<int:pk>/", api.IdeaDetail.as_view(), name="api-idea"),
    path("api/neighborhoods/", api.NeighborhoodList.as_view(), name="api-neighborhoods"),
    path("api/route/", api.RoutePreviewView.as_view(), name="api-route"),
]
