"""mapideas.plumbing.commands: the transaction of a command, rolled back unless --commit."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from mapideas.plumbing.commands import rolled_back_unless

pytestmark = pytest.mark.django_db


def usernames() -> list[str]:
    return sorted(get_user_model().objects.values_list("username", flat=True))


def test_without_commit_what_the_block_wrote_is_seen_inside_and_rolled_back_after():
    with rolled_back_unless(False):
        get_user_model().objects.create(username="dry")
        # A service's own transaction, nested: it becomes a savepoint of the command's.
        with transaction.atomic():
            get_user_model().objects.create(username="nested")
        assert usernames() == ["dry", "nested"]
    assert usernames() == []


def test_with_commit_what_the_block_wrote_stays():
    with rolled_back_unless(True):
        get_user_model().objects.create(username="kept")
    assert usernames() == ["kept"]


def test_an_error_rolls_back_even_with_commit():
    with pytest.raises(RuntimeError), rolled_back_unless(True):
        get_user_model().objects.create(username="lost")
        raise RuntimeError("half-way")
    assert usernames() == []
