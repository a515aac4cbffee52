"""Schemathesis reads the OpenAPI schema and throws generated requests, valid and invalid,
at every documented operation: none may answer with a server error.

The schema is the one /api/schema/ serves (drf-spectacular, generated from the code), so
every endpoint that appears in it is fuzzed without a change here; one test per operation.
Requests go in-process through the WSGI application, inside the test's transaction, on a
city with neighborhoods so that valid pins really get routed.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

# Per operation, per backend: enough to reach the malformed corners, cheap enough for CI.
EXAMPLES_PER_OPERATION = 25

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture(scope="module")
def wsgi_app():
    # A bare WSGI handler closes the database connection after each request, which would end
    # the test's transaction; Django's test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_generated_request_makes_a_server_error(case, city, wsgi_app):
    case.call_and_validate(app=wsgi_app, checks=[not_a_server_error])
