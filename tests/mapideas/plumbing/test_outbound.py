"""Outbound HTTP calls (mapideas.plumbing.outbound): what is refused, and how a call is bounded.

Real servers on 127.0.0.1, started in threads: a test server whose paths misbehave on purpose
(slow, trickling, too large, redirecting, not JSON), and a small forwarding proxy. Nothing is
mocked; literal addresses need no network to be checked.
"""

import contextlib
import gzip
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from mapideas import settings as project_settings
from mapideas.plumbing import outbound
from mapideas.plumbing.outbound import OutboundError, OutboundRefused, check_url, request

METADATA_URL = "http://169.254.169.254/latest/meta-data/"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up on a slow answer, as the tests make them do


def _write_slowly(handler: BaseHTTPRequestHandler, data: bytes, pause: float) -> None:
    with contextlib.suppress(OSError):  # the client hung up
        for byte in data:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(pause)


def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _echo(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    seen = {
        "method": handler.command,
        "path": handler.path,
        "headers": {name.lower(): value for name, value in handler.headers.items()},
        "body": body.decode(),
    }
    _answer(handler, 200, json.dumps(seen).encode(), Content_Type="application/json")


def _slow(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    time.sleep(0.6)
    with contextlib.suppress(OSError):  # the client hung up
        _answer(handler, 200, b"late")


def _trickle(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    _write_slowly(handler, b"x" * 1000, 0.05)


def _trickle_headers(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    _write_slowly(handler, b"HTTP/1.0 200 OK\r\nX-Slow: " + b"y" * 1000, 0.05)


def _big(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    _answer(handler, 200, b"x" * 2048)


def _big_undeclared(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    # HTTP/1.0 with no Content-Length: the body ends when the server closes.
    handler.send_response(200)
    handler.end_headers()
    handler.wfile.write(b"x" * 2048)


def _gzip_bomb(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    # 8 MiB of zeros in about 8 KiB: it must be cut once decompressed past the limit.
    _answer(handler, 200, gzip.compress(bytes(8 * 1024 * 1024)), Content_Encoding="gzip")


def _redirect(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    _answer(handler, 302, b"", Location=METADATA_URL)


def _not_json(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    _answer(handler, 200, b"{not json", Content_Type="application/json")


ROUTES: dict[str, Callable[[BaseHTTPRequestHandler, bytes], None]] = {
    "/echo": _echo,
    "/slow": _slow,
    "/trickle": _trickle,
    "/trickle-headers": _trickle_headers,
    "/big": _big,
    "/big-undeclared": _big_undeclared,
    "/gzip-bomb": _gzip_bomb,
    "/redirect": _redirect,
    "/not-json": _not_json,
}


class _TestHandler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        ROUTES[urlsplit(self.path).path](self, self.rfile.read(length))

    do_POST = do_GET


@dataclass
class Proxy:
    url: str
    seen: list[str] = field(default_factory=list)


class _ProxyHandler(BaseHTTPRequestHandler):
    """A plain forwarding proxy: an absolute URI in the request line, passed on as is."""

    server: "_ProxyServer"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.proxy.seen.append(self.path)
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in ("connection", "proxy-connection", "content-length")
        }
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=2)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(self.command, path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET


class _ProxyServer(_QuietServer):
    proxy: Proxy


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of the test server, http://127.0.0.1:<port>."""
    yield from _serve(_QuietServer(("127.0.0.1", 0), _TestHandler))


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    proxy_server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
    proxy_server.proxy = Proxy(url="")
    for url in _serve(proxy_server):
        proxy_server.proxy.url = url
        yield proxy_server.proxy


@pytest.fixture
def loopback_allowed(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ("127.0.0.1",)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- What is refused -------------------------------------------------------------------------


def test_loopback_is_refused_by_default_naming_the_address(server):
    with pytest.raises(OutboundRefused) as refused:
        request("GET", f"{server}/echo")
    assert str(refused.value) == (
        "127.0.0.1 is a loopback address; allow it in MAPIDEAS_OUTBOUND_ALLOW to call it"
    )


def test_an_allowed_address_is_called_with_the_name_and_our_user_agent(server, loopback_allowed):
    response = request(
        "POST", f"{server}/echo?x=1#fragment", body=b"hello", headers={"X-Signature": "abc"}
    )
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    seen = response.json()
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/echo?x=1", "hello")
    assert seen["headers"]["x-signature"] == "abc"
    assert seen["headers"]["host"] == server.removeprefix("http://")
    assert seen["headers"]["user-agent"].startswith("MapIdeas/")


def test_an_allowed_network_allows_every_address_in_it(settings, server):
    settings.OUTBOUND_ALLOWED_NETWORKS = ("10.0.0.0/8", "127.0.0.0/8")
    assert request("GET", f"{server}/echo").status == 200
    check_url("http://10.20.30.40/")
    check_url("http://[::ffff:127.0.0.1]/")  # the IPv4-mapped form of an allowed address
    with pytest.raises(OutboundRefused, match="192.168.1.1 is a private address"):
        check_url("http://192.168.1.1/")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://172.16.3.4/", "172.16.3.4 is a private address"),
        ("https://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://[fd00::1]/", "fd00::1 is a private address"),
        (METADATA_URL, "169.254.169.254 is a link-local address (the cloud metadata service)"),
        ("http://169.254.1.2/", "169.254.1.2 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[::1]:8000/", "::1 is a loopback address"),
        ("http://127.0.0.2/", "127.0.0.2 is a loopback address"),
        ("http://0.0.0.0:8000/", "0.0.0.0 is an unspecified address"),
        ("http://[::]/", ":: is an unspecified address"),
        ("http://100.64.0.1/", "100.64.0.1 is a shared address (carrier-grade NAT)"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://[ff02::1]/", "ff02::1 is a multicast address"),
        ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
        ("http://255.255.255.255/", "255.255.255.255 is a reserved address"),
        ("http://192.0.2.1/", "192.0.2.1 is a reserved address"),
        ("http://[2001:db8::1]/", "2001:db8::1 is a reserved address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1 is the IPv4-mapped form of 127.0.0.1, a loopback address",
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            "::ffff:169.254.169.254 is the IPv4-mapped form of 169.254.169.254, a link-local",
        ),
        ("http://[64:ff9b::a00:5]/", "64:ff9b::a00:5 is the NAT64 form of 10.0.0.5, a private"),
        ("http://[2002:a00:5::]/", "2002:a00:5:: is the 6to4 form of 10.0.0.5, a private"),
        ("http://[::7f00:1]/", "::7f00:1 is the IPv4-compatible form of 127.0.0.1, a loopback"),
    ],
)
def test_addresses_that_are_not_public_are_refused_saying_what_they_are(url, kind):
    with pytest.raises(OutboundRefused) as refused:
        check_url(url)
    assert str(refused.value).startswith(kind)
    assert str(refused.value).endswith("; allow it in MAPIDEAS_OUTBOUND_ALLOW to call it")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "2130706433", "0x7f.1", "127.1"])
def test_names_and_numbers_are_judged_by_what_they_resolve_to(host):
    with pytest.raises(OutboundRefused, match="resolves to 127.0.0.1, a loopback address"):
        check_url(f"http://{host}:8000/hook")


def test_every_address_a_name_resolves_to_must_be_allowed(settings):
    # A name with a public and a private address could be connected to either.
    with pytest.raises(OutboundRefused, match="mixed.example resolves to 10.0.0.5, a private"):
        outbound._check_addresses("mixed.example", ["93.184.215.14", "10.0.0.5"])
    settings.OUTBOUND_ALLOWED_NETWORKS = ("10.0.0.0/8",)
    outbound._check_addresses("mixed.example", ["93.184.215.14", "10.0.0.5"])


@pytest.mark.parametrize(
    "url", ["https://93.184.215.14/hook", "http://8.8.8.8:8080/", "https://[2606:4700::1111]/"]
)
def test_public_addresses_pass(url):
    check_url(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/file", "only http and https URLs may be called, not ftp:"),
        ("file:///etc/passwd", "only http and https URLs may be called, not file:"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https URLs may be called, not gopher:"),
        ("javascript:alert(1)", "only http and https URLs may be called, not javascript:"),
        ("example.org/hook", "only http and https URLs may be called, not a URL without a scheme"),
        ("", "the URL is empty"),
        ("http://exa mple.org/", "contains spaces"),
        ("http:///hook", "the URL has no host"),
        ("http://example.org:99999/", "the URL cannot be read"),
    ],
)
def test_other_schemes_and_malformed_urls_are_refused(url, reason):
    with pytest.raises(OutboundRefused, match=reason):
        check_url(url)


@pytest.mark.parametrize(
    "url", ["http://admin:s3cret@example.org/", "https://token@example.org/", "http://:pw@x.org/"]
)
def test_a_user_name_or_password_in_the_url_is_refused_without_repeating_it(url):
    for call in (lambda: check_url(url), lambda: request("GET", url)):
        with pytest.raises(OutboundRefused, match="carries a user name or password") as refused:
            call()
        assert "s3cret" not in str(refused.value) and "token@" not in str(refused.value)


def test_a_malformed_url_at_call_time_is_a_protocol_error():
    with pytest.raises(OutboundError) as failed:
        request("GET", "http://exa mple.org/")
    assert failed.value.kind == "protocol"
    assert not isinstance(failed.value, ValueError)


# --- How a call is bounded -------------------------------------------------------------------


def test_a_slow_server_is_a_timeout(server, loopback_allowed):
    started = time.monotonic()
    with pytest.raises(OutboundError) as failed:
        request("GET", f"{server}/slow", timeout=0.2)
    assert failed.value.kind == "timeout"
    assert time.monotonic() - started < 0.6  # the server answers after 0.6 s


def test_a_server_trickling_bytes_is_cut_by_the_deadline(server, loopback_allowed, settings):
    # One byte every 50 ms never trips the 10 s read time-out; the deadline cuts it.
    settings.OUTBOUND_DEADLINE = 0.4
    for path in ("/trickle", "/trickle-headers"):
        started = time.monotonic()
        with pytest.raises(OutboundError) as failed:
            request("GET", f"{server}{path}")
        assert failed.value.kind == "timeout", path
        assert str(failed.value) == "127.0.0.1 gave no complete answer within 0.4 s"
        assert 0.35 < time.monotonic() - started < 1.5, path  # not the 50 s it trickles for


def test_an_answer_over_the_limit_is_too_large(server, loopback_allowed, settings):
    for path in ("/big", "/big-undeclared"):
        with pytest.raises(OutboundError) as failed:
            request("GET", f"{server}{path}", max_bytes=1024)
        assert failed.value.kind == "too_large", path
        assert str(failed.value) == "127.0.0.1 answered more than 1024 bytes"
        assert len(request("GET", f"{server}{path}", max_bytes=2048).body) == 2048
    with pytest.raises(OutboundError, match="more than 1048576 bytes"):
        request("GET", f"{server}/gzip-bomb")  # the default limit, 1 MiB, once decompressed
    settings.OUTBOUND_MAX_BYTES = 2047
    with pytest.raises(OutboundError, match="more than 2047 bytes"):
        request("GET", f"{server}/big-undeclared")


def test_a_redirect_is_returned_not_followed(server, loopback_allowed):
    response = request("GET", f"{server}/redirect")
    assert response.status == 302
    assert response.headers["location"] == METADATA_URL


def test_an_answer_that_is_not_json_is_a_protocol_error(server, loopback_allowed):
    response = request("GET", f"{server}/not-json")
    assert response.body == b"{not json"
    with pytest.raises(OutboundError) as failed:
        response.json()
    assert failed.value.kind == "protocol"


def test_a_refused_connection_is_a_connection_error(loopback_allowed):
    with pytest.raises(OutboundError) as failed:
        request("GET", f"http://127.0.0.1:{_free_port()}/hook")
    assert failed.value.kind == "connection"
    assert str(failed.value) == "could not connect to 127.0.0.1"


def test_https_to_a_server_that_speaks_no_tls_is_a_tls_error(server, loopback_allowed):
    with pytest.raises(OutboundError) as failed:
        request("GET", server.replace("http://", "https://") + "/echo?token=secret")
    assert failed.value.kind == "tls"
    assert "secret" not in str(failed.value)


# --- The proxy -------------------------------------------------------------------------------


def test_calls_go_through_the_proxy_when_one_is_set(server, proxy, loopback_allowed, settings):
    settings.OUTBOUND_PROXY = proxy.url
    response = request("POST", f"{server}/echo?x=1", body=b"through")
    assert response.status == 200
    assert (response.json()["body"], response.json()["path"]) == ("through", "/echo?x=1")
    assert proxy.seen == [f"{server}/echo?x=1"]


def test_the_destination_is_still_checked_before_the_proxy_is_asked(server, proxy, settings):
    settings.OUTBOUND_PROXY = proxy.url
    with pytest.raises(OutboundRefused, match="127.0.0.1 is a loopback address"):
        request("GET", f"{server}/echo")
    assert proxy.seen == []


# --- Settings --------------------------------------------------------------------------------


def test_the_settings_are_read_from_the_environment_and_bad_values_refused(monkeypatch):
    monkeypatch.setenv("MAPIDEAS_OUTBOUND_ALLOW", " 127.0.0.1, 10.0.0.0/8 ,fd00::/8")
    assert project_settings._outbound_allowed_networks() == (
        "127.0.0.1/32",
        "10.0.0.0/8",
        "fd00::/8",
    )
    for bad in ("10.0.0.1/8", "intranet", "10.0.0.0/33"):
        monkeypatch.setenv("MAPIDEAS_OUTBOUND_ALLOW", bad)
        with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_OUTBOUND_ALLOW"):
            project_settings._outbound_allowed_networks()
    monkeypatch.setenv("MAPIDEAS_OUTBOUND_PROXY", "socks5://proxy.example:1080")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_OUTBOUND_PROXY"):
        project_settings._outbound_proxy()
    monkeypatch.setenv("MAPIDEAS_OUTBOUND_DEADLINE", "0")
    with pytest.raises(ImproperlyConfigured, match="MAPIDEAS_OUTBOUND_DEADLINE"):
        project_settings._outbound_seconds("MAPIDEAS_OUTBOUND_DEADLINE", 30)
    monkeypatch.delenv("MAPIDEAS_OUTBOUND_DEADLINE")
    assert project_settings._outbound_seconds("MAPIDEAS_OUTBOUND_DEADLINE", 30) == 30
