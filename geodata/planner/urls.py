"""The URLs of geodata.planner: included at the root by mapideas/urls.py."""

from django.urls import path

from geodata.planner import views

urlpatterns = [
    path("planner/", views.planner, name="planner"),
]
