"""Residents' verdicts on closed pins (mapideas.outcomes.services.feedback_give): who may give
one, one per person per closure, the counts kept under the pin's row lock, and the
automatic reopening when enough distinct people, one per network, say it is still there."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mapideas.models import (
    FEEDBACK_NOTE_MAX_LENGTH,
    EmailOutbox,
    FixFeedback,
    Follower,
    Idea,
    Reopening,
    TimelinePhoto,
    VerifiedAddress,
)
from mapideas.outcomes.links import feedback_confirm_token, feedback_from_confirm_token
from mapideas.outcomes.selectors import has_verified_address, person_hash_of
from mapideas.outcomes.services import Outcome, feedback_confirm, feedback_give
from mapideas.pins import photos
from mapideas.plumbing.hashing import keyed_hash
from mapideas.plumbing.ratelimit import RateLimited
from mapideas.workflow.services import idea_status_change
from neighborhoods.models import Team
from tests.mapideas.pins.photo_files import gps_jpeg, huge_png_header, upload

pytestmark = pytest.mark.django_db
S = Idea.Status
V = FixFeedback.Verdict
PAGE = FixFeedback.Source.PIN_PAGE


def fresh(idea: Idea) -> Idea:
    return Idea.objects.get(pk=idea.pk)


def dispute(idea, user, *, ip="", **kwargs):
    return feedback_give(
        idea=idea,
        verdict=V.STILL_THERE,
        user=user,
        ip_hash=keyed_hash("ip", ip) if ip else "",
        source=PAGE,
        **kwargs,
    )


@pytest.fixture
def team_mailbox(city) -> Team:
    team = city.east_team
    team.notify, team.notify_email = Team.Notify.EACH, "east-team@city.example"
    team.save()
    return team


# --- the acceptance ---------------------------------------------------------------


def test_three_distinct_people_reopen_the_pin_without_staff(
    closed_idea, make_resident, team_mailbox
):
    Follower.objects.create(
        idea=closed_idea, email="neighbour@example.org", confirmed_at=timezone.now()
    )
    residents = [make_resident(name) for name in ("ann", "bob", "cat")]

    first = dispute(closed_idea, residents[0], ip="10.0.0.1", note="Still wobbly.")
    second = dispute(closed_idea, residents[1], ip="10.0.0.2")
    assert (first.outcome, second.outcome) == (Outcome.RECORDED, Outcome.RECORDED)
    assert fresh(closed_idea).status == S.DONE

    third = dispute(closed_idea, residents[2], ip="10.0.0.3")

    idea = fresh(closed_idea)
    assert third.outcome == Outcome.REOPENED
    assert (idea.status, idea.dispute_count, idea.reopen_count) == (S.IN_PROGRESS, 3, 1)
    reopening = Reopening.objects.get()
    assert reopening == third.reopening
    assert reopening.cause == Reopening.Cause.DISPUTES
    assert reopening.update.actor is None  # no staff
    assert "3 residents reported that the problem is still there" in idea.answer
    assert set(FixFeedback.objects.values_list("decision", flat=True)) == {
        FixFeedback.Decision.REOPENED
    }
    to = set(EmailOutbox.objects.values_list("to", flat=True))
    assert {"east-team@city.example", "neighbour@example.org"} <= to
    team_email = EmailOutbox.objects.get(to="east-team@city.example")
    assert f"/teams/{team_mailbox.slug}/checks/" in team_email.body
    assert "ann" not in team_email.body and "@example.org" not in team_email.body


def test_a_repeated_dispute_does_not_count_twice(closed_idea, make_resident):
    ann, bob = make_resident("ann"), make_resident("bob")
    dispute(closed_idea, ann, ip="10.0.0.1")
    again = dispute(closed_idea, ann, ip="10.0.0.9", note="Really, still there!")
    dispute(closed_idea, bob, ip="10.0.0.2")

    idea = fresh(closed_idea)
    assert again.outcome == Outcome.ALREADY_GIVEN
    assert "once" in again.message
    assert (idea.status, idea.dispute_count) == (S.DONE, 2)
    assert FixFeedback.objects.count() == 2
    assert not FixFeedback.objects.filter(note="Really, still there!").exists()


def test_three_accounts_from_one_network_do_not_reopen(closed_idea, make_resident):
    for name in ("ann", "bob", "cat"):
        assert dispute(closed_idea, make_resident(name), ip="10.0.0.1").outcome == Outcome.RECORDED

    idea = fresh(closed_idea)
    assert (idea.status, idea.dispute_count, idea.reopen_count) == (S.DONE, 3, 0)
    assert not Reopening.objects.exists()


def test_threshold_zero_never_reopens_automatically(closed_idea, make_resident, city):
    Team.objects.filter(pk=city.east_team.pk).update(reopen_threshold=0)
    for index, name in enumerate(("ann", "bob", "cat", "dan", "eve")):
        dispute(closed_idea, make_resident(name), ip=f"10.0.0.{index}")

    idea = fresh(closed_idea)
    assert (idea.status, idea.dispute_count) == (S.DONE, 5)
    assert not Reopening.objects.exists()
    assert set(FixFeedback.objects.values_list("decision", flat=True)) == {""}


# --- the rules of reopening ---------------------------------------------------------------


def test_only_disputes_within_the_window_count(closed_idea, make_resident, city):
    Team.objects.filter(pk=city.east_team.pk).update(reopen_threshold=2, reopen_window_days=30)
    long_ago = timezone.now() - timedelta(days=31)
    dispute(closed_idea, make_resident("ann"), ip="10.0.0.1", now=long_ago)
    dispute(closed_idea, make_resident("bob"), ip="10.0.0.2")
    assert fresh(closed_idea).status == S.DONE

    dispute(closed_idea, make_resident("cat"), ip="10.0.0.3")
    assert fresh(closed_idea).status == S.IN_PROGRESS


def test_disputes_without_a_network_count_by_person(closed_idea, make_resident, city):
    Team.objects.filter(pk=city.east_team.pk).update(reopen_threshold=2)
    dispute(closed_idea, make_resident("ann"))
    dispute(closed_idea, make_resident("bob"))
    assert fresh(closed_idea).status == S.IN_PROGRESS


def test_a_declined_pin_reopens_to_under_review(closed_idea, make_resident, city, east_member):
    Team.objects.filter(pk=city.east_team.pk).update(reopen_threshold=1)
    idea_status_change(idea=closed_idea, status=S.IN_PROGRESS, answer="Back.", actor=east_member)
    idea_status_change(idea=closed_idea, status=S.DECLINED, answer="No.", actor=east_member)
    dispute(closed_idea, make_resident("ann"))
    assert fresh(closed_idea).status == S.UNDER_REVIEW


def test_a_new_closure_starts_the_count_again(closed_idea, make_resident, city, east_member):
    Team.objects.filter(pk=city.east_team.pk).update(reopen_threshold=2)
    ann = make_resident("ann")
    dispute(closed_idea, ann, ip="10.0.0.1")
    dispute(closed_idea, make_resident("bob"), ip="10.0.0.2")  # reopens
    idea_status_change(idea=closed_idea, status=S.DONE, answer="Fixed now.", actor=east_member)

    again = dispute(closed_idea, ann, ip="10.0.0.1")  # a new closure: ann may say it again
    idea = fresh(closed_idea)
    assert again.outcome == Outcome.RECORDED
    assert (idea.status, idea.dispute_count) == (S.DONE, 3)


def test_confirming_the_fix_counts_and_never_reopens(closed_idea, make_resident):
    result = feedback_give(
        idea=closed_idea, verdict=V.FIXED, user=make_resident("ann"), source=PAGE
    )
    idea = fresh(closed_idea)
    assert result.outcome == Outcome.RECORDED
    assert (idea.fix_confirmed_count, idea.dispute_count) == (1, 0)


# --- who may give a verdict ---------------------------------------------------------------


def test_an_address_gets_a_link_and_counts_once_it_is_followed(closed_idea):
    result = feedback_give(
        idea=closed_idea, verdict=V.STILL_THERE, email="Zoe@Example.org", source=PAGE
    )
    assert result.outcome == Outcome.AWAITING_CONFIRMATION
    assert fresh(closed_idea).dispute_count == 0
    (email,) = EmailOutbox.objects.filter(to="Zoe@example.org")
    # The link's own token (a signature stamped to the second: one made again here may differ).
    (token,) = re.findall(r"/feedback/confirm/([^/\s]+)/", email.body)
    named = feedback_from_confirm_token(token)
    assert named.pk == result.feedback.pk and named.holds_for("zoe@example.org")
    assert "zoe" not in token.lower() and "example" not in token.lower()

    confirmed = feedback_confirm(token=token)
    assert confirmed is not None and confirmed.outcome == Outcome.RECORDED
    feedback = FixFeedback.objects.get()
    assert feedback.email == ""  # the hash is kept, not the address
    assert feedback.person_hash == person_hash_of("zoe@example.org")
    assert fresh(closed_idea).dispute_count == 1
    assert feedback_confirm(token=token).outcome == Outcome.ALREADY_GIVEN
    assert fresh(closed_idea).dispute_count == 1


def test_asking_again_before_the_link_sends_no_second_email(closed_idea):
    feedback_give(idea=closed_idea, verdict=V.STILL_THERE, email="zoe@example.org", source=PAGE)
    again = feedback_give(
        idea=closed_idea, verdict=V.STILL_THERE, email="ZOE@example.org ", source=PAGE
    )
    assert again.outcome == Outcome.AWAITING_CONFIRMATION
    assert EmailOutbox.objects.count() == 1
    assert FixFeedback.objects.count() == 1


def test_a_forged_or_changed_link_confirms_nothing(closed_idea):
    result = feedback_give(
        idea=closed_idea, verdict=V.STILL_THERE, email="zoe@example.org", source=PAGE
    )
    token = feedback_confirm_token(result.feedback)
    assert feedback_confirm(token=token + "x") is None
    FixFeedback.objects.filter(pk=result.feedback.pk).update(email="other@example.org")
    assert feedback_confirm(token=token) is None
    assert fresh(closed_idea).dispute_count == 0


def test_an_account_made_by_staff_confirms_its_address_by_link(closed_idea, make_user):
    staff_made = make_user("sam")
    staff_made.email = "sam@example.org"
    staff_made.save()
    assert not has_verified_address(staff_made)

    result = dispute(closed_idea, staff_made)
    assert result.outcome == Outcome.AWAITING_CONFIRMATION
    assert EmailOutbox.objects.filter(to="sam@example.org").exists()


def test_a_changed_address_is_no_longer_verified(make_resident):
    ann = make_resident("ann")
    assert has_verified_address(ann)
    ann.email = "someone-else@example.org"
    ann.save()
    assert not has_verified_address(ann)


def test_nobody_without_an_address_may_give_a_verdict(closed_idea, make_user):
    with pytest.raises(ValidationError) as refused:
        dispute(closed_idea, None)
    assert set(refused.value.message_dict) == {"email"}
    with pytest.raises(ValidationError) as refused:
        dispute(closed_idea, make_user("nomail"))
    assert set(refused.value.message_dict) == {"email"}
    assert not FixFeedback.objects.exists()


def test_an_is_it_fixed_answer_counts_by_the_hash_it_carries(closed_idea, make_resident):
    ann = make_resident("ann")
    result = feedback_give(
        idea=closed_idea,
        verdict=V.FIXED,
        source=FixFeedback.Source.FIX_CHECK,
        person_hash=person_hash_of(ann.email),
        confirmed=True,
    )
    assert result.outcome == Outcome.RECORDED
    # The same person signed in: the same person, already answered.
    assert dispute(closed_idea, ann).outcome == Outcome.ALREADY_GIVEN


# --- what is refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(S.IN_PROGRESS, V.STILL_THERE), (S.DECLINED, V.FIXED), (S.DONE, "maybe")],
)
def test_a_verdict_the_pin_does_not_take_names_the_verdict(
    closed_idea, make_resident, east_member, status, verdict
):
    if status == S.IN_PROGRESS:
        idea_status_change(idea=closed_idea, status=status, answer="Back.", actor=east_member)
    elif status == S.DECLINED:
        idea_status_change(
            idea=closed_idea, status=S.IN_PROGRESS, answer="Back.", actor=east_member
        )
        idea_status_change(idea=closed_idea, status=status, answer="No.", actor=east_member)
    with pytest.raises(ValidationError) as refused:
        feedback_give(
            idea=fresh(closed_idea), verdict=verdict, user=make_resident("ann"), source=PAGE
        )
    assert set(refused.value.message_dict) == {"verdict"}
    assert not FixFeedback.objects.exists()


def test_a_pin_not_public_takes_no_verdict(closed_idea, make_resident):
    Idea.objects.filter(pk=closed_idea.pk).update(hidden_by_moderation_at=timezone.now())
    with pytest.raises(ValidationError) as refused:
        dispute(fresh(closed_idea), make_resident("ann"))
    assert set(refused.value.message_dict) == {"idea"}


@pytest.mark.parametrize(
    "note", ["x" * (FEEDBACK_NOTE_MAX_LENGTH + 1), "bad \ufffe char", "bell \x07"]
)
def test_a_note_that_cannot_be_stored_names_the_note(closed_idea, make_resident, note):
    with pytest.raises(ValidationError) as refused:
        dispute(closed_idea, make_resident("ann"), note=note)
    assert set(refused.value.message_dict) == {"note"}
    assert not FixFeedback.objects.exists()


def test_a_dispute_keeps_its_photo_stripped_for_the_team(closed_idea, make_resident):
    result = dispute(closed_idea, make_resident("ann"), photo=upload(gps_jpeg()))
    (photo,) = TimelinePhoto.objects.all()
    assert (photo.feedback, photo.role, photo.update) == (
        result.feedback,
        TimelinePhoto.Role.DISPUTE,
        None,
    )
    with photos.photo_storage().open(photo.name, "rb") as stored:
        assert b"ZqSecretCam" not in stored.read()


def test_a_refused_photo_refuses_everything(closed_idea, make_resident):
    with pytest.raises(ValidationError) as refused:
        dispute(closed_idea, make_resident("ann"), photo=upload(huge_png_header(), "x.png"))
    assert set(refused.value.message_dict) == {"photo"}
    assert not FixFeedback.objects.exists() and not TimelinePhoto.objects.exists()
    assert fresh(closed_idea).dispute_count == 0


def test_a_photo_goes_with_a_dispute_only(closed_idea, make_resident):
    with pytest.raises(ValidationError) as refused:
        feedback_give(
            idea=closed_idea,
            verdict=V.FIXED,
            photo=upload(gps_jpeg()),
            user=make_resident("ann"),
            source=PAGE,
        )
    assert set(refused.value.message_dict) == {"photo"}


def test_a_repeat_with_a_photo_keeps_no_file(closed_idea, make_resident):
    ann = make_resident("ann")
    dispute(closed_idea, ann)
    again = dispute(closed_idea, ann, photo=upload(gps_jpeg()))
    assert again.outcome == Outcome.ALREADY_GIVEN
    assert not TimelinePhoto.objects.exists()


def test_the_rate_limit_counts_before_anything_is_written(closed_idea, make_resident, settings):
    settings.MAPIDEAS_RATE_SUBMISSIONS = (1, 3600)
    dispute(closed_idea, make_resident("ann"), rate_identity="client")
    with pytest.raises(RateLimited):
        dispute(closed_idea, make_resident("bob"), rate_identity="client")
    assert FixFeedback.objects.count() == 1


def test_completing_the_sign_up_link_verifies_the_address(db, client):
    from django.contrib.auth import get_user_model

    from mapideas.accounts import services as accounts
    from mapideas.accounts.selectors import signup_token

    accounts.citizen_signup(username="newbie", email="newbie@example.org")
    user = get_user_model().objects.get(username="newbie")
    assert not has_verified_address(user)
    accounts.signup_confirm(uid=user.pk, token=signup_token(user), password="a-long-pass-phrase-1")
    user.refresh_from_db()
    assert has_verified_address(user)
    assert VerifiedAddress.objects.get().email == "newbie@example.org"


def test_an_answer_never_confirmed_is_deleted_once_its_link_expired(closed_idea, make_resident):
    from io import StringIO

    from django.core.management import call_command

    from mapideas.outcomes.services import unconfirmed_feedback_purge

    eight_days_ago = timezone.now() - timedelta(days=8)
    stale = feedback_give(
        idea=closed_idea,
        verdict=V.STILL_THERE,
        email="stale@example.org",
        photo=upload(gps_jpeg()),
        source=PAGE,
        now=eight_days_ago,
    ).feedback
    (photo,) = TimelinePhoto.objects.all()
    fresh_one = feedback_give(
        idea=closed_idea, verdict=V.STILL_THERE, email="new@example.org", source=PAGE
    ).feedback
    counted = dispute(closed_idea, make_resident("ann"), now=eight_days_ago)

    assert unconfirmed_feedback_purge() == 1
    assert set(FixFeedback.objects.values_list("pk", flat=True)) == {
        fresh_one.pk,
        counted.feedback.pk,
    }
    assert not TimelinePhoto.objects.filter(pk=photo.pk).exists()
    assert not FixFeedback.objects.filter(pk=stale.pk).exists()

    out = StringIO()
    call_command("send_notifications", stdout=out)
    assert "Deleted 0 answer(s) on closed pins never confirmed." in out.getvalue()
