"""A pin the public cannot see (hidden by moderation, awaiting its author's email
confirmation) is, for a team that may not see it, the same as a pin that does not exist: a
merge into it is "No such pin." naming duplicate_of, on the page, the API and in the service,
and nothing moves; a bulk change naming it answers as for a missing id. No team merges into a
pin that is not public, not even its own: the merge's answer quotes the original's title and
its supporters and followers move there."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from mapideas.models import Follower, Idea, IdeaUpdate, Support
from mapideas.participation.services import follow, idea_support
from mapideas.submission.services import idea_create
from mapideas.workflow.services import idea_mark_duplicate, ideas_bulk_update
from tests.conftest import IN_EAST, IN_WEST

pytestmark = pytest.mark.django_db
S = Idea.Status

SECRET_TITLE = "Hidden zq-secret-title-8812"
NO_SUCH_PIN = {"duplicate_of": ["No such pin."]}
MISSING = 999999
BEYOND_64_BITS = 2**63


def _hidden(pin: Idea) -> Idea:
    Idea.objects.filter(pk=pin.pk).update(hidden_by_moderation_at=timezone.now())
    return Idea.objects.get(pk=pin.pk)


@pytest.fixture
def unseen(city, category) -> dict[str, Idea]:
    """Pins that are not public: West Team's (which East Team may not see) and East Team's
    own (which it sees, but the public does not)."""

    def pin(where, *, awaiting: bool = False) -> Idea:
        return idea_create(
            kind="issue",
            # East Team sees its own pins in its queue; West Team's must show nowhere.
            title=SECRET_TITLE if where == IN_WEST else "Own pin, not public",
            category=category,
            location=where,
            contact_email="author@mail.example" if awaiting else "",
            awaiting_confirmation=awaiting,
        )

    return {
        "west_hidden": _hidden(pin(IN_WEST)),
        "west_awaiting": pin(IN_WEST, awaiting=True),
        "own_hidden": _hidden(pin(IN_EAST)),
        "own_awaiting": pin(IN_EAST, awaiting=True),
    }


@pytest.fixture
def copy(city, category, make_user) -> Idea:
    """East Team's public pin, supported and followed, that the team means to merge."""
    pin = idea_create(kind="issue", title="Swing broken", category=category, location=IN_EAST)
    idea_support(idea=pin, user=make_user("sam"))
    follow(idea=pin, user=make_user("fran"))
    return pin


def snapshot() -> list:
    return [
        list(
            Idea.objects.order_by("pk").values_list(
                "pk", "status", "duplicate_of", "answer", "support_count"
            )
        ),
        IdeaUpdate.objects.count(),
        list(Support.objects.order_by("pk").values_list("pk", "idea")),
        list(Follower.objects.order_by("pk").values_list("pk", "idea")),
    ]


UNSEEN = ["west_hidden", "west_awaiting", "own_hidden", "own_awaiting"]


# --- merge: the service ---------------------------------------------------------------------


@pytest.mark.parametrize("which", UNSEEN)
def test_the_service_merges_into_no_pin_that_is_not_public(copy, unseen, east_member, which):
    before = snapshot()

    with pytest.raises(ValidationError) as refused:
        idea_mark_duplicate(idea=copy, original=unseen[which], actor=east_member)

    assert refused.value.message_dict == NO_SUCH_PIN
    assert snapshot() == before  # no answer, no status, no moved supporter or follower


def test_the_service_answers_a_missing_pin_the_same_way(copy, east_member):
    with pytest.raises(ValidationError) as refused:
        idea_mark_duplicate(idea=copy, original=Idea(pk=MISSING), actor=east_member)

    assert refused.value.message_dict == NO_SUCH_PIN


def test_a_chain_names_no_pin_that_is_not_public(copy, category, east_member):
    """Merging into a public duplicate whose own original is no longer public: the answer
    does not name that original."""
    public_duplicate = idea_create(kind="issue", title="Swing", category=category, location=IN_EAST)
    original = idea_create(kind="issue", title=SECRET_TITLE, category=category, location=IN_EAST)
    idea_mark_duplicate(idea=public_duplicate, original=original, actor=east_member)
    _hidden(original)

    with pytest.raises(ValidationError) as refused:
        idea_mark_duplicate(idea=copy, original=public_duplicate, actor=east_member)

    (message,) = refused.value.message_dict["duplicate_of"]
    assert f"#{original.pk}" not in message
    assert f"#{public_duplicate.pk}" in message


# --- merge: the page and the API ------------------------------------------------------------


def _page_merge(client: Client, copy: Idea, target: int):
    response = client.post(f"/ideas/{copy.pk}/duplicate/", {"duplicate_of": target})
    assert response.status_code == 400, response.content[:300]
    assert SECRET_TITLE not in response.content.decode()
    return response.context["duplicate_form"].errors


def test_the_page_form_answers_a_pin_not_public_as_a_missing_one(client, copy, unseen, east_member):
    client.force_login(east_member)
    before = snapshot()

    answers = {which: _page_merge(client, copy, unseen[which].pk) for which in UNSEEN}
    answers["missing"] = _page_merge(client, copy, MISSING)
    answers["beyond"] = _page_merge(client, copy, BEYOND_64_BITS)

    assert answers == dict.fromkeys(answers, NO_SUCH_PIN)
    assert snapshot() == before


def test_the_api_answers_a_pin_not_public_as_a_missing_one(copy, unseen, east_member):
    api = APIClient()
    api.force_login(east_member)
    before = snapshot()

    def merge(target: int) -> tuple[int, dict]:
        response = api.post(
            f"/api/ideas/{copy.pk}/status/",
            {"status": "duplicate", "duplicate_of": target},
            format="json",
        )
        return response.status_code, response.json()

    answers = {which: merge(unseen[which].pk) for which in UNSEEN}
    answers["missing"] = merge(MISSING)
    answers["beyond"] = merge(BEYOND_64_BITS)

    assert answers == dict.fromkeys(answers, (400, NO_SUCH_PIN))
    assert snapshot() == before


def test_a_merge_into_a_public_pin_still_works_with_its_title(copy, category, east_member):
    original = idea_create(kind="issue", title="Broken swing", category=category, location=IN_WEST)

    idea_mark_duplicate(idea=copy, original=original, actor=east_member)

    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id) == (S.DUPLICATE, original.pk)
    assert "Broken swing" in copy.answer
    assert Support.objects.filter(idea=original).count() == 1
    assert Follower.objects.filter(idea=original).count() == 1


# --- bulk changes ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["west_hidden", "west_awaiting"])
def test_bulk_answers_another_teams_pin_not_public_as_a_missing_one(
    copy, unseen, east_member, which
):
    target = unseen[which].pk
    before = snapshot()

    with pytest.raises(ValidationError) as unseen_refused:
        ideas_bulk_update(ideas=[copy.pk, target], status=S.PLANNED, actor=east_member)
    with pytest.raises(ValidationError) as missing_refused:
        ideas_bulk_update(ideas=[copy.pk, MISSING], status=S.PLANNED, actor=east_member)

    assert unseen_refused.value.message_dict == {"ideas": [f"No such pin: #{target}."]}
    assert missing_refused.value.message_dict == {"ideas": [f"No such pin: #{MISSING}."]}
    assert snapshot() == before


def test_bulk_still_changes_the_teams_own_pins_not_public(copy, unseen, east_member):
    own = [unseen["own_hidden"].pk, unseen["own_awaiting"].pk]

    ideas_bulk_update(ideas=[copy.pk, *own], status=S.ACKNOWLEDGED, actor=east_member)

    assert set(Idea.objects.filter(pk__in=[copy.pk, *own]).values_list("status", flat=True)) == {
        S.ACKNOWLEDGED
    }


def test_the_bulk_form_answers_a_pin_not_public_as_a_missing_one(client, copy, unseen, east_member):
    client.force_login(east_member)
    before = snapshot()

    def bulk(target: int) -> tuple[int, list[str]]:
        response = client.post(
            "/teams/east-team/bulk/",
            {"ideas": [copy.pk, target], "action": "status", "status": "planned"},
        )
        body = response.content.decode()
        assert SECRET_TITLE not in body
        assert "Not yours" not in body
        errors = [
            e.replace(f"#{target}", "#N") for e in response.context["bulk_form"].errors["ideas"]
        ]
        return response.status_code, errors

    answers = {which: bulk(unseen[which].pk) for which in ("west_hidden", "west_awaiting")}
    answers["missing"] = bulk(MISSING)

    assert answers == dict.fromkeys(answers, (400, ["No such pin: #N."]))
    assert snapshot() == before
