"""The URLs of mapideas.participation: included at the root by mapideas/urls.py."""

from django.urls import path

from mapideas.participation import api, views

urlpatterns = [
    path("ideas/<int:pk>/support/", views.idea_support, name="idea-support"),
    path("ideas/<int:pk>/unsupport/", views.idea_unsupport, name="idea-unsupport"),
    path("ideas/<int:pk>/comments/", views.comment_add, name="comment-add"),
    path(
        "ideas/<int:pk>/comments/<int:comment_pk>/hide/",
        views.comment_hide,
        name="comment-hide",
    ),
    path("ideas/<int:pk>/follow/", views.idea_follow, name="idea-follow"),
    path("ideas/<int:pk>/unfollow/", views.idea_unfollow, name="idea-unfollow"),
    # Links in emails: signed tokens, no login.
    path("follow/confirm/<str:token>/", views.follow_confirm, name="follow-confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "api/ideas/<int:pk>/support/",
        api.IdeaSupport.as_view(),
        name="api-idea-support",
    ),
    path(
        "api/ideas/<int:pk>/comments/",
        api.IdeaComments.as_view(),
        name="api-idea-comments",
    ),
    path("api/ideas/<int:pk>/follow/", api.IdeaFollow.as_view(), name="api-idea-follow"),
]
