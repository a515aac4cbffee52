"""Fixtures of "Is it really fixed?": a pin of the East Team marked done, residents with
verified addresses (accounts that completed their sign-up link)."""

import pytest

from mapideas.models import Idea, VerifiedAddress
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_status_change
from tests.conftest import IN_EAST


@pytest.fixture
def closed_idea(city, category, east_member) -> Idea:
    idea = idea_create(kind="issue", title="Broken bench", category=category, location=IN_EAST)
    idea_status_change(idea=idea, status=Idea.Status.DONE, answer="Repaired.", actor=east_member)
    return Idea.objects.get(pk=idea.pk)


@pytest.fixture
def make_resident(make_user):
    """A resident whose account's address was proved by its sign-up link."""

    def make(username: str):
        user = make_user(username)
        user.email = f"{username}@example.org"
        user.save(update_fields=["email"])
        VerifiedAddress.objects.create(user=user, email=user.email)
        return user

    return make
