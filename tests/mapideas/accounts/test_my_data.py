"""A citizen's own data (mapideas.accounts.personal_data): the download holds everything linked to
their account and nothing of anyone else's; erasing the account keeps their pins and
comments, anonymised, and the support counts; `manage.py erase_citizen EMAIL` does the same
for a request by mail, and what is kept under the address alone."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from mapideas.alerts.services import alert_subscribe
from mapideas.models import (
    AreaAlert,
    Comment,
    EmailOutbox,
    FixCheck,
    FixFeedback,
    Flag,
    Follower,
    Idea,
    Support,
    VerifiedAddress,
)
from mapideas.moderation.services import idea_flag
from mapideas.outcomes.selectors import person_hash_of
from mapideas.participation.services import comment_add, follow, idea_support
from mapideas.plumbing.hashing import keyed_hash
from mapideas.submission.services import idea_create
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"
MINE = "zq7-mine"
THEIRS = "zq7-theirs"


@pytest.fixture
def cindy(make_user):
    user = make_user("cindy")
    user.email = "cindy@example.org"
    user.save()
    return user


@pytest.fixture
def planted(city, category, cindy, make_user):
    """Cindy's data, and Otto's on the same pins, to be told apart."""
    otto = make_user("otto")
    otto.email = "otto@example.org"
    otto.save()
    mine = idea_create(
        kind="idea",
        title=f"Bench {MINE}",
        category=category,
        location=IN_EAST,
        author=cindy,
        contact_phone="+32 400 00 00 01",
    )
    theirs = idea_create(
        kind="issue",
        title=f"Pothole {THEIRS}",
        category=category,
        location=IN_WEST,
        author=otto,
        contact_phone="+32 400 99 99 99",
    )
    for person in (cindy, otto):
        idea_support(idea=theirs, user=person)
        idea_support(idea=mine, user=person)
    idea_support(idea=mine, token_hash=keyed_hash("supporter", "a browser"))
    comment_add(idea=theirs, author=cindy, text=f"Agreed {MINE}")
    comment_add(idea=mine, author=otto, text=f"Nice {THEIRS}")
    follow(idea=theirs, user=cindy)
    idea_flag(idea=theirs, reason="other", text=f"Wrong place {MINE}", user=cindy)
    idea_flag(idea=mine, reason="spam", text=f"Advert {THEIRS}", user=otto)
    return {"mine": mine, "theirs": theirs, "otto": otto}


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


# --- Download -----------------------------------------------------------------------------------


def test_the_download_holds_the_account_data_and_nobody_elses(cindy, planted):
    response = signed_in(cindy).get("/accounts/my-data/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["username"] == "cindy"
    assert data["account"]["email"] == "cindy@example.org"
    ((pin),) = data["pins"]
    assert pin["id"] == planted["mine"].pk and MINE in pin["title"]
    assert pin["contact_phone"] == "+32 400 00 00 01"
    assert {s["pin"] for s in data["supports"]} == {planted["mine"].pk, planted["theirs"].pk}
    ((comment),) = data["comments"]
    assert comment["text"] == f"Agreed {MINE}"
    # Her own pin (an author follows it) and Otto's, which she chose to follow.
    assert {f["pin"] for f in data["follows"]} == {planted["mine"].pk, planted["theirs"].pk}
    ((flag),) = data["flags"]
    assert flag["text"] == f"Wrong place {MINE}"
    text = response.content.decode()
    for other in (THEIRS, "otto", "+32 400 99 99 99"):
        assert other not in text


def test_the_download_leaves_out_what_is_kept_under_an_address_alone(cindy, planted, city):
    # An alert (and a pin sent with the address, not signed in) under cindy's account email:
    # anyone could have signed up with that address, so it is not handed to the account.
    alert_subscribe(email="cindy@example.org", neighborhood_slug="west-side")
    data = signed_in(cindy).get("/accounts/my-data/").json()

    assert "west-side" not in json.dumps(data)
    assert "write to the city" in data["not_included"]


def test_the_download_and_the_erase_page_need_a_login(city):
    for url in ("/accounts/my-data/", "/accounts/delete/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
    assert Client().post("/accounts/delete/", {"password": "x"}).status_code == 302


def test_the_erase_page_offers_the_download_and_the_form(cindy):
    page = signed_in(cindy).get("/accounts/delete/").content.decode()
    assert 'href="/accounts/my-data/"' in page
    assert 'id="erase-form"' in page and 'name="csrfmiddlewaretoken"' in page


# --- Erase --------------------------------------------------------------------------------------


def test_erasing_keeps_the_pins_anonymised_and_the_counts(cindy, planted):
    mine, theirs = planted["mine"], planted["theirs"]
    counts = {pk: Idea.objects.get(pk=pk).support_count for pk in (mine.pk, theirs.pk)}
    browser = signed_in(cindy)

    response = browser.post("/accounts/delete/", {"password": PASSWORD})

    assert response.status_code == 302 and response.url == "/"
    assert not get_user_model().objects.filter(username="cindy").exists()
    pin = Idea.objects.get(pk=mine.pk)
    assert pin.author is None
    assert (pin.contact_email, pin.contact_name, pin.contact_phone) == ("", "", "")
    assert pin.title == f"Bench {MINE}"  # the pin stays
    for pk, before in counts.items():
        idea = Idea.objects.get(pk=pk)
        assert idea.support_count == before == Support.objects.filter(idea=idea).count()
    comment = Comment.objects.get(text=f"Agreed {MINE}")
    assert comment.author is None and comment.public_author == "A neighbor"
    assert not Follower.objects.filter(email="cindy@example.org").exists()
    assert Follower.objects.filter(idea=theirs).count() == 1  # otto, who pinned it
    flag = Flag.objects.get(text=f"Wrong place {MINE}")
    assert flag.flagged_by is None and len(flag.flagger_hash) == 64
    assert Idea.objects.get(pk=theirs.pk).flag_count == 1
    # Signed out, and the session is gone.
    assert browser.get("/accounts/my-data/").status_code == 302
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(cindy.pk) for s in Session.objects.all()
    )
    # Otto's data is untouched.
    otto_pin = Idea.objects.get(pk=theirs.pk)
    assert otto_pin.author == planted["otto"] and otto_pin.contact_phone == "+32 400 99 99 99"


def test_erasing_ends_the_other_sessions_too(cindy):
    elsewhere = signed_in(cindy)
    signed_in(cindy).post("/accounts/delete/", {"password": PASSWORD})
    assert elsewhere.get("/accounts/my-data/").status_code == 302


def test_a_wrong_password_erases_nothing(cindy, planted):
    response = signed_in(cindy).post("/accounts/delete/", {"password": "guess"})

    assert response.status_code == 400
    assert "This is not your password" in response.content.decode()
    assert get_user_model().objects.filter(pk=cindy.pk).exists()
    assert Idea.objects.get(pk=planted["mine"].pk).author == cindy


def test_erasing_needs_the_csrf_token(cindy):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cindy)
    assert browser.post("/accounts/delete/", {"password": PASSWORD}).status_code == 403
    assert get_user_model().objects.filter(pk=cindy.pk).exists()


# --- erase_citizen EMAIL ------------------------------------------------------------------------


def test_erase_citizen_erases_the_account_and_what_the_address_holds(
    cindy, planted, city, category, capsys
):
    by_mail = idea_create(
        kind="idea",
        title="Sent by mail",
        category=category,
        location=IN_WEST,
        contact_email="Cindy@Example.org",
        contact_name="Cindy C.",
    )
    follow(idea=planted["theirs"], email="cindy@example.org")
    alert_subscribe(email="cindy@example.org", neighborhood_slug="west-side")
    assert EmailOutbox.objects.filter(to__iexact="cindy@example.org").exists()

    call_command("erase_citizen", "CINDY@example.org")

    out = capsys.readouterr().out
    assert "accounts deleted: cindy" in out and "area alerts deleted: 1" in out
    assert not get_user_model().objects.filter(pk=cindy.pk).exists()
    pin = Idea.objects.get(pk=by_mail.pk)
    assert (pin.contact_email, pin.contact_name) == ("", "")
    assert not Follower.objects.filter(email__iexact="cindy@example.org").exists()
    assert not AreaAlert.objects.filter(email__iexact="cindy@example.org").exists()
    assert not EmailOutbox.objects.filter(to__iexact="cindy@example.org").exists()
    assert get_user_model().objects.filter(username="otto").exists()


def test_erase_citizen_leaves_staff_accounts_to_the_admin(city, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    with pytest.raises(CommandError, match="remove them in the admin"):
        call_command("erase_citizen", "root@example.org")
    assert django_user_model.objects.filter(username="root").exists()


# --- verdicts on closed pins ("Is it fixed?", "still there") ---------------------------------


def _verdicts(pin, cindy, otto, elsewhere):
    closed = timezone.now()
    mine = FixFeedback.objects.create(
        idea=pin,
        closed_at=closed,
        verdict=FixFeedback.Verdict.STILL_THERE,
        note=f"{MINE} still a hole",
        source=FixFeedback.Source.PIN_PAGE,
        user=cindy,
        person_hash=person_hash_of(cindy.email),
        confirmed_at=closed,
    )
    by_mail = FixFeedback.objects.create(
        idea=elsewhere,
        closed_at=closed,
        verdict=FixFeedback.Verdict.FIXED,
        source=FixFeedback.Source.PIN_PAGE,
        email="",
        person_hash=person_hash_of("Cindy@Example.org"),
        confirmed_at=closed,
    )
    theirs = FixFeedback.objects.create(
        idea=pin,
        closed_at=closed,
        verdict=FixFeedback.Verdict.STILL_THERE,
        note=f"{THEIRS} also",
        source=FixFeedback.Source.PIN_PAGE,
        user=otto,
        person_hash=person_hash_of("otto@example.org"),
        confirmed_at=closed,
    )
    check = FixCheck.objects.create(
        idea=pin,
        person_hash=person_hash_of(cindy.email),
        user=cindy,
        token_hash="a" * 64,
        closed_at=closed,
        expires_at=closed,
    )
    return mine, by_mail, theirs, check


def test_the_download_holds_the_accounts_verdicts_and_nobody_elses(cindy, planted):
    otto = get_user_model().objects.get(username="otto")
    _verdicts(planted["theirs"], cindy, otto, planted["mine"])

    data = json.loads(signed_in(cindy).get("/accounts/my-data/").content)

    assert [(v["pin"], v["verdict"], v["note"]) for v in data["verdicts"]] == [
        (planted["theirs"].pk, "still_there", f"{MINE} still a hole")
    ]
    assert THEIRS not in json.dumps(data["verdicts"])


def test_erasing_keeps_the_verdicts_counted_and_linked_to_nobody(cindy, planted):
    otto = get_user_model().objects.get(username="otto")
    mine, _by_mail, theirs, check = _verdicts(planted["theirs"], cindy, otto, planted["mine"])
    VerifiedAddress.objects.create(user=cindy, email=cindy.email)

    response = signed_in(cindy).post("/accounts/delete/", {"password": PASSWORD})

    assert response.status_code in (200, 302)
    mine.refresh_from_db()
    check.refresh_from_db()
    assert (mine.user, mine.email) == (None, "")
    assert mine.person_hash != person_hash_of("cindy@example.org")
    assert len(mine.person_hash) == 64  # still one person among the pin's verdicts
    assert (check.user, check.person_hash != person_hash_of("cindy@example.org")) == (None, True)
    assert not VerifiedAddress.objects.filter(email="cindy@example.org").exists()
    theirs.refresh_from_db()
    assert theirs.user == otto


def test_erase_citizen_unlinks_the_verdicts_given_from_the_address(cindy, planted):
    otto = get_user_model().objects.get(username="otto")
    mine, by_mail, theirs, check = _verdicts(planted["theirs"], cindy, otto, planted["mine"])
    waiting = FixFeedback.objects.create(
        idea=planted["theirs"],
        closed_at=timezone.now(),
        verdict=FixFeedback.Verdict.STILL_THERE,
        source=FixFeedback.Source.PIN_PAGE,
        email="CINDY@example.org",
        person_hash=person_hash_of("CINDY@example.org"),
    )

    call_command("erase_citizen", "cindy@example.org")

    gone = person_hash_of("cindy@example.org")
    for row in (mine, by_mail, waiting, check):
        row.refresh_from_db()
        assert row.person_hash != gone
    waiting.refresh_from_db()
    assert waiting.email == ""
    theirs.refresh_from_db()
    assert theirs.person_hash == person_hash_of("otto@example.org")
