"""The URLs of mapideas.answers: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.answers import views

urlpatterns = [
    path("teams/<slug:slug>/templates/", views.template_list, name="answer-templates"),
    path("teams/<slug:slug>/templates/new/", views.template_create, name="answer-template-new"),
    path(
        "teams/<slug:slug>/templates/<int:pk>/",
        views.template_edit,
        name="answer-template-edit",
    ),
    path(
        "teams/<slug:slug>/templates/<int:pk>/delete/",
        views.template_delete,
        name="answer-template-delete",
    ),
]
