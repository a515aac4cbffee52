"""The URLs of mapideas.handoffs: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.handoffs import views

urlpatterns = [
    path("ideas/<int:pk>/handoffs/", views.handoff_create, name="handoff-create"),
    path(
        "ideas/<int:pk>/handoffs/<int:handoff_pk>/approve/",
        views.handoff_approve,
        name="handoff-approve",
    ),
    path(
        "ideas/<int:pk>/handoffs/<int:handoff_pk>/return/",
        views.handoff_return,
        name="handoff-return",
    ),
    path(
        "ideas/<int:pk>/handoffs/<int:handoff_pk>/withdraw/",
        views.handoff_withdraw,
        name="handoff-withdraw",
    ),
    path(
        "ideas/<int:pk>/handoffs/<int:handoff_pk>/photo.jpg",
        views.handoff_photo,
        name="handoff-photo",
    ),
    # The body's link: the hand-off's id and a random token (no address, no login).
    path("handoffs/<int:pk>/<str:token>/", views.handoff_page, name="handoff-page"),
    path("handoffs/<int:pk>/<str:token>/accept/", views.handoff_accept, name="handoff-accept"),
    path("handoffs/<int:pk>/<str:token>/report/", views.handoff_report, name="handoff-report"),
]
