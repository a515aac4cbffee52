"""A heavy read kept in the answer cache (mapideas.plumbing.kept_reads): read once a window,
read every time at 0 seconds, and read by one request at a time: the others wait for its
value, and read it themselves when it never comes."""

import threading

import pytest
from django.core.cache import cache

from mapideas.plumbing import kept_reads
from mapideas.plumbing.kept_reads import kept_read


class Reads:
    """A read that counts how often it ran."""

    def __init__(self, value: object = "figures") -> None:
        self.value, self.count = value, 0

    def __call__(self) -> object:
        self.count += 1
        return self.value


def test_a_value_is_read_once_a_window():
    read = Reads()

    assert kept_read("figures", 60, read) == "figures"
    assert kept_read("figures", 60, read) == "figures"
    assert read.count == 1


def test_zero_seconds_reads_every_time():
    read = Reads()

    kept_read("figures", 0, read)
    kept_read("figures", 0, read)

    assert read.count == 2
    assert cache.get("figures") is None


def test_a_value_is_kept_in_its_stored_form_and_a_refused_one_is_read_again():
    read = Reads({"count": 3})
    stored = []

    def dump(value):
        stored.append(value)
        return ("v1", value)

    def load(kept):
        return kept[1] if kept[0] == "v1" else None

    kept_read("figures", 60, read, dump=dump, load=load)
    assert cache.get("figures") == ("v1", {"count": 3})
    assert kept_read("figures", 60, read, dump=dump, load=load) == {"count": 3}
    assert read.count == 1

    cache.set("figures", ("v0", "an older form"), 60)
    assert kept_read("figures", 60, read, dump=dump, load=load) == {"count": 3}
    assert read.count == 2


def test_a_request_waits_for_the_one_reading_the_same_value():
    cache.add("figures:reading", True, 30)  # another request is reading it
    threading.Timer(0.2, lambda: cache.set("figures", "theirs", 60)).start()

    value = kept_read("figures", 60, lambda: pytest.fail("read it again"))

    assert value == "theirs"


def test_a_request_reads_the_value_itself_when_the_reader_never_answers(monkeypatch):
    monkeypatch.setattr(kept_reads, "WAIT_SECONDS", 0.2)
    cache.add("figures:reading", True, 30)  # a reader that died
    read = Reads()

    assert kept_read("figures", 60, read) == "figures"
    assert read.count == 1


def test_a_request_stops_waiting_when_the_mark_goes_without_a_value():
    cache.add("figures:reading", True, 30)
    threading.Timer(0.2, lambda: cache.delete("figures:reading")).start()
    read = Reads()

    assert kept_read("figures", 60, read) == "figures"
    assert read.count == 1


def test_a_failed_read_leaves_no_mark_and_no_value():
    def fails():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        kept_read("figures", 60, fails)

    assert cache.get("figures:reading") is None
    assert cache.get("figures") is None
    assert kept_read("figures", 60, Reads()) == "figures"
