"""The back office of the tests: a real GeoReport v2 server on 127.0.0.1 (allowed in the
settings, as a city allows its own network), with time-outs short enough that its scripted
time-outs cost a fraction of a second, and East Team's endpoint on it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mapideas.backoffice import services as backoffice
from mapideas.models import BackofficeEndpoint, BackofficeForward, Idea
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST
from tests.mapideas.backoffice.georeport_server import GeoReportServer

API_KEY = "key-of-the-city-" + "x" * 20
JURISDICTION = "city.example"
# The client's time-outs in these tests: the server's scripted sleeps (0.9 s) are past the
# read time-out, its trickle (one byte every 0.1 s) past the deadline. An answer the server
# gives at once must still come within them on a loaded machine (a test server's thread
# shares the test's process): 0.3 s was once too short for a plain services.json.
READ_TIMEOUT = 0.5
DEADLINE = 1.0


@pytest.fixture
def remote(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.OUTBOUND_CONNECT_TIMEOUT = 1.0
    settings.OUTBOUND_READ_TIMEOUT = READ_TIMEOUT
    settings.OUTBOUND_DEADLINE = DEADLINE
    settings.MAPIDEAS_SITE_URL = "https://ideas.city.example"
    server = GeoReportServer(api_key=API_KEY, jurisdiction_id=JURISDICTION)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(city, category, remote) -> BackofficeEndpoint:
    """East Team's back office: the pins of `category` go to its "pothole" service. The
    server lists a request as soon as it stores it (unless told otherwise: the tests that
    do set a listing delay)."""
    made = backoffice.endpoint_create(
        team=city.east_team,
        name="City works orders",
        base_url=remote.url,
        jurisdiction_id=JURISDICTION,
        api_key_value=API_KEY,
        listing_delay=0,
        forward_from=timezone.now() - timedelta(minutes=1),
    )
    backoffice.services_read(made)
    return backoffice.mapping_set(
        made,
        service_codes={category.slug: "pothole"},
        attribute_values={},
        status_map={},
    )


@pytest.fixture
def make_pin(category):
    def make(title: str = "Broken bench", *, location=IN_EAST, **more) -> Idea:
        return idea_create(
            kind="issue", title=title, category=more.pop("category", category),
            location=location, **more,
        )  # fmt: skip

    return make


def time_passes() -> None:
    """Every back-off is over (the forwards' and the endpoints'): the next run takes them.
    A forward waiting for the remote to list it still waits the listing delay itself."""
    past = timezone.now() - timedelta(seconds=1)
    BackofficeForward.objects.exclude(
        state__in=[BackofficeForward.State.FORWARDED, BackofficeForward.State.HELD]
    ).update(next_attempt_at=past)
    BackofficeEndpoint.objects.update(retry_at=None)


def forward_of(idea: Idea) -> BackofficeForward:
    return BackofficeForward.objects.exclude(state=BackofficeForward.State.LEFT).get(idea=idea)
