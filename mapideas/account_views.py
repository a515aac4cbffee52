"""A signed-in person's own data: download it (/accounts/my-data/), or erase the account
(/accounts/delete/). Thin: mapideas.personal_data checks the password and erases, in one
transaction."""

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from mapideas import personal_data
from mapideas.forms import EraseAccountForm


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
                    "Your account is erased. Your pins and comments stay on the map without "
                    "your name or contact details.",
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
