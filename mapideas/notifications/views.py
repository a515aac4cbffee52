"""The link in a team's emails that stops them."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from mapideas.notifications import services


@csrf_exempt  # as unsubscribe: the signed token is the authority
def team_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link of a team's new-pin emails: stops them for the whole team."""
    if request.method == "POST":
        if services.team_notifications_stop(token=token) is None:
            return render(request, "mapideas/unsubscribe.html", {"bad": True}, status=400)
        return render(request, "mapideas/unsubscribe.html", {"done": True})
    return render(request, "mapideas/unsubscribe.html", {"token": token})
