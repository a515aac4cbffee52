"""A closed pin residents answered: some confirmed the fix, more said the problem is still
there (with a note, from an account whose name and address must never leave the database),
and it was reopened. The counts are set as mapideas.outcomes keeps them, under the pin's
row lock: one column each, beside the FixFeedback rows."""

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point

from mapideas.models import Category, FixFeedback, Idea
from mapideas.plumbing.hashing import keyed_hash
from mapideas.submission.services import idea_create

SECRET_USERNAME = "zz-disputer-4471"
SECRET_EMAIL = "zz.disputer.4471@mail.example"
SECRET_NOTE = "zz-dispute-note: still broken, my neighbour Ann Zzyzx saw it"
CLOSED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
REOPENED_AT = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
CONFIRMATIONS, DISPUTES = 1, 3


def disputed_pin(category: Category, location: Point) -> Idea:
    idea = idea_create(kind="issue", title="Broken swing", category=category, location=location)
    disputer = get_user_model().objects.create(username=SECRET_USERNAME, email=SECRET_EMAIL)
    verdicts = [FixFeedback.Verdict.FIXED] * CONFIRMATIONS
    verdicts += [FixFeedback.Verdict.STILL_THERE] * DISPUTES
    for number, verdict in enumerate(verdicts):
        FixFeedback.objects.create(
            idea=idea,
            closed_at=CLOSED_AT,
            verdict=verdict,
            note=SECRET_NOTE if verdict == FixFeedback.Verdict.STILL_THERE else "",
            source=FixFeedback.Source.PIN_PAGE,
            user=disputer if number == 1 else None,
            email=SECRET_EMAIL if number == 2 else "",
            person_hash=keyed_hash("fix-feedback", f"person-{number}@mail.example"),
            ip_hash=keyed_hash("ip", "203.0.113.9"),
            confirmed_at=CLOSED_AT,
        )
    Idea.objects.filter(pk=idea.pk).update(
        status=Idea.Status.IN_PROGRESS,
        answer="We are looking at it again.",
        answer_at=REOPENED_AT,
        closed_at=CLOSED_AT,
        fix_confirmed_count=CONFIRMATIONS,
        dispute_count=DISPUTES,
        reopen_count=1,
        reopened_at=REOPENED_AT,
    )
    return Idea.objects.get(pk=idea.pk)


# Who answered, in any form: none of it may appear in a public output.
SECRETS = (SECRET_USERNAME, SECRET_EMAIL, SECRET_NOTE, "Zzyzx", "203.0.113.9")
