"""The URLs of mapideas.accounts: included at the root by mapideas/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path

from mapideas.accounts import views

urlpatterns = [
    # Django's login page with attempts limited (MAPIDEAS_RATE_LOGIN).
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Single sign-on through the city's OpenID Connect provider (404 when not configured).
    path("accounts/oidc/login/", views.provider_sign_in, name="oidc-login"),
    path("accounts/oidc/callback/", views.provider_callback, name="oidc-callback"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/signup/confirm/<int:uid>/<str:token>/",
        views.signup_confirm,
        name="signup-confirm",
    ),
    path("accounts/my-data/", views.my_data, name="my-data"),
    path("accounts/delete/", views.account_delete, name="account-delete"),
]
