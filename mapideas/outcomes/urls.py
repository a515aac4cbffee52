"""The URLs of mapideas.outcomes: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.outcomes import api, fix_check_views, views

urlpatterns = [
    path("ideas/<int:pk>/feedback/", views.idea_feedback, name="idea-feedback"),
    # The link emailed to an address that gave feedback: a signed token, no login.
    path("feedback/confirm/<str:token>/", views.feedback_confirm, name="feedback-confirm"),
    # The links of an "Is it fixed?" email: a random token, single-use, naming no one.
    path("ideas/fixed/<str:token>/", fix_check_views.fix_check, name="fix-check"),
    path("teams/<slug:slug>/checks/", views.check_queue, name="check-queue"),
    path("teams/<slug:slug>/checks/<int:pk>/reopen/", views.check_reopen, name="check-reopen"),
    path(
        "teams/<slug:slug>/checks/<int:pk>/keep-closed/",
        views.check_keep_closed,
        name="check-keep-closed",
    ),
    path(
        "teams/<slug:slug>/checks/<int:pk>/dismiss/<int:feedback_pk>/",
        views.check_dismiss,
        name="check-dismiss",
    ),
    path("checks/photos/<int:photo_pk>.jpg", views.dispute_photo, name="dispute-photo"),
    path("api/ideas/<int:pk>/feedback/", api.IdeaFeedback.as_view(), name="api-idea-feedback"),
]
