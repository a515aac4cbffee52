"""mapideas.plumbing.tokens: the id a signed link carries, and nothing for a link that was
forged, damaged, signed for another use or too old; a token bound to an email address carries
a keyed hash of it, never the address (a link ends up in access logs)."""

import base64
import time
from datetime import timedelta

from django.core import signing

from mapideas.plumbing.tokens import bound_id_from_token, bound_token, id_from_token


def test_it_reads_the_id_signed_for_this_use():
    assert id_from_token(signing.dumps(42, salt="unsubscribe"), salt="unsubscribe") == 42


def test_a_token_signed_for_another_use_names_nothing():
    assert id_from_token(signing.dumps(42, salt="confirm"), salt="unsubscribe") is None


def test_a_forged_or_damaged_token_names_nothing():
    token = signing.dumps(42, salt="unsubscribe")
    assert id_from_token(token[:-2] + "xx", salt="unsubscribe") is None
    assert id_from_token("not a token", salt="unsubscribe") is None


def test_a_token_that_holds_no_id_names_nothing():
    assert id_from_token(signing.dumps("42", salt="unsubscribe"), salt="unsubscribe") is None
    assert id_from_token(signing.dumps([42], salt="unsubscribe"), salt="unsubscribe") is None


def test_a_token_older_than_its_max_age_names_nothing(monkeypatch):
    two_days_ago = time.time() - 2 * 86400
    monkeypatch.setattr(signing.time, "time", lambda: two_days_ago)
    token = signing.dumps(42, salt="confirm")
    monkeypatch.undo()

    assert id_from_token(token, salt="confirm", max_age=timedelta(days=1)) is None
    assert id_from_token(token, salt="confirm", max_age=timedelta(days=3)) == 42


# --- tokens bound to a value (an email address) that must not show in the link -------------

ADDRESS = "leaky.person@example.org"


def payload_of(token: str) -> str:
    """What anyone reading the link sees of it: the signing payload, base64url-decoded."""
    payload = token.split(":", 1)[0]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def test_a_bound_token_carries_a_keyed_hash_of_its_value_not_the_value():
    token = bound_token(42, ADDRESS, salt="confirm")

    assert "leaky" not in payload_of(token).lower()
    assert "@" not in payload_of(token)
    assert "leaky" not in token.lower()


def test_a_bound_token_holds_for_its_value_only():
    found = bound_id_from_token(bound_token(42, ADDRESS, salt="confirm"), salt="confirm")

    assert found is not None and found.pk == 42
    assert found.holds_for(ADDRESS)
    assert found.holds_for(" Leaky.Person@Example.ORG ")  # addresses compare as they are cleaned
    assert not found.holds_for("new.address@example.org")
    assert not found.holds_for("")


def test_a_bound_token_signed_for_another_use_or_damaged_names_nothing():
    token = bound_token(42, ADDRESS, salt="confirm")

    assert bound_id_from_token(token, salt="team-stop") is None
    assert bound_id_from_token(token[:-2] + "xx", salt="confirm") is None
    assert bound_id_from_token(signing.dumps(42, salt="confirm"), salt="confirm") is None
    assert bound_id_from_token(signing.dumps(["42", "ab"], salt="confirm"), salt="confirm") is None


def test_the_same_value_bound_for_two_uses_hashes_differently():
    confirm = bound_token(42, ADDRESS, salt="confirm")
    stop = bound_token(42, ADDRESS, salt="team-stop")

    assert payload_of(confirm) != payload_of(stop)


def test_a_bound_token_older_than_its_max_age_names_nothing(monkeypatch):
    two_days_ago = time.time() - 2 * 86400
    monkeypatch.setattr(signing.time, "time", lambda: two_days_ago)
    token = bound_token(42, ADDRESS, salt="confirm")
    monkeypatch.undo()

    assert bound_id_from_token(token, salt="confirm", max_age=timedelta(days=1)) is None
    assert bound_id_from_token(token, salt="confirm", max_age=timedelta(days=3)) is not None


def test_a_token_signed_with_the_address_itself_still_holds_for_that_address():
    """Links emailed before tokens stopped carrying addresses keep working (see tokens.py)."""
    found = bound_id_from_token(signing.dumps([42, ADDRESS], salt="confirm"), salt="confirm")

    assert found is not None and found.pk == 42
    assert found.holds_for(ADDRESS.upper())
    assert not found.holds_for("new.address@example.org")
