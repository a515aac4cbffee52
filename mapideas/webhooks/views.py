"""The staff's webhook pages: register receivers, see their queue and delivery log, send a
test delivery, lift a back-off, rotate a secret. Site staff only (User.is_staff): a webhook
sends the city's pins to a system of its choosing. Thin: the work is in services."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from mapideas.models import WebhookEndpoint
from mapideas.pins.page import form_errors
from mapideas.webhooks import selectors
from mapideas.webhooks import services as webhooks
from mapideas.webhooks.forms import EndpointForm

View = Callable[..., HttpResponse]


def staff_only(view: View) -> View:
    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied(_("Only the site's staff manage webhooks."))
        return view(request, *args, **kwargs)

    return checked


def _endpoint_or_404(pk: int) -> WebhookEndpoint:
    endpoint = selectors.endpoint(pk)
    if endpoint is None:
        raise Http404("No such webhook.")
    return endpoint


def _secret_page(request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> HttpResponse:
    # Shown once, in this answer only: never in a URL, never cached (never_cache on the view).
    return render(request, "mapideas/webhook_secret.html", {"endpoint": endpoint, "secret": secret})


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhooks.endpoint_create(
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                events=form.cleaned_data["events"],
                actor=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            return _secret_page(request, endpoint, secret)
    return render(
        request,
        "mapideas/webhooks.html",
        {"endpoints": selectors.endpoints(), "form": form},
        status=400 if form.errors else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "active": endpoint.active,
    }
    form = EndpointForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.endpoint_update(
                endpoint,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                events=form.cleaned_data["events"],
                active=form.cleaned_data["active"],
                actor=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("webhook-detail", pk=endpoint.pk)
    return render(
        request,
        "mapideas/webhook_detail.html",
        {"endpoint": endpoint, "form": form, "log": selectors.delivery_log(endpoint)},
        status=400 if form.errors else 200,
    )


@require_POST
@staff_only
def webhook_ping(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = webhooks.ping_send(_endpoint_or_404(pk))
    if webhooks.ping_ok(delivery):
        messages.success(
            request,
            _("Test delivery accepted (HTTP %(status)s).") % {"status": delivery.last_status},
        )
    else:
        messages.error(
            request, _("Test delivery failed: %(error)s") % {"error": delivery.last_error}
        )
    return redirect("webhook-detail", pk=pk)


@require_POST
@staff_only
def webhook_retry(request: HttpRequest, pk: int) -> HttpResponse:
    count = webhooks.endpoint_retry_now(_endpoint_or_404(pk))
    messages.success(
        request,
        _("%(count)s pending deliveries will be tried at the next send_webhooks run.")
        % {"count": count},
    )
    return redirect("webhook-detail", pk=pk)


@never_cache
@require_POST
@staff_only
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(pk)
    return _secret_page(
        request, endpoint, webhooks.endpoint_rotate_secret(endpoint, actor=request.user)
    )


@require_POST
@staff_only
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    dropped = webhooks.endpoint_delete(_endpoint_or_404(pk), actor=request.user)
    messages.success(
        request,
        _("Webhook deleted; %(count)s pending deliveries were dropped.") % {"count": dropped},
    )
    return redirect("webhook-list")
