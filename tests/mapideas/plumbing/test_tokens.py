"""mapideas.plumbing.tokens: the id a signed link carries, and nothing for a link that was
forged, damaged, signed for another use or too old."""

import time
from datetime import timedelta

from django.core import signing

from mapideas.plumbing.tokens import id_from_token


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
