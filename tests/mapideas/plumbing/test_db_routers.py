"""Reads that may be stale go to the replica, writes to default (mapideas.plumbing.db_routers).

The `replica` fixture adds the alias as settings do for DATABASE_REPLICA_URL, as a second
connection to the test database. Those tests are transactional: a replica only sees what was
committed, and TestCase would keep every row inside its own transaction on default.
(scripts/replica_demo.sh proves the same with a real streaming replica; tests/
test_replica_demo.py runs it.)
"""

import copy
import json

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mapideas import settings as project_settings
from mapideas.models import Category, Idea
from mapideas.pins.default_categories import default_categories_create
from mapideas.plumbing.db_routers import REPLICA, replica_alias
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_ENCLAVE, IN_WEST


@pytest.fixture(scope="module")
def _replica_alias(django_db_setup, django_db_blocker):
    """A `replica` alias on the test database, as DATABASE_REPLICA_URL would add one.

    Module-scoped, so it exists before the test case checks its `databases` (the marker
    below), and only while this module's tests run."""
    config = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    # Not a test mirror: a real second connection (replica_alias() reads a mirror of
    # default's test database through default).
    config["TEST"]["MIRROR"] = None
    # connections reads its aliases from this very dict. (With DATABASE_REPLICA_URL set,
    # the alias exists already, as a test mirror: put it back afterwards.)
    configured = settings.DATABASES.get(REPLICA)
    settings.DATABASES[REPLICA] = config
    yield
    with django_db_blocker.unblock():
        connections[REPLICA].close()
    del connections[REPLICA]
    if configured is None:
        del settings.DATABASES[REPLICA]
    else:
        settings.DATABASES[REPLICA] = configured


# Transactional: a second connection sees only committed rows, as a replica does.
uses_replica = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


@pytest.fixture
def replica(_replica_alias, transactional_db):
    # The flush after a transactional test removes what data migrations wrote.
    default_categories_create()
    return connections[REPLICA]


@pytest.fixture
def pins(replica, city):
    category = Category.objects.get(slug="parks-green-space")
    return [
        idea_create(kind="idea", title=f"pin {n}", category=category, location=point)
        for n, point in enumerate((IN_WEST, IN_WEST, IN_ENCLAVE, IN_EAST))
    ]


class Queries:
    """The SQL each alias ran while the block ran."""

    def __enter__(self):
        self.by_alias = {
            a: CaptureQueriesContext(connections[a]) for a in (DEFAULT_DB_ALIAS, REPLICA)
        }
        for captured in self.by_alias.values():
            captured.__enter__()
        return self

    def __exit__(self, *exc):
        for captured in self.by_alias.values():
            captured.__exit__(*exc)

    def on(self, alias: str, table: str) -> list[str]:
        return [q["sql"] for q in self.by_alias[alias].captured_queries if table in q["sql"]]


def read(client: Client, path: str, **params) -> tuple[object, Queries]:
    with Queries() as queries:
        response = client.get(path, params)
        # Streamed answers (the exports) read their rows while they are sent.
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, body[:500]
    return body, queries


def test_without_a_replica_every_read_stays_on_default(monkeypatch):
    monkeypatch.delitem(settings.DATABASES, REPLICA, raising=False)
    assert replica_alias() == DEFAULT_DB_ALIAS


POSTGIS = "django.contrib.gis.db.backends.postgis"


def test_database_replica_url_adds_a_replica_mirrored_in_tests(monkeypatch):
    monkeypatch.setattr(project_settings, "DATABASES", {"default": {"ENGINE": POSTGIS}})
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    assert project_settings._replica() is None
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgis://reader@replica.example:5432/city")
    config = project_settings._replica()
    assert (config["ENGINE"], config["HOST"], config["NAME"]) == (
        POSTGIS,
        "replica.example",
        "city",
    )
    assert config["TEST"] == {"MIRROR": "default"}


@pytest.mark.parametrize(
    ("primary", "replica_url"),
    [(POSTGIS, "spatialite:///tmp/replica.sqlite3"), ("x.spatialite", "postgis://h/city")],
)
def test_a_replica_must_be_postgresql_as_the_primary(monkeypatch, primary, replica_url):
    monkeypatch.setattr(project_settings, "DATABASES", {"default": {"ENGINE": primary}})
    monkeypatch.setenv("DATABASE_REPLICA_URL", replica_url)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL must be postgis"):
        project_settings._replica()


@uses_replica
def test_the_public_list_reads_the_pins_from_the_replica(pins):
    body, queries = read(Client(), "/api/ideas/")
    assert json.loads(body)["count"] == len(pins)
    assert queries.on(REPLICA, "mapideas_idea")
    assert not queries.on(DEFAULT_DB_ALIAS, "mapideas_idea")


@uses_replica
def test_the_engagement_layer_reads_the_pins_from_the_replica(pins, city):
    body, queries = read(Client(), "/api/engagement/neighborhoods/")
    counts = {
        f["properties"]["slug"]: f["properties"]["count"] for f in json.loads(body)["features"]
    }
    assert counts[city.west.slug] == 2
    assert sum(counts.values()) == len(pins)
    assert queries.on(REPLICA, "mapideas_idea")
    assert not queries.on(DEFAULT_DB_ALIAS, "mapideas_idea")


@uses_replica
def test_the_streamed_export_reads_every_row_from_the_replica(pins):
    body, queries = read(Client(), "/export/ideas.geojson")
    assert len(json.loads(body)["features"]) == len(pins)
    assert queries.on(REPLICA, "mapideas_idea")
    assert not queries.on(DEFAULT_DB_ALIAS, "mapideas_idea")


@uses_replica
def test_the_ogc_items_read_from_the_replica(pins):
    body, queries = read(Client(), "/ogc/collections/ideas/items", f="json")
    assert json.loads(body)["numberMatched"] == len(pins)
    assert queries.on(REPLICA, "mapideas_idea")
    assert not queries.on(DEFAULT_DB_ALIAS, "mapideas_idea")


@uses_replica
def test_the_planner_heatmap_reads_pins_from_the_replica_and_the_session_from_default(
    pins, planner
):
    client = Client()
    client.force_login(planner)
    _body, queries = read(client, "/planner/")
    assert queries.on(REPLICA, "mapideas_idea")
    assert not queries.on(DEFAULT_DB_ALIAS, "mapideas_idea")
    # The session was just written on default: it is read there too.
    assert queries.on(DEFAULT_DB_ALIAS, "django_session")
    assert not queries.on(REPLICA, "django_session")


@uses_replica
def test_a_new_pin_is_written_to_default_and_the_replica_is_not_touched(replica, city):
    location = {"type": "Point", "coordinates": [IN_EAST.x, IN_EAST.y]}
    with Queries() as queries:
        response = Client().post(
            "/api/ideas/",
            {"kind": "idea", "title": "New", "category": "parks-green-space", "location": location},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert queries.on(DEFAULT_DB_ALIAS, 'INSERT INTO "mapideas_idea"')
    assert queries.by_alias[REPLICA].captured_queries == []
    # Its page, where the citizen lands next, finds it on default at once.
    assert Client().get(response.json()["properties"]["url"]).status_code == 200


@uses_replica
def test_an_instance_read_from_the_replica_is_saved_to_default(pins):
    idea = Idea.objects.using(replica_alias()).get(pk=pins[0].pk)
    assert idea._state.db == REPLICA
    idea.title = "Renamed"
    with Queries() as queries:
        idea.save(update_fields=["title"])
    assert queries.on(DEFAULT_DB_ALIAS, "UPDATE")
    assert queries.by_alias[REPLICA].captured_queries == []


@uses_replica
def test_inside_a_transaction_reads_stay_on_default_which_sees_its_writes(replica):
    assert replica_alias() == REPLICA
    with transaction.atomic():
        assert replica_alias() == DEFAULT_DB_ALIAS


def test_a_test_mirror_of_default_is_read_through_default(monkeypatch):
    mirror = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    mirror["TEST"]["MIRROR"] = DEFAULT_DB_ALIAS
    monkeypatch.setitem(settings.DATABASES, REPLICA, mirror)
    assert replica_alias() == DEFAULT_DB_ALIAS


@uses_replica
def test_migrations_run_on_default_only(replica):
    from django.db import router

    assert router.allow_migrate(DEFAULT_DB_ALIAS, "mapideas", model_name="idea")
    assert not router.allow_migrate(REPLICA, "mapideas", model_name="idea")
