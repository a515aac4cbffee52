"""Settings of the Django floor's server (bench/django_floor.py): MapIdeas' own settings,
middleware included, with one URL more."""

from mapideas.settings import *  # noqa: F403 (the same settings, every one of them)

ROOT_URLCONF = "bench.django_floor"
