"""WSGI entry point, served by gunicorn (`make run`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapideas.settings")

application = get_wsgi_application()

# Ready the process now, while the worker boots (mapideas.warmup: views imported, start-up
# objects frozen out of the garbage collector's walks). With gunicorn's --preload the master
# does it once before forking, so a restarted server answers at once.
from mapideas.warmup import warm_up  # noqa: E402 (needs the settings above)

warm_up()
