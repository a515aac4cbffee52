"""Configuration from the environment: DATABASE_URL and the typed readers."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from mapideas import settings as project_settings
from mapideas.env import env_bool, env_int, env_list


def database_for(monkeypatch, url: str) -> dict:
    monkeypatch.setenv("DATABASE_URL", url)
    return project_settings._database()


def test_it_reads_spatialite_urls_with_three_slashes_as_absolute_paths(monkeypatch, tmp_path):
    config = database_for(monkeypatch, f"spatialite://{tmp_path}/db/city.sqlite3")
    assert config["ENGINE"] == "django.contrib.gis.db.backends.spatialite"
    assert config["NAME"] == f"{tmp_path}/db/city.sqlite3"
    assert (tmp_path / "db").is_dir()


@pytest.mark.parametrize("url", ["spatialite:///tmp/city.sqlite3", "postgis://u@db.example/city"])
def test_db_conn_max_age_keeps_connections_on_both_databases(monkeypatch, url):
    assert database_for(monkeypatch, url)["CONN_MAX_AGE"] == 0  # one per request
    monkeypatch.setenv("DB_CONN_MAX_AGE", "60")
    assert database_for(monkeypatch, url)["CONN_MAX_AGE"] == 60


def test_it_reads_relative_spatialite_paths_from_the_project(monkeypatch):
    config = database_for(monkeypatch, "spatialite://var/other.sqlite3")
    assert config["NAME"] == str(project_settings.BASE_DIR / "var" / "other.sqlite3")


def test_it_reads_postgis_urls(monkeypatch):
    config = database_for(monkeypatch, "postgis://u:p@db.example:6543/city")
    assert config["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.example",
        6543,
        "city",
        "u",
    )


PARALLEL_0 = "-c max_parallel_workers_per_gather=0"
JIT_OFF = "-c jit=off"


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    monkeypatch.delenv("DB_PARALLEL_WORKERS", raising=False)
    monkeypatch.delenv("DB_JIT", raising=False)


def test_postgis_connections_run_each_query_on_one_core_without_jit_by_default(monkeypatch):
    config = database_for(monkeypatch, "postgis://u@db.example/city")
    assert config["OPTIONS"]["options"] == f"{PARALLEL_0} {JIT_OFF}"


@pytest.mark.parametrize(
    ("value", "options"),
    [("2", "-c max_parallel_workers_per_gather=2"), (" 0 ", PARALLEL_0), ("server", None)],
)
def test_db_parallel_workers_sets_or_leaves_the_servers_setting(monkeypatch, value, options):
    monkeypatch.setenv("DB_PARALLEL_WORKERS", value)
    monkeypatch.setenv("DB_JIT", "server")
    config = database_for(monkeypatch, "postgis://u@db.example/city")
    assert config.get("OPTIONS", {}).get("options") == options


@pytest.mark.parametrize(
    ("value", "options"), [("on", "-c jit=on"), (" OFF ", JIT_OFF), ("server", None)]
)
def test_db_jit_sets_or_leaves_the_servers_setting(monkeypatch, value, options):
    monkeypatch.setenv("DB_JIT", value)
    monkeypatch.setenv("DB_PARALLEL_WORKERS", "server")
    config = database_for(monkeypatch, "postgis://u@db.example/city")
    assert config.get("OPTIONS", {}).get("options") == options


@pytest.mark.parametrize("value", ["yes", "0", "maybe"])
def test_a_bad_db_jit_is_refused_naming_it(monkeypatch, value):
    monkeypatch.setenv("DB_JIT", value)
    with pytest.raises(ImproperlyConfigured, match="DB_JIT"):
        database_for(monkeypatch, "postgis://u@db.example/city")


def test_startup_options_given_in_the_url_are_kept(monkeypatch):
    config = database_for(
        monkeypatch, "postgis://u@db.example/city?options=-c%20statement_timeout%3D5000"
    )
    assert config["OPTIONS"]["options"] == f"-c statement_timeout=5000 {PARALLEL_0} {JIT_OFF}"


@pytest.mark.parametrize("value", ["two", "-1", "1.5"])
def test_a_bad_db_parallel_workers_is_refused_naming_it(monkeypatch, value):
    monkeypatch.setenv("DB_PARALLEL_WORKERS", value)
    with pytest.raises(ImproperlyConfigured, match="DB_PARALLEL_WORKERS"):
        database_for(monkeypatch, "postgis://u@db.example/city")


@pytest.mark.django_db
def test_the_live_connection_has_the_setting_on_postgis_and_none_on_spatialite():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] == "0"
            cursor.execute("SHOW jit")
            assert cursor.fetchone()[0] == "off"
    else:  # SQLite runs every query on one core: nothing to set
        assert "options" not in connection.settings_dict["OPTIONS"]


@pytest.mark.parametrize("url", ["sqlite:///x.db", "postgres://u@h/db", "mysql://u@h/db"])
def test_it_refuses_non_spatial_databases(monkeypatch, url):
    with pytest.raises(ImproperlyConfigured, match="postgis:// or spatialite"):
        database_for(monkeypatch, url)


def test_it_refuses_a_spatialite_url_without_a_path(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="needs a file path"):
        database_for(monkeypatch, "spatialite://")


def test_it_names_the_variable_when_a_value_is_malformed(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", False)
    monkeypatch.setenv("MAPIDEAS_MAX_PAGE_SIZE", "many")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_MAX_PAGE_SIZE must be a whole"):
        env_int("MAPIDEAS_MAX_PAGE_SIZE", 1000)


def test_it_splits_lists_and_keeps_defaults(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " ideas.example.org, ,localhost ")
    assert env_list("ALLOWED_HOSTS", []) == ["ideas.example.org", "localhost"]
    monkeypatch.delenv("ALLOWED_HOSTS")
    assert env_list("ALLOWED_HOSTS", ["127.0.0.1"]) == ["127.0.0.1"]
    monkeypatch.setenv("DEBUG", "TRUE")
    assert env_bool("DEBUG", False) is True


def test_it_reads_the_border_hint_distance_and_refuses_a_negative_one(monkeypatch):
    monkeypatch.delenv("MAPIDEAS_BORDER_HINT_M", raising=False)
    assert project_settings._border_hint_m() == 15
    monkeypatch.setenv("MAPIDEAS_BORDER_HINT_M", "40")
    assert project_settings._border_hint_m() == 40
    monkeypatch.setenv("MAPIDEAS_BORDER_HINT_M", "-5")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_BORDER_HINT_M must be 0 or more"):
        project_settings._border_hint_m()


def test_the_old_photo_pixel_setting_is_refused_not_ignored():
    import os
    import subprocess
    import sys

    env = {**os.environ, "MAPIDEAS_PHOTO_MAX_PIXELS": "40000000"}
    result = subprocess.run(
        [sys.executable, "-c", "import mapideas.settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "MAPIDEAS_PHOTO_MAX_PIXELS is no longer read" in result.stderr
