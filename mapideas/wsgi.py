"""WSGI entry point, served by gunicorn (`make run`)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapideas.settings")

application = get_wsgi_application()

# Import the URLconf and every view now, while the worker boots, not on its first request: on
# a busy machine that import could outlast gunicorn's request timeout and the first requests
# would be 500s (seen in the 10-minute load run). With gunicorn's --preload the master does
# it once before forking, so a restarted server answers at once.
get_resolver().url_patterns  # noqa: B018
