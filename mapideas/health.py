"""`/healthz`: the load balancer's liveness check (docs/operations/scaling.md).

It answers `{"ok": true}` without touching the database or the cache, so a slow database
does not take every server out of the pool at once; and it is the floor of the
`pin_creation_http` benchmark row: the cheapest JSON answer a Django server gives.
A plain Django view, not DRF: it stays out of the API schema.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
