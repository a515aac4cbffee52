"""The API's exception handler (REST_FRAMEWORK["EXCEPTION_HANDLER"]): what a service raises
leaves in the API's error shape, without a try/except in every view.

- Django's ValidationError: a 400 naming the fields, as DRF's own ValidationError does
  (`{"field": ["message", ...]}`; an error naming no field under `non_field_errors`). A view
  whose fields are named otherwise than its service's says so in `service_error_fields`
  (`{"answer": "public_answer"}`).
- Django's PermissionDenied: a 403 with its message.
- ratelimit.RateLimited (a service counted its client beyond a limit): DRF's Throttled, a 429
  with Retry-After.

Everything else is DRF's handler's. Open311 has its own (its errors are a list).
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mapideas.plumbing.ratelimit import RateLimited


def validation_error(
    exc: DjangoValidationError, renamed: Mapping[str, str] | None = None
) -> exceptions.ValidationError:
    """A service's ValidationError as DRF's 400, fields named as the API names them."""
    renamed = renamed or {}
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {renamed.get(field, field): errors for field, errors in exc.message_dict.items()}
        )
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        renamed = getattr(context.get("view"), "service_error_fields", None)
        exc = validation_error(exc, renamed)
    elif isinstance(exc, DjangoPermissionDenied):
        # Its message, as the services word it (DRF's generic one only when it has none).
        exc = exceptions.PermissionDenied(str(exc) if exc.args else None)
    elif isinstance(exc, RateLimited):
        exc = exceptions.Throttled(wait=exc.retry_after)
    return exception_handler(exc, context)
