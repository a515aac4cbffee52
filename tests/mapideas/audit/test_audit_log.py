"""The staff's audit log: each staff action is written down with who took it, in the
transaction of the action (a refused or rolled-back action leaves nothing); planners and
administrators read it on a page and export it as CSV, with the same filters."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import translation

from mapideas.answers.services import template_delete, template_save
from mapideas.models import AuditEvent
from mapideas.moderation.services import idea_flag, idea_moderate
from mapideas.rerouting.services import boundaries_activate
from mapideas.submission.services import idea_create
from mapideas.webhooks.services import endpoint_create
from mapideas.workflow.services import (
    idea_assign,
    idea_mark_duplicate,
    idea_reassign,
    idea_status_change,
)
from neighborhoods.models import BoundaryVersion
from tests.conftest import IN_EAST

pytestmark = pytest.mark.django_db


def pin(category, title="Broken bench"):
    return idea_create(kind="issue", title=title, category=category, location=IN_EAST)


def logged() -> list[tuple[str, str, int | None, str]]:
    return [
        (e.actor_name, e.action, e.idea_number, e.summary)
        for e in AuditEvent.objects.order_by("id")
    ]


def test_the_workflows_steps_are_logged_with_who_took_them(city, category, east_member):
    first, second = pin(category), pin(category, "Same bench")

    idea_status_change(idea=first, status="acknowledged", actor=east_member)
    idea_status_change(idea=first, status="acknowledged", answer="Booked.", actor=east_member)
    idea_assign(idea=first, assignee=east_member, actor=east_member)
    idea_mark_duplicate(idea=second, original=first, actor=east_member)
    idea_reassign(idea=first, team=city.west_team, reason="Their street.", actor=east_member)

    assert logged() == [
        ("eddie", "status", first.pk, f"Pin #{first.pk}: new → acknowledged."),
        ("eddie", "answer", first.pk, f"Pin #{first.pk}: a public answer."),
        ("eddie", "assignment", first.pk, f"Pin #{first.pk} assigned to eddie."),
        ("eddie", "duplicate", second.pk, f"Pin #{second.pk} merged into pin #{first.pk}."),
        (
            "eddie",
            "reassignment",
            first.pk,
            f"Pin #{first.pk} sent from East Team to West Team: Their street.",
        ),
    ]
    assert AuditEvent.objects.filter(team=city.east_team).count() == 5


def test_moderation_templates_webhooks_and_boundaries_are_logged(
    city, category, east_member, make_user, settings
):
    settings.MAPIDEAS_FLAGS_TO_HIDE = 1
    flagged = pin(category)
    idea_flag(idea=flagged, reason="spam", user=make_user("flagger"))
    idea_moderate(idea=flagged, decision="keep", actor=east_member)
    template = template_save(
        team=city.east_team, actor=east_member, name="Seen", texts={"en": "Seen."}
    )
    template_delete(template=template, actor=east_member)
    admin = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    endpoint_create(url="https://8.8.8.8/hook", description="", events=["pin.created"], actor=admin)
    boundaries_activate(
        version=BoundaryVersion.objects.get(is_active=True), reason="Back.", actor=admin
    )

    assert [(name, action) for name, action, _pin, _said in logged()] == [
        ("eddie", "moderation"),
        ("eddie", "template"),
        ("eddie", "template"),
        ("root", "webhook"),
        ("root", "boundaries"),
    ]
    said = [summary for *_rest, summary in logged()]
    assert said[0] == f"Pin #{flagged.pk} kept."
    assert said[1:3] == ["Response template “Seen” created.", "Response template “Seen” deleted."]
    assert said[3] == "Webhook https://8.8.8.8/hook added."


def test_what_nobody_signed_in_did_and_what_was_refused_are_not_logged(city, category, east_member):
    done = pin(category)
    boundaries_activate(version=BoundaryVersion.objects.get(is_active=True))  # a command
    with pytest.raises(ValidationError):  # done needs an answer: nothing written
        idea_status_change(idea=done, status="done", actor=east_member)
    assert not AuditEvent.objects.exists()


def test_a_summary_is_written_in_the_sites_language_whatever_the_requests(
    city, category, east_member
):
    french = pin(category)
    with translation.override("fr"):
        idea_status_change(idea=french, status="acknowledged", actor=east_member)
    assert AuditEvent.objects.get().summary == f"Pin #{french.pk}: new → acknowledged."


def test_planners_read_filter_and_export_the_log(client, city, category, east_member, planner):
    first = pin(category)
    idea_status_change(idea=first, status="acknowledged", actor=east_member)
    idea_assign(idea=first, assignee=east_member, actor=east_member)
    client.force_login(planner)

    page = client.get("/staff/audit/")
    assert page.status_code == 200
    assert b"Pin #%d: new" % first.pk in page.content
    filtered = client.get("/staff/audit/", {"action": "assignment", "actor": east_member.pk})
    assert b"assigned to eddie" in filtered.content
    assert b"new \xe2\x86\x92 acknowledged" not in filtered.content
    # The account goes into the export's URL as its id, never its username.
    assert f"/staff/audit.csv?action=assignment&amp;actor={east_member.pk}".encode() in (
        filtered.content
    )
    assert b"actor=eddie" not in filtered.content
    assert f'<option value="{east_member.pk}" selected>eddie</option>'.encode() in filtered.content

    export = client.get("/staff/audit.csv", {"action": "assignment"})
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == ["time", "staff_account", "action", "pin", "team", "summary"]
    assert [row[1:] for row in rows[1:]] == [
        ["eddie", "assignment", str(first.pk), "east-team", f"Pin #{first.pk} assigned to eddie."]
    ]


def test_bad_filters_are_named(client, city, planner):
    client.force_login(planner)
    page = client.get("/staff/audit/", {"since": "2026-02-30", "pin": "0"})
    assert page.status_code == 400
    assert b'id="audit_since_error"' in page.content or b"audit_since" in page.content
    export = client.get("/staff/audit.csv", {"since": "2026-05-02", "until": "2026-05-01"})
    assert export.status_code == 400
    assert export.content.decode().startswith("until:")


def test_a_summary_that_looks_like_a_formula_is_text_in_the_csv(client, city, planner):
    AuditEvent.objects.create(actor_name="eve", action="template", summary="=HYPERLINK(1)")
    client.force_login(planner)
    rows = list(
        csv.reader(io.StringIO(b"".join(client.get("/staff/audit.csv").streaming_content).decode()))
    )
    assert rows[1][-1] == "'=HYPERLINK(1)"
