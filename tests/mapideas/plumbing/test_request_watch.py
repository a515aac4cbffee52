"""mapideas.plumbing.request_watch: the steps of a request, and the heartbeat held back while
one is overdue. The watch in a real gunicorn worker: tests/geodata/exports/
test_export_over_http.py."""

import socket

from mapideas.plumbing import request_watch
from mapideas.plumbing.request_watch import GRACE_S, RequestWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FileWrapper:
    def __init__(self, filelike) -> None:
        self.filelike = filelike


def test_a_short_step_never_holds_back_the_heartbeat():
    clock = Clock()
    watch = RequestWatch(30, clock)
    beats = []
    beat = watch.heartbeat(lambda: beats.append(clock.now))

    beat()
    watch.begin()
    clock.now += GRACE_S / 2
    beat()
    watch.end()
    clock.now += 10 * GRACE_S
    beat()

    assert beats == [100.0, 100.0 + GRACE_S / 2, 100.0 + 10.5 * GRACE_S]


def test_an_overdue_step_holds_back_the_heartbeat_until_it_ends():
    clock = Clock()
    watch = RequestWatch(30, clock)
    beats = []
    beat = watch.heartbeat(lambda: beats.append(clock.now))

    watch.begin()
    clock.now += GRACE_S
    beat()
    clock.now += 100
    beat()
    assert beats == []
    assert watch.longest_step() == 100 + GRACE_S

    watch.end()
    beat()
    assert beats == [clock.now]


def test_every_piece_of_a_body_is_a_step_and_the_time_between_them_is_not():
    clock = Clock()
    watch = RequestWatch(30, clock)
    seen = []

    def pieces():
        for n in range(3):
            seen.append(watch.longest_step())
            clock.now += 0.5  # making the piece
            yield b"%d" % n

    def app(environ, start_response):
        start_response("200 OK", [])
        return pieces()

    body = watch.app(app)({}, lambda *args: None)
    sent = []
    for piece in body:
        assert watch.longest_step() == 0  # the client's time
        clock.now += 1000  # a slow client
        sent.append(piece)
    body.close()

    assert sent == [b"0", b"1", b"2"]
    assert seen == [0.0, 0.0, 0.0]


def test_the_body_is_closed_and_a_file_is_left_to_gunicorn():
    watch = RequestWatch(30)
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    body = watch.app(lambda environ, start_response: Body([b"x"]))({}, None)
    assert list(body) == [b"x"]
    body.close()
    assert closed == [True]

    environ = {"wsgi.file_wrapper": FileWrapper}
    answer = FileWrapper(None)
    assert watch.app(lambda environ, start_response: answer)(environ, None) is answer


def test_the_client_socket_gets_a_send_timeout():
    watch = RequestWatch(7)
    with socket.socket() as client:
        watch.app(lambda environ, start_response: [])({"gunicorn.socket": client}, None)
        assert client.gettimeout() == 7


def test_progress_restarts_the_step_in_an_installed_worker(monkeypatch):
    clock = Clock()
    watch = RequestWatch(30, clock)
    monkeypatch.setattr(request_watch, "_installed", watch)

    watch.begin()
    clock.now += 20
    request_watch.progress()
    assert watch.longest_step() == 0
    clock.now += 20
    with request_watch.unwatched():
        assert watch.longest_step() == 0
        clock.now += 100
    assert watch.longest_step() == 0  # begun again when the unwatched part ended


def test_progress_is_a_no_op_outside_a_worker():
    request_watch.progress()
    with request_watch.unwatched():
        pass


def test_install_wraps_the_worker_application_and_heartbeat(monkeypatch):
    monkeypatch.setattr(request_watch, "_installed", None)
    beats = []

    class Worker:
        def wsgi(self, environ, start_response):
            return [b"ok"]

        def notify(self):
            beats.append(1)

    worker = Worker()
    watch = request_watch.install(worker, 30)
    worker.notify()
    assert list(worker.wsgi({}, None)) == [b"ok"]
    assert beats == [1]
    assert request_watch._installed is watch
