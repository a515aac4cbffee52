"""A team's response templates: the list, a new one, a change, a deletion. For the team's
members and planners (as its workspace); services.template_save checks again."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mapideas.answers import selectors, services
from mapideas.answers.forms import TemplateForm
from mapideas.models import ID_MAX, ResponseTemplate
from neighborhoods.models import Team
from neighborhoods.roles import can_view_team


def _team_or_403(request: HttpRequest, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not can_view_team(request.user, team):
        raise PermissionDenied(services.TEMPLATES_FORBIDDEN)
    return team


def _template_or_404(team: Team, pk: int) -> ResponseTemplate:
    # A number no primary key can hold names no template (SQLite cannot even compare it).
    if pk > ID_MAX:
        raise Http404("No such template.")
    return get_object_or_404(ResponseTemplate, team=team, pk=pk)


@require_safe
@login_required
def template_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's templates: name, category, automatic status, languages written."""
    team = _team_or_403(request, slug)
    templates = list(selectors.team_templates(team=team))
    languages = settings.LANGUAGES
    rows = [
        {
            "template": t,
            "languages": [name for code, name in languages if t.texts.get(code)],
            "falls_back": [name for code, name in languages if not t.texts.get(code)],
        }
        for t in templates
    ]
    return render(
        request,
        "mapideas/answers_list.html",
        {
            "team": team,
            "rows": rows,
            "default_language": dict(languages)[settings.LANGUAGE_CODE],
        },
    )


def _save(request: HttpRequest, team: Team, template: ResponseTemplate | None) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.template_save(
                    team=team,
                    actor=request.user,
                    name=data["name"],
                    texts=form.texts(),
                    category=data["category"],
                    status=data["status"],
                    template=template,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Template “%(name)s” saved.") % {"name": saved.name})
                return redirect(reverse("answer-templates", args=[team.slug]))
        status = 400
    else:
        form = TemplateForm(template=template)
    return render(
        request,
        "mapideas/answers_form.html",
        {
            "team": team,
            "form": form,
            "template": template,
            "placeholders": services.PLACEHOLDERS,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def template_create(request: HttpRequest, slug: str) -> HttpResponse:
    return _save(request, _team_or_403(request, slug), None)


@require_http_methods(["GET", "POST"])
@login_required
def template_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_or_403(request, slug)
    return _save(request, team, _template_or_404(team, pk))


@require_POST
@login_required
def template_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_or_403(request, slug)
    template = _template_or_404(team, pk)
    services.template_delete(template=template, actor=request.user)
    messages.success(request, _("Template “%(name)s” deleted.") % {"name": template.name})
    return redirect(reverse("answer-templates", args=[team.slug]))
