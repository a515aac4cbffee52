"""Whoever says a closed pin's problem is still there hears what its team decides: a counted
dispute follows the pin (mapideas.outcomes.services), with the account's address or with the
address that just proved itself by its link; a confirmation of the fix does not."""

import pytest

from mapideas.models import FixFeedback, Follower
from mapideas.outcomes.links import feedback_confirm_token
from mapideas.outcomes.services import feedback_confirm, feedback_give

pytestmark = pytest.mark.django_db
V = FixFeedback.Verdict
PAGE = FixFeedback.Source.PIN_PAGE


def test_a_signed_in_disputer_follows_the_pin(closed_idea, make_resident):
    rosa = make_resident("rosa")

    feedback_give(idea=closed_idea, verdict=V.STILL_THERE, user=rosa, source=PAGE)

    follower = Follower.objects.get(idea=closed_idea, user=rosa)
    assert follower.confirmed_at is not None


def test_an_address_follows_once_its_link_is_followed_not_before(closed_idea):
    result = feedback_give(
        idea=closed_idea, verdict=V.STILL_THERE, email="zoe@example.org", source=PAGE
    )
    assert not Follower.objects.filter(idea=closed_idea).exclude(user__isnull=False).exists()

    feedback_confirm(token=feedback_confirm_token(result.feedback))

    follower = Follower.objects.get(idea=closed_idea, email="zoe@example.org")
    assert follower.confirmed_at is not None


def test_confirming_the_fix_follows_nothing(closed_idea, make_resident):
    rosa = make_resident("rosa")

    feedback_give(idea=closed_idea, verdict=V.FIXED, user=rosa, source=PAGE)

    assert not Follower.objects.filter(idea=closed_idea, user=rosa).exists()
