"""Open311 API keys: issued by staff per client (the command or the admin), shown once, stored
as a hash, revocable."""

import hashlib
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from mapideas.models import Idea, Open311Client
from mapideas.open311.services import open311_client_create, open311_client_revoke
from tests.mapideas.open311.open311_support import form, post

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/mapideas/open311client/"


def run(*args: str) -> str:
    out = StringIO()
    call_command("open311_key", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def printed_key(output: str) -> str:
    # The key is all a new key's standard output says, so a shell can capture it.
    (key,) = output.splitlines()
    return key


# --- Services -------------------------------------------------------------------------------


def test_only_the_hash_and_a_prefix_of_a_key_are_stored():
    issued = open311_client_create(name="Pothole App")

    client = Open311Client.objects.get()
    assert client.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert client.key_prefix == issued.key[:8]
    assert issued.key not in {getattr(client, f.attname) for f in client._meta.fields}
    assert len(issued.key) >= 40


def test_every_key_is_new():
    keys = {open311_client_create(name=f"App {n}").key for n in range(5)}

    assert len(keys) == 5


def test_a_name_has_one_live_key_and_may_be_issued_again_once_revoked():
    first = open311_client_create(name="Pothole App")
    with pytest.raises(ValidationError, match="live key"):
        open311_client_create(name="Pothole App")

    open311_client_revoke(client=first.client)
    second = open311_client_create(name="Pothole App")

    assert second.client.pk != first.client.pk


def test_revoking_twice_keeps_the_first_time():
    client = open311_client_create(name="Pothole App").client
    first = open311_client_revoke(client=client).revoked_at

    assert open311_client_revoke(client=client).revoked_at == first


# --- The command ----------------------------------------------------------------------------


def test_the_command_prints_a_key_that_posts(city):
    out, err = StringIO(), StringIO()
    call_command("open311_key", "Pothole App", stdout=out, stderr=err)

    key = printed_key(out.getvalue())
    assert "only this once" in err.getvalue()
    assert post(form(key)).status_code == 201
    assert Idea.objects.get().open311_client.name == "Pothole App"


@pytest.mark.parametrize("by", ["prefix", "name"])
def test_the_command_revokes_by_prefix_or_name(city, by):
    key = printed_key(run("Pothole App"))

    output = run("--revoke", key[:8] if by == "prefix" else "Pothole App")

    assert "Revoked" in output
    assert post(form(key)).status_code == 403


def test_the_command_lists_clients_without_their_keys():
    key = printed_key(run("Pothole App"))
    run("--revoke", "Pothole App")
    run("Bike App")

    output = run("--list")

    assert key not in output
    assert key[:8] in output
    assert "Pothole App" in output and "revoked" in output
    assert "Bike App" in output and "live" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Give a CLIENT_NAME"),
        (("App", "--list"), "Give a CLIENT_NAME"),
        (("--revoke", "nobody"), "No live key"),
        (("  ",), "blank"),
    ],
)
def test_the_command_says_what_is_wrong(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_the_command_refuses_a_second_live_key_for_a_name():
    run("Pothole App")

    with pytest.raises(CommandError, match="live key"):
        run("Pothole App")


# --- The admin ------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client.force_login(root)
    return client


def test_staff_issue_a_key_in_the_admin_and_see_it_once(city, staff_client):
    response = staff_client.post(f"{CHANGELIST}add/", {"name": "Pothole App"}, follow=True)

    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "The key for" in str(m)]
    key = message.split(" is ", 1)[1].split(" ", 1)[0]
    client = Open311Client.objects.get()
    assert client.key_prefix == key[:8]
    assert client.created_by.username == "root"
    assert post(form(key)).status_code == 201
    # Never again: not on the change page, not in the list.
    for url in (CHANGELIST, f"{CHANGELIST}{client.pk}/change/"):
        assert key not in staff_client.get(url).content.decode()


def test_the_admin_refuses_a_name_that_has_a_live_key(staff_client):
    open311_client_create(name="Pothole App")

    response = staff_client.post(f"{CHANGELIST}add/", {"name": "Pothole App"})

    assert response.status_code == 200  # the form again, with the error
    assert "live key" in response.content.decode()
    assert Open311Client.objects.count() == 1


def test_staff_revoke_keys_with_the_admin_action(city, staff_client):
    keep = open311_client_create(name="Keep App")
    drop = open311_client_create(name="Drop App")

    response = staff_client.post(
        CHANGELIST,
        {"action": "revoke", "_selected_action": [drop.client.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 key(s): Drop App" in response.content.decode()
    assert post(form(drop.key)).status_code == 403
    assert post(form(keep.key)).status_code == 201


def test_the_admin_never_deletes_a_client(staff_client):
    client = open311_client_create(name="Pothole App").client

    response = staff_client.get(f"{CHANGELIST}{client.pk}/delete/")

    assert response.status_code == 403


def test_staff_see_the_contact_an_open311_client_sent_on_the_pin(city, staff_client):
    post(form(open311_client_create(name="App").key, email="ann@mail.example"))

    page = staff_client.get(f"/admin/mapideas/idea/{Idea.objects.get().pk}/change/")

    assert "ann@mail.example" in page.content.decode()
