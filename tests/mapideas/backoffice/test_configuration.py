"""A back office's configuration (mapideas.backoffice.services): its API key is a secret,
encrypted at rest with a key derived from SECRET_KEY or read from an environment variable;
its address must be one MapIdeas may call (a private one only where the city allows it);
the services it lists are what categories may be mapped to."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from mapideas.backoffice import services as backoffice
from mapideas.models import BackofficeEndpoint, BackofficeForward
from tests.mapideas.backoffice.conftest import API_KEY, JURISDICTION, forward_of

pytestmark = pytest.mark.django_db

State = BackofficeForward.State


def stored_rows(table: str) -> str:
    """Every value of every row of `table`, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (a table name of ours)
        return repr(cursor.fetchall())


def test_the_api_key_is_not_in_the_database_in_clear(endpoint, remote, make_pin):
    assert API_KEY not in stored_rows(BackofficeEndpoint._meta.db_table)
    assert endpoint.api_key_encrypted and API_KEY not in endpoint.api_key_encrypted

    make_pin()
    backoffice.forward_pending()

    # And yet the back office gets it.
    assert remote.posts()[0].form["api_key"] == API_KEY
    assert API_KEY not in stored_rows(BackofficeForward._meta.db_table)


def test_a_stored_key_that_cannot_be_decrypted_is_said_and_nothing_is_sent(
    endpoint, remote, make_pin, settings
):
    idea = make_pin()
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40

    result = backoffice.forward_pending()

    assert result.failed == 1
    assert remote.posts() == []
    forward = forward_of(idea)
    assert (forward.state, forward.attempts, forward.posted_at) == (State.QUEUED, 0, None)
    assert "cannot be decrypted" in forward.last_error
    endpoint.refresh_from_db()
    assert endpoint.retry_at is not None


def test_the_api_key_can_come_from_an_environment_variable(
    city, category, remote, make_pin, monkeypatch
):
    monkeypatch.setenv("CITY_WORKS_KEY", API_KEY)
    endpoint = backoffice.endpoint_create(
        team=city.east_team,
        name="City works orders",
        base_url=remote.url,
        jurisdiction_id=JURISDICTION,
        api_key_value="typed but not kept",
        api_key_env="CITY_WORKS_KEY",
    )
    backoffice.mapping_set(
        endpoint, service_codes={category.slug: "pothole"}, attribute_values={}, status_map={}
    )
    assert endpoint.api_key_encrypted == ""
    make_pin()

    assert backoffice.forward_pending().forwarded == 1
    assert remote.posts()[0].form["api_key"] == API_KEY

    monkeypatch.delenv("CITY_WORKS_KEY")
    second = make_pin("Second")
    backoffice.endpoint_update(
        endpoint,
        name=endpoint.name,
        base_url=endpoint.base_url,
        jurisdiction_id=JURISDICTION,
        api_key_value=None,
        api_key_env="CITY_WORKS_KEY",
        searchable=True,
        listing_delay=0,
        reads_updates=False,
        active=True,
    )
    assert backoffice.forward_pending().failed == 1
    assert "CITY_WORKS_KEY is not set" in forward_of(second).last_error
    assert len(remote.posts()) == 1


def test_a_variable_name_that_is_not_one_is_refused(city, remote):
    with pytest.raises(ValidationError) as refused:
        backoffice.endpoint_create(
            team=city.east_team, name="Works", base_url=remote.url, api_key_env="KEY; rm -rf"
        )
    assert "api_key_env" in refused.value.message_dict


def test_a_back_office_on_127_0_0_1_is_refused_unless_the_city_allows_it(city, remote, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    with pytest.raises(ValidationError) as refused:
        backoffice.endpoint_create(team=city.east_team, name="Works", base_url=remote.url)

    assert "loopback" in " ".join(refused.value.message_dict["base_url"])
    assert not BackofficeEndpoint.objects.exists()


def test_a_back_office_no_longer_allowed_gets_nothing_and_its_pins_wait(
    endpoint, remote, make_pin, settings
):
    idea = make_pin()
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    result = backoffice.forward_pending()

    assert result.failed == 1
    assert remote.calls[-1].method == "GET"  # services.json when it was set up; no POST
    assert remote.posts() == []
    # Refused before any connection: nothing can have arrived, nothing to search for.
    forward = forward_of(idea)
    assert forward.state == State.QUEUED
    assert "refused" in forward.last_error


def test_the_services_and_their_required_attributes_are_read_from_the_remote(endpoint):
    by_code = {service["service_code"]: service for service in endpoint.services}

    assert by_code["pothole"] == {
        "service_code": "pothole",
        "service_name": "Pothole",
        "metadata": False,
        "attributes": [],
    }
    # Only the attributes a reporter fills (not the notice shown to them).
    (species,) = by_code["tree"]["attributes"]
    assert species["code"] == "species" and species["required"]
    assert species["values"] == ["oak", "elm"]
    assert endpoint.services_read_at is not None


def test_only_the_remotes_services_and_the_sites_statuses_may_be_mapped(endpoint, category):
    with pytest.raises(ValidationError) as refused:
        backoffice.mapping_set(
            endpoint,
            service_codes={category.slug: "no-such-service", "no-such-category": "pothole"},
            attribute_values={},
            status_map={"closed": "duplicate", "gone": "vanished"},
        )

    errors = refused.value.message_dict
    assert len(errors["service_codes"]) == 2
    assert len(errors["status_map"]) == 2
