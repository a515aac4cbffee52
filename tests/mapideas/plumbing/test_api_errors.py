"""The API's exception handler (mapideas.plumbing.api_errors, REST_FRAMEWORK's
EXCEPTION_HANDLER): what a service raises leaves in the API's error shape, so no view
catches Django's ValidationError or PermissionDenied itself."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from mapideas.plumbing.api_errors import api_exception_handler
from mapideas.plumbing.ratelimit import RateLimited


def answer(exc: Exception, **attributes):
    """What a view raising `exc` answers, the view having `attributes`."""

    class Raising(APIView):
        authentication_classes = ()

        def post(self, request):
            raise exc

    for name, value in attributes.items():
        setattr(Raising, name, value)
    response = Raising.as_view()(APIRequestFactory().post("/", {}, format="json"))
    response.render()
    return response


def test_it_is_the_apis_exception_handler():
    assert APIView().get_exception_handler() is api_exception_handler


def test_a_services_validation_error_is_a_400_naming_its_fields():
    response = answer(ValidationError({"email": ["Give your email address."], "title": ["No."]}))

    assert response.status_code == 400
    assert response.data == {"email": ["Give your email address."], "title": ["No."]}
    assert response.data["email"][0].code == "invalid"  # as DRF's own ValidationError


def test_a_view_names_its_fields_as_its_api_does():
    response = answer(
        ValidationError({"answer": ["Give an answer."], "status": ["Not from here."]}),
        service_error_fields={"answer": "public_answer"},
    )

    assert response.status_code == 400
    assert response.data == {"public_answer": ["Give an answer."], "status": ["Not from here."]}


def test_an_error_naming_no_field_is_a_non_field_error():
    response = answer(ValidationError("Already done."))

    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Already done."]}


def test_a_services_permission_denied_is_a_403_with_its_message():
    response = answer(PermissionDenied("Only its team may change it."))

    assert response.status_code == 403
    assert response.data == {"detail": "Only its team may change it."}


def test_a_permission_denied_without_a_message_gets_drfs():
    response = answer(PermissionDenied())

    assert response.status_code == 403
    assert response.data == {"detail": "You do not have permission to perform this action."}


def test_a_services_rate_limited_is_drfs_throttled():
    response = answer(RateLimited(42))

    assert response.status_code == 429
    assert response["Retry-After"] == "42"
    assert response.data == {"detail": "Request was throttled. Expected available in 42 seconds."}


def test_anything_else_is_drfs():
    assert answer(NotFound("No pin with this number.")).data == {
        "detail": "No pin with this number."
    }
    with pytest.raises(KeyError):
        answer(KeyError("a bug stays a 500"))
