"""A signed-in person's own data: download it (/accounts/my-data/), or erase the account
(/accounts/delete/). Thin: mapideas.accounts.personal_data checks the password and erases, in one
transaction."""

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from mapideas.accounts import personal_data, selectors, services, single_sign_on
from mapideas.accounts.forms import EraseAccountForm, SignupForm, SignupPasswordForm
from mapideas.accounts.middleware import mark_signed_in
from mapideas.pins.page import form_errors
from mapideas.plumbing import outbound, ratelimit

logger = logging.getLogger(__name__)


@method_decorator(ratelimit.rate_limited(ratelimit.LOGIN, ratelimit.LOGIN_ACCOUNT), name="post")
class LoginView(auth_views.LoginView):
    """Django's login page, with login attempts limited (MAPIDEAS_RATE_LOGIN): per client IP
    address, and per account name tried, so one address cannot guess many passwords and
    many addresses cannot guess one account's. Beyond either, a 429 with Retry-After; the
    password is not checked at all. With single sign-on, a button to the city's provider;
    staff passwords may be off (mapideas.accounts.backends)."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        mark_signed_in(self.request)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["single_sign_on"] = settings.MAPIDEAS_OIDC_ENABLED
        context["single_sign_on_name"] = settings.MAPIDEAS_OIDC_NAME
        return context


# --- Single sign-on (mapideas.accounts.single_sign_on) --------------------------------------

PROVIDER_FAILED = gettext_lazy(
    "Signing in through the city's identity provider did not work. Try again; if it keeps "
    "failing, tell the city's IT team."
)


class _ProviderSignIn(OIDCAuthenticationRequestView):
    get_settings = staticmethod(single_sign_on.setting)


class _ProviderCallback(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(single_sign_on.setting)

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        mark_signed_in(self.request)
        return response

    def login_failure(self) -> HttpResponse:
        messages.error(self.request, PROVIDER_FAILED)
        return redirect("login")


def _with_provider(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A 404 while single sign-on is not configured; the login page, saying so, when the
    provider cannot be reached."""

    @never_cache
    @functools.wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        if not settings.MAPIDEAS_OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return view(request)
        except (
            single_sign_on.ProviderError,
            outbound.OutboundError,
            outbound.OutboundRefused,
        ) as exc:
            logger.warning("single sign-on: the provider failed: %s", exc)
            messages.error(request, PROVIDER_FAILED)
            return redirect("login")

    return wrapped


# GET: to the provider's sign-in page (with `next`, a path on this site, kept for the return).
provider_sign_in = _with_provider(_ProviderSignIn.as_view())
# GET: the provider sends the browser back here with a code: the account is signed in.
provider_callback = _with_provider(_ProviderCallback.as_view())


@never_cache
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """Everything held about the signed-in account, as a JSON file to download."""
    assert request.user.is_authenticated  # login_required let only a signed-in person in
    data = personal_data.account_data(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    day = timezone.now().date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="mapideas-my-data-{day}.json"'
    return response


@never_cache
@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    """GET: the "your data" page (the download, what erasing does, the form). POST, with
    the password: erase the account; the pins stay, anonymised; signed out."""
    status = 200
    if request.method == "POST":
        form = EraseAccountForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                personal_data.account_erase(
                    user=request.user, password=form.cleaned_data["password"]
                )
            except ValidationError as exc:
                form.add_error("password", exc.message_dict.get("password", exc.messages))
            else:
                logout(request)
                messages.success(
                    request,
                    _(
                        "Your account is erased. Your pins and comments stay on the map without "
                        "your name or contact details."
                    ),
                )
                return redirect("home")
    else:
        form = EraseAccountForm()
    return render(
        request,
        "registration/account_delete.html",
        {"form": form, "not_included": personal_data.NOT_INCLUDED},
        status=status,
    )


def signup(request: HttpRequest) -> HttpResponse:
    """A citizen's account, offered when the city takes pins from signed-in people
    (MAPIDEAS_SUBMISSION_MODES has "account"); at most MAPIDEAS_RATE_SIGNUP sign-ups per
    client IP address. A sign-up the form accepts is answered with the same page whatever
    the address (services.citizen_signup emails the link, or tells the address's owner);
    the link's page asks for the password, and signs the new account in."""
    if "account" not in settings.MAPIDEAS_SUBMISSION_MODES:
        raise Http404("Sign-up is off in this city.")
    return _signup(request)


def _safe_next(request: HttpRequest) -> str:
    """`next` from the form or the query string, if it stays on this site; else ""."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    return next_url


# Counted once sign-up is known to be offered: a POST to a city without it is a 404.
@ratelimit.rate_limited(ratelimit.SIGNUP)
def _signup(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    status = 200
    if request.method == "POST":
        form = SignupForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.citizen_signup(
                    username=data["username"], email=data["email"], next_url=next_url
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                return render(
                    request,
                    "registration/signup_sent.html",
                    {"days": selectors.SIGNUP_LINK_MAX_AGE.days},
                )
    else:
        form = SignupForm()
    return render(
        request, "registration/signup.html", {"form": form, "next": next_url}, status=status
    )


@never_cache
def signup_confirm(request: HttpRequest, uid: int, token: str) -> HttpResponse:
    """The link emailed at sign-up: a page that asks for the account's password (a mail
    scanner opening the link changes nothing); the form sets it, activates the account,
    signs it in, and goes to `next` (on this site) or the map. The password is chosen here,
    by whoever reads the mailbox, never at sign-up (services). A password refused: the form
    again, 400, the field named, the link still good. A forged, expired or used link: a page
    saying so, 400."""
    template = "registration/signup_confirm.html"
    days = selectors.SIGNUP_LINK_MAX_AGE.days
    bad = {"bad": True, "days": days}
    pending = selectors.awaiting_signup(uid=uid, token=token)
    if pending is None:
        return render(request, template, bad, status=400)
    next_url = _safe_next(request)
    status = 200
    if request.method == "POST":
        form = SignupPasswordForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                user = services.signup_confirm(
                    uid=uid, token=token, password=form.cleaned_data["password"]
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                if user is None:  # used by another click meanwhile
                    return render(request, template, bad, status=400)
                auth_login(request, user, backend=settings.LOCAL_SIGN_IN_BACKEND)
                mark_signed_in(request)
                messages.success(
                    request,
                    _("Welcome, %(name)s: you are signed in.") % {"name": user.get_username()},
                )
                return redirect(next_url or "home")
    else:
        form = SignupPasswordForm()
    # Whoever follows the link reads this mailbox: the address is theirs to see, and shows
    # them whose account they are about to set a password for (a link someone else sent
    # them would make them work in an account whose emails go to that person).
    context = {
        "form": form,
        "next": next_url,
        "username": pending.get_username(),
        "email": pending.email,
    }
    return render(request, template, context, status=status)
