"""The pages of "Is it really fixed?": the pin page's section and its forms, the link that
confirms an address's answer, the team's check queue and its decisions, a dispute's photo."""

import re

import pytest
from django.core import mail  # noqa: F401  (the outbox is EmailOutbox, read below)
from django.utils import timezone

from mapideas.models import EmailOutbox, FixFeedback, Idea, Reopening, TimelinePhoto
from mapideas.outcomes.services import feedback_give
from mapideas.workflow.services import idea_status_change
from tests.mapideas.pins.photo_files import gps_jpeg, huge_png_header, upload

pytestmark = pytest.mark.django_db
S = Idea.Status
V = FixFeedback.Verdict
D = FixFeedback.Decision


def fresh(idea: Idea) -> Idea:
    return Idea.objects.get(pk=idea.pk)


def disputed(idea: Idea, who: str, *, note: str = "", photo=None) -> FixFeedback:
    return feedback_give(
        idea=idea,
        verdict=V.STILL_THERE,
        note=note,
        photo=photo,
        source=FixFeedback.Source.FIX_CHECK,
        person_hash=f"hash-of-{who}",
        confirmed=True,
    ).feedback


# --- the pin's page ---------------------------------------------------------------------------


def test_an_open_pin_shows_no_section(client, city, category):
    from mapideas.submission.services import idea_create
    from tests.conftest import IN_EAST

    idea = idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)
    page = client.get(f"/ideas/{idea.pk}/").content.decode()
    assert 'id="outcome"' not in page


def test_a_done_pin_asks_anonymous_people_for_an_address(client, closed_idea):
    page = client.get(f"/ideas/{closed_idea.pk}/").content.decode()
    assert 'id="outcome-counts"' in page
    assert 'id="fixed-form"' in page and 'id="dispute-form"' in page
    assert 'id="still_there_email"' in page and 'id="fixed_email"' in page
    assert 'enctype="multipart/form-data" id="dispute-form"' in page


def test_a_declined_pin_takes_no_fixed_verdict(client, closed_idea, east_member):
    idea_status_change(idea=closed_idea, status=S.IN_PROGRESS, answer="Back.", actor=east_member)
    idea_status_change(idea=closed_idea, status=S.DECLINED, answer="No.", actor=east_member)
    page = client.get(f"/ideas/{closed_idea.pk}/").content.decode()
    assert 'id="dispute-form"' in page and 'id="fixed-form"' not in page


def test_a_verified_person_answers_without_an_address_and_then_sees_it(
    client, closed_idea, make_resident
):
    client.force_login(make_resident("ann"))
    page = client.get(f"/ideas/{closed_idea.pk}/").content.decode()
    assert 'id="dispute-form"' in page and "still_there_email" not in page

    response = client.post(f"/ideas/{closed_idea.pk}/feedback/", {"verdict": "fixed"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="outcome-given"' in page and 'id="dispute-form"' not in page
    assert re.search(r'id="fix-confirmed-count">1<', page)


def test_an_anonymous_dispute_with_a_photo_waits_for_its_link(client, closed_idea):
    response = client.post(
        f"/ideas/{closed_idea.pk}/feedback/",
        {
            "verdict": "still_there",
            "note": "Still <b>wobbly</b>.",
            "email": "zoe@example.org",
            "photo": upload(gps_jpeg()),
        },
    )
    assert response.status_code == 302
    feedback = FixFeedback.objects.get()
    assert feedback.confirmed_at is None and feedback.photos.count() == 1
    assert feedback.ip_hash  # counted by network towards reopening
    assert fresh(closed_idea).dispute_count == 0


def test_an_error_is_shown_by_its_field(client, closed_idea):
    response = client.post(
        f"/ideas/{closed_idea.pk}/feedback/", {"verdict": "still_there", "note": "Hm."}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="still_there_email_error"' in page
    assert 'aria-describedby="still_there_email_helptext still_there_email_error"' in page
    assert not FixFeedback.objects.exists()


def test_a_refused_photo_is_named_and_nothing_is_written(client, closed_idea, make_resident):
    client.force_login(make_resident("ann"))
    response = client.post(
        f"/ideas/{closed_idea.pk}/feedback/",
        {"verdict": "still_there", "photo": upload(huge_png_header(), "big.png")},
    )
    assert response.status_code == 400
    assert 'id="still_there_photo_error"' in response.content.decode()
    assert not FixFeedback.objects.exists() and not TimelinePhoto.objects.exists()


def test_feedback_on_an_open_pin_is_refused_by_its_field(client, closed_idea, east_member):
    idea_status_change(idea=closed_idea, status=S.IN_PROGRESS, answer="Back.", actor=east_member)
    response = client.post(
        f"/ideas/{closed_idea.pk}/feedback/", {"verdict": "still_there", "email": "z@example.org"}
    )
    assert response.status_code == 400
    assert not FixFeedback.objects.exists()


# --- the emailed link -------------------------------------------------------------------------


def test_the_link_shows_the_answer_then_counts_it_on_its_button(client, closed_idea):
    client.post(
        f"/ideas/{closed_idea.pk}/feedback/",
        {"verdict": "still_there", "note": "<script>x</script>", "email": "zoe@example.org"},
    )
    (email,) = EmailOutbox.objects.filter(to="zoe@example.org")
    (path,) = re.findall(r"https?://[^/\s]+(/feedback/confirm/[^\s]+/)", email.body)
    assert "zoe" not in path and "example" not in path

    page = client.get(path)  # a mail scanner opening the link counts nothing
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in page.content.decode()
    assert fresh(closed_idea).dispute_count == 0

    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == f"/ideas/{closed_idea.pk}/#outcome"
    assert fresh(closed_idea).dispute_count == 1


def test_a_bad_link_says_so(client, closed_idea):
    assert client.get("/feedback/confirm/forged/").status_code == 400
    assert client.post("/feedback/confirm/forged/").status_code == 400


# --- the check queue ------------------------------------------------------------------------


def test_the_queue_lists_pending_disputes_with_notes_photos_and_people(
    client, closed_idea, east_member, city
):
    disputed(closed_idea, "ann", note="Still <i>wobbly</i>", photo=upload(gps_jpeg()))
    disputed(closed_idea, "bob")
    client.force_login(east_member)
    page = client.get(f"/teams/{city.east_team.slug}/checks/").content.decode()
    assert f'id="check-{closed_idea.pk}"' in page
    assert "Still &lt;i&gt;wobbly&lt;/i&gt;" in page
    assert "2 people say it is still there" in page
    (photo,) = TimelinePhoto.objects.all()
    assert f"/checks/photos/{photo.pk}.jpg" in page
    assert client.get(f"/checks/photos/{photo.pk}.jpg")["Cache-Control"] == "private, no-store"

    workspace = client.get(f"/teams/{city.east_team.slug}/").content.decode()
    assert 'id="check-queue-link"' in workspace


def test_a_dispute_photo_is_for_the_team_only(client, closed_idea, west_member, make_resident):
    disputed(closed_idea, "ann", photo=upload(gps_jpeg()))
    (photo,) = TimelinePhoto.objects.all()
    client.force_login(make_resident("ann"))
    assert client.get(f"/checks/photos/{photo.pk}.jpg").status_code == 404
    client.force_login(west_member)
    assert client.get(f"/checks/photos/{photo.pk}.jpg").status_code == 404


def test_the_public_page_never_shows_a_note(client, closed_idea):
    disputed(closed_idea, "ann", note="Secret detail for the team")
    page = client.get(f"/ideas/{closed_idea.pk}/").content.decode()
    assert "Secret detail" not in page
    assert re.search(r'id="dispute-count">1<', page)


def test_reopening_from_the_queue_needs_a_public_answer(client, closed_idea, east_member, city):
    dispute = disputed(closed_idea, "ann")
    client.force_login(east_member)
    url = f"/teams/{city.east_team.slug}/checks/{closed_idea.pk}/reopen/"

    refused = client.post(url, {"answer": ""})
    assert refused.status_code == 400
    assert f'id="reopen_answer_{closed_idea.pk}_error"' in refused.content.decode()
    assert fresh(closed_idea).status == S.DONE

    assert client.post(url, {"answer": "We go back."}).status_code == 302
    idea = fresh(closed_idea)
    dispute.refresh_from_db()
    assert (idea.status, idea.answer) == (S.IN_PROGRESS, "We go back.")
    assert Reopening.objects.get().cause == Reopening.Cause.TEAM
    assert (dispute.decision, dispute.decided_by) == (D.REOPENED, east_member)


def test_keeping_closed_answers_with_a_reason(client, closed_idea, east_member, city):
    dispute = disputed(closed_idea, "ann")
    client.force_login(east_member)
    url = f"/teams/{city.east_team.slug}/checks/{closed_idea.pk}/keep-closed/"
    assert client.post(url, {"answer": ""}).status_code == 400

    assert client.post(url, {"answer": "The new bench is in place."}).status_code == 302
    idea = fresh(closed_idea)
    dispute.refresh_from_db()
    assert (idea.status, idea.answer) == (S.DONE, "The new bench is in place.")
    assert dispute.decision == D.KEPT_CLOSED
    page = client.get(f"/teams/{city.east_team.slug}/checks/").content.decode()
    assert 'id="check-queue-empty"' in page


def test_dismissing_a_report_takes_it_out_of_every_count(client, closed_idea, east_member, city):
    dispute = disputed(closed_idea, "ann")
    client.force_login(east_member)
    url = f"/teams/{city.east_team.slug}/checks/{closed_idea.pk}/dismiss/{dispute.pk}/"
    assert client.post(url).status_code == 302
    dispute.refresh_from_db()
    assert (dispute.decision, dispute.decided_by) == (D.DISMISSED, east_member)
    assert dispute.decided_at <= timezone.now()
    assert fresh(closed_idea).dispute_count == 0


def test_planners_read_the_queue_but_decide_nothing(client, closed_idea, planner, city):
    disputed(closed_idea, "ann")
    client.force_login(planner)
    page = client.get(f"/teams/{city.east_team.slug}/checks/").content.decode()
    assert "Read only" in page and "reopen_answer" not in page
    url = f"/teams/{city.east_team.slug}/checks/{closed_idea.pk}/reopen/"
    assert client.post(url, {"answer": "Go."}).status_code == 403
    assert fresh(closed_idea).status == S.DONE


# --- the workspace's filters ------------------------------------------------------------------


def test_the_workspace_filters_disputed_and_reopened_pins(
    client, closed_idea, east_member, city, category
):
    from mapideas.submission.services import idea_create
    from tests.conftest import IN_EAST

    other = idea_create(kind="issue", title="Other pin", category=category, location=IN_EAST)
    reopened = idea_create(kind="issue", title="Again pin", category=category, location=IN_EAST)
    for step, answer in ((S.DONE, "Done."), (S.IN_PROGRESS, "Back to it.")):
        idea_status_change(idea=reopened, status=step, answer=answer, actor=east_member)
    disputed(closed_idea, "ann")
    client.force_login(east_member)
    workspace = f"/teams/{city.east_team.slug}/"

    def titles(query: dict) -> set[str]:
        page = client.get(workspace, query).content.decode()
        return {t for t in ("Broken bench", "Other pin", "Again pin") if f">{t}</a>" in page}

    assert titles({}) == {"Broken bench", "Other pin", "Again pin"}
    assert titles({"disputed": "on"}) == {"Broken bench"}
    assert titles({"reopened": "on"}) == {"Again pin"}
    assert other.pk  # listed only without a filter

    # Decided, the dispute no longer makes the pin "disputed".
    FixFeedback.objects.update(decision=D.KEPT_CLOSED)
    assert titles({"disputed": "on"}) == set()
