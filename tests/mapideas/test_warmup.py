"""mapideas.warmup: what a gunicorn worker does at boot (mapideas.wsgi)."""

import gc
import importlib

import pytest

from mapideas import warmup
from mapideas.warmup import warm_up


def test_start_up_objects_are_frozen_out_of_the_collectors_walks():
    try:
        warm_up()
        # Django and the apps: long-lived, never garbage, no longer walked by a collection.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_the_wsgi_application_is_readied_on_import():
    try:
        from mapideas import wsgi

        importlib.reload(wsgi)  # as a worker imports it at boot, whatever ran before
        assert callable(wsgi.application)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_apps_boot_steps_run_and_a_failing_one_is_logged(monkeypatch, caplog):
    ran = []

    def fails() -> None:
        raise RuntimeError("no database")

    monkeypatch.setattr(warmup, "_BOOT_STEPS", [])
    warmup.register(fails)
    warmup.register(lambda: ran.append("second"))
    try:
        warm_up()
    finally:
        gc.unfreeze()
    assert ran == ["second"]
    assert "boot step" in caplog.text and "fails" in caplog.text


def test_the_projects_templates_are_compiled_at_boot(monkeypatch):
    from django.template import engines

    monkeypatch.setattr(warmup, "_BOOT_STEPS", [])
    (cached,) = engines["django"].engine.template_loaders
    cached.reset()
    try:
        warm_up()
    finally:
        gc.unfreeze()
    compiled = {key.split(":")[0] for key in cached.get_template_cache}
    # The pages' own and those they include: the first request of a worker compiles none.
    assert {"mapideas/idea_detail.html", "mapideas/_map.html", "base.html"} <= compiled


@pytest.mark.django_db
def test_the_compiled_queries_and_widget_templates_are_ready_at_boot(monkeypatch):
    from django.forms.renderers import get_default_renderer

    from mapideas.pins import selectors

    monkeypatch.setattr(warmup, "_BOOT_STEPS", [])
    monkeypatch.setattr(selectors._pin_by_pk, "_by_alias", {})
    environment = get_default_renderer().jinja2.engine.env
    environment.cache.clear()
    try:
        warm_up()
    finally:
        gc.unfreeze()
    # The first pin page a worker serves compiles no query and no widget template.
    assert "default" in selectors._pin_by_pk._by_alias
    compiled = {name for _loader, name in environment.cache}
    assert {"django/forms/widgets/input.html", "django/forms/widgets/textarea.html"} <= compiled


def test_a_database_that_does_not_answer_at_boot_is_said_once_not_per_query(monkeypatch, caplog):
    from django.conf import settings
    from django.db import connections
    from django.db.utils import OperationalError

    def refused() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(warmup, "_BOOT_STEPS", [])
    for alias in settings.DATABASES:
        monkeypatch.setattr(connections[alias], "ensure_connection", refused)
    try:
        warm_up()
    finally:
        gc.unfreeze()
    said = [record.getMessage() for record in caplog.records]
    assert said.count("queries not compiled for default: no connection") == 1
    # Each query would have said it again, once per compiled query of the project.
    assert not [message for message in said if message.startswith("query ")]


def _in_a_new_thread(check):
    """`check`'s answer in a thread of its own (Django's connections belong to a thread, as a
    gunicorn worker's serving thread has its own), its connections closed after."""
    import threading

    from django.db import connections

    answers = []

    def run() -> None:
        try:
            answers.append(check())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return answers[0]


@pytest.mark.django_db
@pytest.mark.parametrize("max_age, opened", [(60, True), (0, False)])
def test_a_workers_kept_connection_is_open_before_its_first_request(monkeypatch, max_age, opened):
    from django.db import DEFAULT_DB_ALIAS, connections

    monkeypatch.setitem(connections.settings[DEFAULT_DB_ALIAS], "CONN_MAX_AGE", max_age)

    def connected() -> bool:
        warmup.connect_databases()
        return connections[DEFAULT_DB_ALIAS].connection is not None

    # A connection for one request only would be closed as that request starts: not opened.
    assert _in_a_new_thread(connected) is opened


@pytest.mark.django_db
def test_a_database_that_does_not_answer_when_a_worker_boots_is_logged(monkeypatch, caplog):
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.utils import OperationalError

    def refused(self) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setitem(connections.settings[DEFAULT_DB_ALIAS], "CONN_MAX_AGE", 60)
    monkeypatch.setattr(type(connections[DEFAULT_DB_ALIAS]), "ensure_connection", refused)
    _in_a_new_thread(warmup.connect_databases)
    assert "no connection to default at boot" in caplog.text
