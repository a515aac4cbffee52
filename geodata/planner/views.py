"""The planner page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import render
from django.utils.translation import gettext as _

from geodata.exports import formats as export_formats
from geodata.planner import page as planner_page
from neighborhoods.roles import is_planner


@login_required
def planner(request: HttpRequest) -> HttpResponse:
    """Where people speak up and where engagement is thin: figures from geodata.planner."""
    if not is_planner(request.user):
        raise PermissionDenied(_("The planner page is for planners."))
    form = planner_page.PlannerForm(request.GET)
    asked = form.selection()
    context = {
        "form": form,
        "export_formats": export_formats.FORMATS.values(),
        # `?lang=` for the downloads when the page is not in the city's language.
        "export_query": planner_page.query_string(planner_page.export_language()),
    }
    if asked is None:
        return render(request, "geodata/planner.html", {**context, "page": None}, status=400)
    selection, options = asked
    page = planner_page.planner_page(selection, options, form.parameters())
    return render(request, "geodata/planner.html", {**context, "page": page})
