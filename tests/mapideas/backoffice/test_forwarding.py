"""Forwarding pins to a back office (mapideas.backoffice.services.forward_pending), against
a real GeoReport v2 server: what a request carries, token answers followed up, and every way
a POST can fail. A request that may have been stored is looked for on the remote before it
is posted again, and held for staff when the remote cannot say; a failure is retried later,
without end, and a back office that does not answer is backed off as a whole."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mapideas.backoffice import services as backoffice
from mapideas.models import BackofficeEndpoint, BackofficeForward, Idea, IdeaPhoto
from mapideas.pins.serializers import photo_url
from tests.mapideas.backoffice.conftest import API_KEY, JURISDICTION, forward_of, time_passes
from tests.mapideas.backoffice.georeport_server import Behaviour

pytestmark = pytest.mark.django_db

State = BackofficeForward.State


def posted_forms(remote) -> list[dict[str, str]]:
    return [call.form for call in remote.posts()]


def on_remote(remote, idea: Idea) -> list[str]:
    return [r.service_request_id for r in remote.by_reference(backoffice.reference(idea))]


def wait_listing_delay(forward: BackofficeForward) -> None:
    """Real time passes until the remote has had its listing delay (a stored request is
    listed by then): only then is a request not found posted again. Back-offs pass at once."""
    forward.refresh_from_db()
    if forward.state == State.UNCERTAIN and forward.not_found_at is not None:
        wait = (forward.next_attempt_at - timezone.now()).total_seconds()
        time.sleep(max(0.0, min(wait, 3.0)) + 0.05)
    time_passes()


def settle(remote, idea: Idea, runs: int = 6) -> BackofficeForward:
    """Runs of the worker, time passing between them, until the pin is forwarded or held."""
    for _ in range(runs):
        backoffice.forward_pending()
        forward = forward_of(idea)
        if forward.state in (State.FORWARDED, State.HELD):
            return forward
        wait_listing_delay(forward)
    return forward_of(idea)


# --- What is sent -----------------------------------------------------------------------------


def test_a_pin_goes_as_a_request_of_its_mapped_service_with_its_reference(
    endpoint, remote, make_pin
):
    idea = make_pin("Broken bench", description="By the pond.\nThe left one.")

    result = backoffice.forward_pending()

    assert result.forwarded == 1
    (form,) = posted_forms(remote)
    assert form["service_code"] == "pothole"
    assert form["api_key"] == API_KEY
    assert form["jurisdiction_id"] == JURISDICTION
    assert (form["lat"], form["long"]) == ("50.0050000", "4.0150000")
    reference = f"https://ideas.city.example/ideas/{idea.pk}/"
    assert form["description"] == f"Broken bench\nBy the pond.\nThe left one.\n\n{reference}"
    assert "email" not in form and "first_name" not in form and "media_url" not in form
    forward = forward_of(idea)
    assert forward.state == State.FORWARDED
    assert forward.remote_id == on_remote(remote, idea)[0]
    assert forward.service_code == "pothole"
    assert forward.last_error == ""


def test_a_service_with_a_required_attribute_gets_the_value_staff_mapped(
    endpoint, remote, category, make_pin
):
    with pytest.raises(Exception, match="species"):
        backoffice.mapping_set(
            endpoint,
            service_codes={category.slug: "tree"},
            attribute_values={},
            status_map={},
        )
    backoffice.mapping_set(
        endpoint,
        service_codes={category.slug: "tree"},
        attribute_values={"tree": {"species": "oak"}},
        status_map={},
    )
    make_pin("Leaning tree")

    backoffice.forward_pending()

    (form,) = posted_forms(remote)
    assert form["service_code"] == "tree"
    assert form["attribute[species]"] == "oak"


def test_the_pins_photo_or_media_link_goes_as_media_url(endpoint, remote, make_pin):
    with_photo = make_pin("With a photo", media_url="https://example.org/elsewhere.jpg")
    IdeaPhoto.objects.create(idea=with_photo, name="p1.jpg", width=10, height=10, bytes=100)
    hidden = make_pin("Photo hidden", media_url="https://example.org/link.jpg")
    IdeaPhoto.objects.create(
        idea=hidden, name="p2.jpg", width=10, height=10, bytes=100, hidden_at=timezone.now()
    )

    backoffice.forward_pending()

    sent = {form["description"].split("\n")[0]: form for form in posted_forms(remote)}
    # The photo as the site serves it (to anyone while the pin is public), not the file.
    assert sent["With a photo"]["media_url"] == (
        "https://ideas.city.example" + photo_url(with_photo.pk)
    )
    assert sent["Photo hidden"]["media_url"] == "https://example.org/link.jpg"


def test_the_citizens_contact_goes_only_with_their_consent(endpoint, remote, make_pin):
    kept = make_pin(
        "Kept to ourselves",
        contact_email="ann@example.org",
        contact_name="Ann Example",
        contact_phone="+32 470 00 00 00",
    )
    shared = make_pin(
        "Shared with the city",
        contact_email="bob@example.org",
        contact_name="Bob Van Example",
        contact_phone="+32 470 11 11 11",
    )
    Idea.objects.filter(pk=shared.pk).update(contact_shared_with_city=True)
    author = get_user_model().objects.create_user(
        "carla", email="carla@example.org", first_name="Carla", last_name="Example"
    )
    signed_in = make_pin("Signed in", author=author)
    Idea.objects.filter(pk=signed_in.pk).update(contact_shared_with_city=True)

    backoffice.forward_pending()

    sent = {form["description"].split("\n")[0]: form for form in posted_forms(remote)}
    for field in ("email", "first_name", "last_name", "phone"):
        assert field not in sent["Kept to ourselves"]
    assert "ann@example.org" not in str(sent["Kept to ourselves"])
    bob = sent["Shared with the city"]
    assert (bob["email"], bob["first_name"], bob["last_name"], bob["phone"]) == (
        "bob@example.org", "Bob", "Van Example", "+32 470 11 11 11",
    )  # fmt: skip
    carla = sent["Signed in"]
    assert (carla["email"], carla["first_name"], carla["last_name"]) == (
        "carla@example.org", "Carla", "Example",
    )  # fmt: skip
    # Which forwards carried personal data: a later erasure is passed on for those.
    assert not forward_of(kept).sent_contact
    assert forward_of(shared).sent_contact and forward_of(signed_in).sent_contact


def test_a_category_without_a_service_waits_and_says_why(endpoint, remote, make_pin):
    idea = make_pin()
    backoffice.mapping_set(endpoint, service_codes={}, attribute_values={}, status_map={})

    result = backoffice.forward_pending()

    assert result.failed == 1
    assert remote.posts() == []
    forward = forward_of(idea)
    assert forward.state == State.QUEUED
    assert "no service code is mapped" in forward.last_error
    assert forward.next_attempt_at > timezone.now()


# --- Token answers ------------------------------------------------------------------------------


def test_a_token_answer_is_followed_up_until_the_request_has_its_number(endpoint, remote, make_pin):
    idea = make_pin()
    remote.queue(Behaviour("token", lookups=2))

    assert backoffice.forward_pending().tokens == 1
    forward = forward_of(idea)
    assert forward.state == State.TOKEN and forward.token.startswith("tok-")
    assert forward.next_attempt_at > timezone.now()

    time_passes()
    assert backoffice.forward_pending().tokens == 1  # not numbered yet
    time_passes()
    assert backoffice.forward_pending().tokens == 1
    time_passes()
    assert backoffice.forward_pending().forwarded == 1

    forward = forward_of(idea)
    assert forward.state == State.FORWARDED
    assert forward.remote_id == on_remote(remote, idea)[0]
    assert len(remote.posts()) == 1


# --- A POST that may have been stored ----------------------------------------------------------


def test_a_time_out_after_the_remote_stored_it_is_found_there_not_posted_again(
    endpoint, remote, make_pin
):
    idea = make_pin()
    remote.queue(Behaviour("timeout_after_store"))

    result = backoffice.forward_pending()

    assert result.forwarded == 0
    forward = forward_of(idea)
    assert forward.state == State.UNCERTAIN
    assert "did not answer in time" in forward.last_error
    assert settle(remote, idea).state == State.FORWARDED
    assert len(remote.posts()) == 1
    assert forward_of(idea).remote_id == on_remote(remote, idea)[0]


def test_a_time_out_before_the_remote_stored_it_is_posted_again_after_the_listing_delay(
    endpoint, remote, make_pin
):
    idea = make_pin()
    remote.queue(Behaviour("timeout_before_store"))
    backoffice.forward_pending()
    time_passes()

    # Looked for at once: not listed, but the remote may not list it yet.
    backoffice.forward_pending()
    forward = forward_of(idea)
    assert forward.state == State.UNCERTAIN
    assert forward.not_found_at is not None
    assert len(remote.posts()) == 1

    assert settle(remote, idea).state == State.FORWARDED
    assert len(remote.posts()) == 2
    assert len(on_remote(remote, idea)) == 1


def test_a_request_the_remote_lists_late_is_found_once_listed(endpoint, remote, make_pin):
    BackofficeEndpoint.objects.filter(pk=endpoint.pk).update(listing_delay=2)
    idea = make_pin()
    # Stored, the answer lost, and listed only 1.5 s later (within its listing delay, 2 s).
    remote.queue(Behaviour("timeout_after_store", listed_in=1.5))
    backoffice.forward_pending()
    time_passes()
    backoffice.forward_pending()
    assert forward_of(idea).state == State.UNCERTAIN  # not listed yet

    assert settle(remote, idea).state == State.FORWARDED
    assert len(remote.posts()) == 1


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour("error_500", store=True),
        Behaviour("malformed"),
        Behaviour("xml"),
        Behaviour("trickle", seconds=0.1),
    ],
    ids=["500-after-storing", "malformed-json", "xml", "trickle-past-the-deadline"],
)
def test_an_answer_that_cannot_be_read_is_found_on_the_remote(
    endpoint, remote, make_pin, behaviour
):
    idea = make_pin()
    remote.queue(behaviour)

    backoffice.forward_pending()

    assert forward_of(idea).state == State.UNCERTAIN
    assert settle(remote, idea).state == State.FORWARDED
    assert len(remote.posts()) == 1
    assert forward_of(idea).remote_id == on_remote(remote, idea)[0]


@pytest.mark.parametrize(
    "behaviour",
    [Behaviour("error_500"), Behaviour("malformed", store=False)],
    ids=["500", "malformed-json"],
)
def test_an_answer_that_cannot_be_read_and_was_not_stored_is_posted_again(
    endpoint, remote, make_pin, behaviour
):
    idea = make_pin()
    remote.queue(behaviour)

    backoffice.forward_pending()

    assert settle(remote, idea).state == State.FORWARDED
    assert len(remote.posts()) == 2
    assert len(on_remote(remote, idea)) == 1


def test_a_remote_that_dates_requests_as_asked_is_searched_at_the_pins_date(
    endpoint, remote, make_pin
):
    """The request carries the pin's date (requested_datetime): a pin queued for days (its
    back office down) is dated days before it was posted, and found there."""
    remote.window_by = "requested"
    idea = make_pin()
    Idea.objects.filter(pk=idea.pk).update(created_at=timezone.now() - timedelta(days=3))
    remote.queue(Behaviour("timeout_after_store"))

    backoffice.forward_pending()

    assert settle(remote, idea).state == State.FORWARDED
    assert len(remote.posts()) == 1


def test_a_pin_searched_for_long_after_its_post_is_looked_for_around_the_post(
    endpoint, remote, make_pin
):
    """A back office down for months after a POST that timed out: the search asks for the
    days of the POST, not for every day since (a list this server refuses past 90 days)."""
    remote.max_window = timedelta(days=90)
    idea = make_pin()
    remote.queue(Behaviour("timeout_after_store"))
    backoffice.forward_pending()
    long_ago = timedelta(days=100)
    Idea.objects.filter(pk=idea.pk).update(created_at=timezone.now() - long_ago)
    BackofficeForward.objects.filter(idea=idea).update(
        posted_at=forward_of(idea).posted_at - long_ago
    )
    (stored,) = remote.by_reference(backoffice.reference(idea))
    stored.received_at = stored.requested_datetime = stored.received_at - long_ago
    time_passes()

    assert settle(remote, idea).state == State.FORWARDED
    assert len(remote.posts()) == 1


def test_another_pins_address_in_a_citizens_text_is_not_taken_for_the_pins_request(
    endpoint, remote, make_pin
):
    remote.add_history(5)
    lost = make_pin("First report")
    remote.queue(Behaviour("timeout_before_store"))
    backoffice.forward_pending()
    quoting = make_pin(
        "Same again", description=f"As {backoffice.reference(lost)} says, still broken."
    )
    time_passes()

    assert settle(remote, lost).state == State.FORWARDED

    assert forward_of(lost).remote_id != forward_of(quoting).remote_id
    assert len(on_remote(remote, lost)) == 1


# --- A remote whose lists cannot settle it: held for staff ------------------------------------


def test_a_remote_that_cannot_be_searched_holds_the_pin_for_staff(endpoint, remote, make_pin):
    BackofficeEndpoint.objects.filter(pk=endpoint.pk).update(searchable=False)
    idea = make_pin()
    remote.queue(Behaviour("timeout_after_store"))
    backoffice.forward_pending()
    time_passes()

    result = backoffice.forward_pending()

    assert result.held == 1
    forward = forward_of(idea)
    assert forward.state == State.HELD
    assert "cannot be searched" in forward.held_reason
    # Held: never posted again by the worker.
    time_passes()
    backoffice.forward_pending()
    assert len(remote.posts()) == 1


def test_a_remote_whose_capped_lists_ignore_the_window_holds_the_pin_for_staff(
    endpoint, remote, make_pin
):
    for n in range(3):
        make_pin(f"Earlier {n}")
    backoffice.forward_pending()
    idea = make_pin()
    remote.queue(Behaviour("timeout_before_store"))
    backoffice.forward_pending()
    remote.cap, remote.ignore_window = 2, True

    forward = settle(remote, idea)

    assert forward.state == State.HELD
    assert "not found for sure" in forward.held_reason
    assert on_remote(remote, idea) == []


def test_a_capped_remote_whose_longer_list_shows_the_windows_whole_gets_the_pin_again(
    endpoint, remote, make_pin
):
    """Capped at 3 rows: its list of the last days (3 rows, cut) shows that the list of the
    pin's window (2 rows) is whole. The pin is not there: posted again."""
    for n in range(4):
        older = make_pin(f"Older {n}")
        backoffice.forward_pending()
        remote.by_reference(backoffice.reference(older))[0].requested_datetime -= timedelta(
            days=1 + n
        )
    make_pin("Same time")
    idea = make_pin()
    remote.queue(Behaviour("none"), Behaviour("timeout_before_store"))
    backoffice.forward_pending()
    make_pin("Also same time")
    time_passes()
    backoffice.forward_pending()
    remote.cap = 3

    assert settle(remote, idea).state == State.FORWARDED
    assert len(on_remote(remote, idea)) == 1


def test_a_quiet_capped_remote_whose_lists_are_all_full_cannot_say_and_holds_the_pin(
    endpoint, remote, make_pin
):
    """Two requests in the same second on a remote whose every list has two rows: its cap
    may be two, and a third request there would not show."""
    same_time = make_pin("Same time")
    idea = make_pin()
    remote.queue(Behaviour("none"), Behaviour("timeout_before_store"))
    backoffice.forward_pending()
    also = make_pin("Also same time")
    time_passes()
    backoffice.forward_pending()
    moment = timezone.now()
    for pin in (same_time, also):
        remote.by_reference(backoffice.reference(pin))[0].requested_datetime = moment
    remote.cap = 2

    forward = settle(remote, idea)

    assert forward.state == State.HELD
    assert "capped" in forward.held_reason


def test_staff_who_checked_the_remote_send_a_held_pin_again_or_record_its_number(
    endpoint, remote, make_pin
):
    BackofficeEndpoint.objects.filter(pk=endpoint.pk).update(searchable=False)
    not_there = make_pin("Not there")
    there = make_pin("There")
    remote.queue(Behaviour("timeout_before_store"), Behaviour("timeout_after_store"))
    backoffice.forward_pending()
    time_passes()
    backoffice.forward_pending()
    time_passes()
    backoffice.forward_pending()
    assert forward_of(not_there).state == forward_of(there).state == State.HELD

    backoffice.forward_retry(forward_of(not_there))
    (found,) = on_remote(remote, there)
    backoffice.forward_found(forward_of(there), remote_id=found)
    backoffice.forward_pending()

    assert forward_of(not_there).state == State.FORWARDED
    assert len(on_remote(remote, not_there)) == 1
    assert (forward_of(there).state, forward_of(there).remote_id) == (State.FORWARDED, found)
    assert len(remote.posts()) == 3


# --- Failures: backed off, retried without end ---------------------------------------------------


def test_a_back_office_that_is_down_is_backed_off_as_a_whole_and_retried_without_end(
    endpoint, remote, make_pin
):
    first, second = make_pin("First"), make_pin("Second")
    port = remote.port
    remote.stop()

    result = backoffice.forward_pending()

    # One connection attempt for the whole back office, not one per pin.
    assert result.failed == 1
    endpoint.refresh_from_db()
    assert endpoint.failures == 1 and endpoint.failing_since is not None
    assert "could not connect" in endpoint.last_error
    assert endpoint.retry_at > timezone.now()
    # Nothing can have arrived: waiting to be sent, not searched for.
    assert {forward_of(first).state, forward_of(second).state} == {State.QUEUED}

    waits = []
    for _ in range(12):
        time_passes()
        backoffice.forward_pending()
        endpoint.refresh_from_db()
        waits.append(endpoint.retry_at - timezone.now())
    assert endpoint.failures == 13
    assert waits[0] < waits[3] < waits[6]
    assert timedelta(minutes=59) < waits[-1] <= timedelta(minutes=60)
    assert {forward_of(first).state, forward_of(second).state} == {State.QUEUED}

    remote.port = port
    remote.start()
    time_passes()
    assert backoffice.forward_pending().forwarded == 2
    endpoint.refresh_from_db()
    assert (endpoint.failures, endpoint.retry_at, endpoint.last_error) == (0, None, "")


def test_a_500_backs_the_back_office_off_and_leaves_the_other_pins_for_later(
    endpoint, remote, make_pin
):
    first, second = make_pin("First"), make_pin("Second")
    remote.queue(Behaviour("error_500"))

    result = backoffice.forward_pending()

    assert result.failed == 1 and len(remote.posts()) == 1
    assert forward_of(second).state == State.QUEUED and forward_of(second).attempts == 0
    assert "HTTP 500" in forward_of(first).last_error


def test_a_request_refused_as_asked_is_not_searched_for_and_tried_again_later(
    endpoint, remote, make_pin
):
    idea = make_pin()
    remote.api_key = "another key"

    result = backoffice.forward_pending()

    assert result.failed == 1
    forward = forward_of(idea)
    assert forward.state == State.QUEUED
    assert "HTTP 403: Invalid api_key" in forward.last_error
    first_wait = forward.next_attempt_at - timezone.now()
    time_passes()
    backoffice.forward_pending()
    forward = forward_of(idea)
    assert forward.next_attempt_at - timezone.now() > first_wait  # backed off
    assert forward.failing_since is not None

    remote.api_key = API_KEY
    time_passes()
    backoffice.forward_pending()
    forward = forward_of(idea)
    assert forward.state == State.FORWARDED
    assert (forward.failing_since, forward.last_error) == (None, "")
