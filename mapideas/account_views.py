"""A signed-in person's own data: download it (/accounts/my-data/), or erase the account
(/accounts/delete/). Thin: mapideas.personal_data checks the password and erases, in one
transaction."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from mapideas import personal_data, ratelimit
from mapideas.forms import EraseAccountForm


class LoginView(auth_views.LoginView):
    """Django's login page, with login attempts limited (issue 8; MAPIDEAS_RATE_LOGIN): per
    client IP address, and per account name tried, so one address cannot guess many
    passwords and many addresses cannot guess one account's. Beyond either, a 429 with
    Retry-After; the password is not checked at all."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        rate = settings.MAPIDEAS_RATE_LOGIN
        waits = [ratelimit.hit_identity(ratelimit.client_address_hash(request), "login", rate)]
        username = request.POST.get("username", "")
        if username.strip():
            waits.append(ratelimit.hit_account_name(username, "login-account", rate))
        retry_after = max((wait for wait in waits if wait is not None), default=None)
        if retry_after is not None:
            return ratelimit.too_many_response(retry_after)
        return super().post(request, *args, **kwargs)


@never_cache
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """Everything held about the signed-in account, as a JSON file to download."""
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
