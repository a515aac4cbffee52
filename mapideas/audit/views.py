"""The staff's audit log: a page for planners and administrators, and its CSV export with
the same filters. Thin: the reads are in selectors."""

import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from mapideas.audit import selectors
from mapideas.audit.forms import AuditFilterForm
from mapideas.plumbing.csv_cells import text_cell

PAGE_SIZE = 100
CSV_COLUMNS = ["time", "staff_account", "action", "pin", "team", "summary"]


def _form(request: HttpRequest) -> AuditFilterForm:
    if not selectors.can_read_audit(request.user):
        raise PermissionDenied(_("Only planners and administrators read the audit log."))
    return AuditFilterForm(request.GET or None)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if form.is_bound and not form.is_valid():
        return render(request, "mapideas/audit.html", {"form": form, "page": None}, status=400)
    filters = form.filters() if form.is_bound else selectors.AuditFilters()
    page = Paginator(selectors.audit_events(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "mapideas/audit.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(events) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                event.created_at.isoformat(),
                event.actor_name,
                event.action,
                event.idea_number or "",
                event.team.slug if event.team else "",
                # A cell a spreadsheet would run as a formula is quoted as text.
                text_cell(event.summary),
            ]
        )


@login_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = _form(request)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in form.errors.items()
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters() if form.is_bound else selectors.AuditFilters()
    response = StreamingHttpResponse(
        _rows(selectors.audit_events(filters)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
