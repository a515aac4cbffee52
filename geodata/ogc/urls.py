"""OGC API – Features URLs, mounted at /ogc/ by mapideas.urls (paths as Part 1 names them)."""

from django.urls import path

from geodata.ogc import views as ogc

urlpatterns = [
    path("", ogc.LandingView.as_view(), name="ogc-landing"),
    path("conformance", ogc.ConformanceView.as_view(), name="ogc-conformance"),
    path("collections", ogc.CollectionsView.as_view(), name="ogc-collections"),
    path("collections/<str:collectionId>", ogc.CollectionView.as_view(), name="ogc-collection"),
    path("collections/<str:collectionId>/items", ogc.ItemsView.as_view(), name="ogc-items"),
    path(
        "collections/<str:collectionId>/items/<str:featureId>",
        ogc.FeatureView.as_view(),
        name="ogc-feature",
    ),
]
