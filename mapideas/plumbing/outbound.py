"""The one way MapIdeas calls other servers over HTTP (webhooks, Open311 back offices, service
definitions, an identity provider), safe against server-side request forgery.

A URL a city's staff or a client typed could name the server's own neighbourhood: a database
on 127.0.0.1, an admin page on the office network, the cloud's metadata service on
169.254.169.254 (which hands out credentials). So:

- only `http` and `https`, never a user name or password in the URL;
- the host is resolved once, and every address it resolves to must be a public one, or in
  `OUTBOUND_ALLOWED_NETWORKS` (`MAPIDEAS_OUTBOUND_ALLOW`): loopback, private, link-local,
  unspecified, multicast, reserved and shared (carrier-grade NAT) addresses are refused,
  also when written as IPv6 forms of an IPv4 address (`::ffff:127.0.0.1`, NAT64, 6to4).
  The check is on the resolved addresses, so `localhost`, `2130706433` and `0x7f.1` are
  caught as what they are;
- the connection goes to an address that was checked (never resolved again: a name that
  answers a public address to the check and 127.0.0.1 to the connection, DNS rebinding,
  gets nowhere), with the name in the Host header and in TLS (SNI, and the certificate is
  verified against the name);
- redirects are not followed (see `request`);
- time-outs to connect and between bytes, a deadline for the whole call, and a cap on the
  answer's size, so a slow or hostile server cannot hold a worker or fill its memory.

`MAPIDEAS_OUTBOUND_PROXY` sends every call through a forward proxy; the destination is still
checked here first, but the proxy resolves the name itself, so against DNS rebinding it is the
proxy's own rules that hold (docs/operations/outbound-calls.md).

Callers get an `OutboundResponse`, an `OutboundRefused` (the URL may not be called: a form
shows its message) or an `OutboundError` (the call failed; `.kind` says how).
"""

import contextlib
import contextvars
import http.client
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Timeout, make_headers, parse_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ErrorKind = Literal["timeout", "connection", "too_large", "tls", "protocol"]

ALLOW_VARIABLE = "MAPIDEAS_OUTBOUND_ALLOW"
# Bytes read from the socket at a time: small enough that the size cap is checked often.
_CHUNK = 64 * 1024


class OutboundRefused(ValueError):
    """The URL may not be called; the message says why, in plain English, for a form."""


class OutboundError(Exception):
    """The call failed. `kind` is one of "timeout", "connection", "too_large", "tls",
    "protocol"; the message is short and carries no URL path, query or credentials."""

    def __init__(self, kind: ErrorKind, message: str, *, reached: bool = True) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        # False when the request cannot have reached the server (no connection was made):
        # a POST that failed so is safe to send again. True when it may have arrived.
        self.reached = reached


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are no text
            raise OutboundError("protocol", "the answer is not valid JSON") from None


def _user_agent() -> str:
    try:
        return f"MapIdeas/{metadata.version('mapideas')}"
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "MapIdeas"


USER_AGENT = _user_agent()


# --- Which addresses are refused -------------------------------------------------------------

_RESERVED = "a reserved address"
_PRIVATE = "a private address"
_V4_RANGES: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(network), label)
    for network, label in (
        ("0.0.0.0/8", "an unspecified address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", _PRIVATE),
        ("172.16.0.0/12", _PRIVATE),
        ("192.168.0.0/16", _PRIVATE),
        ("100.64.0.0/10", "a shared address (carrier-grade NAT)"),
        ("169.254.169.254/32", "a link-local address (the cloud metadata service)"),
        ("169.254.0.0/16", "a link-local address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", _RESERVED),  # and 255.255.255.255, broadcast
        ("192.0.0.0/24", _RESERVED),  # IETF protocol assignments
        ("192.0.2.0/24", _RESERVED),  # documentation
        ("198.51.100.0/24", _RESERVED),
        ("203.0.113.0/24", _RESERVED),
        ("198.18.0.0/15", _RESERVED),  # benchmarking
        ("192.88.99.0/24", _RESERVED),  # the old 6to4 relays
    )
)
_V6_RANGES: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), label)
    for network, label in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("fe80::/10", "a link-local address"),
        ("fc00::/7", _PRIVATE),  # unique local addresses
        ("fec0::/10", _PRIVATE),  # site-local, deprecated but still routed by some
        ("64:ff9b:1::/48", _PRIVATE),  # NAT64 for local use
        ("ff00::/8", "a multicast address"),
    )
)
# IPv6 addresses that carry an IPv4 one: the connection may end at that IPv4 address, so it
# is the one judged. (IPv4-compatible ::a.b.c.d is deprecated; some stacks still map it.)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address in _V4_COMPATIBLE and int(address) > 1:  # not :: nor ::1
        return "IPv4-compatible", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _refused_kind(address: IPAddress) -> str | None:
    """What kind of address this is, when it is one MapIdeas does not call; None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            form, ipv4 = embedded
            kind = _refused_kind(ipv4)
            return None if kind is None else f"the {form} form of {ipv4}, {kind}"
        for network6, label in _V6_RANGES:
            if address in network6:
                return label
    else:
        for network4, label in _V4_RANGES:
            if address in network4:
                return label
    # Whatever else the registries set aside (documentation, discard, ORCHID...).
    return None if address.is_global else _RESERVED


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    # Read at each call, so a test's settings override (or a reload) takes effect.
    return [
        ipaddress.ip_network(entry, strict=False) for entry in settings.OUTBOUND_ALLOWED_NETWORKS
    ]


def _is_allowed(
    address: IPAddress, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)):
        candidates.append(embedded[1])  # allowing 127.0.0.1 allows ::ffff:127.0.0.1 too
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in allowed
    )


def _check_addresses(host: str, addresses: list[str]) -> None:
    """Refuse unless every address `host` resolved to is public or allowed: a name with one
    public and one private address could be connected to either."""
    allowed = _allowed_networks()
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    for text in addresses:
        address = ipaddress.ip_address(text)
        kind = _refused_kind(address)
        if kind is None or _is_allowed(address, allowed):
            continue
        if address == literal:
            where = f"{host} is"
        else:
            shown = text.split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) is no part of it
            where = f"{host} resolves to {shown},"
        raise OutboundRefused(f"{where} {kind}; allow it in {ALLOW_VARIABLE} to call it")


# --- The URL ---------------------------------------------------------------------------------


class _Malformed(Exception):
    pass


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # lower-case, ASCII (IDNA), IPv6 without brackets
    port: int
    request_uri: str  # path and query; the fragment is never sent

    @property
    def authority(self) -> str:
        """host[:port] as the Host header and a proxy's absolute URL write it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _parse(url: str) -> _Target:
    """The URL's parts; OutboundRefused for what policy forbids, _Malformed for what is not a
    URL at all."""
    if not isinstance(url, str) or not url.strip():
        raise _Malformed("the URL is empty")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise _Malformed("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a bad port, brackets around something that is no IPv6 address
        raise _Malformed(f"the URL cannot be read ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        named = f"{scheme}:" if scheme else "a URL without a scheme"
        raise OutboundRefused(f"only http and https URLs may be called, not {named}")
    if "@" in parts.netloc:
        raise OutboundRefused(
            "the URL carries a user name or password (user:password@host); "
            "send credentials in a header instead"
        )
    if "\\" in parts.netloc:
        raise _Malformed("the URL's host contains a backslash")
    host = (parts.hostname or "").rstrip(".")  # localhost. is localhost
    if not host:
        raise _Malformed("the URL has no host")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _Malformed("the URL's host is not a valid domain name") from None
    if port == 0:
        raise _Malformed("the URL's port is 0")
    path = parts.path or "/"
    return _Target(
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        request_uri=f"{path}?{parts.query}" if parts.query else path,
    )


def _resolve(target: _Target) -> list[str]:
    """Every address the host resolves to, in the resolver's order, each once. Raises
    socket.gaierror (or UnicodeError) when it resolves to none."""
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str) -> None:
    """Raise OutboundRefused, saying why, unless MapIdeas may call `url`: http or https, no
    user name or password, a host that resolves, and every address it resolves to public or
    allowed by MAPIDEAS_OUTBOUND_ALLOW. For forms, when a URL is entered; `request` checks
    again when it calls, since what a name resolves to changes."""
    try:
        target = _parse(url)
    except _Malformed as exc:
        raise OutboundRefused(str(exc)) from None
    try:
        addresses = _resolve(target)
    except (OSError, UnicodeError):
        raise OutboundRefused(f"{target.host} does not resolve to any address") from None
    _check_addresses(target.host, addresses)


# --- The deadline ----------------------------------------------------------------------------


class _Deadline:
    """The whole call's deadline. The time-outs of urllib3 (and of sockets) bound each wait
    for a byte, so a server sending one byte a second never trips them; this shuts down the
    call's connections when the deadline passes, wherever the call is waiting: the TLS
    handshake, the headers or the body."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.name = "outbound-deadline"
        self._timer.start()

    def remaining(self) -> float:
        return self._at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor, ours to close: shutdown() acts on the connection
        # whichever descriptor names it, and ours stays valid when the ssl module detaches
        # the original to wrap it, or urllib3 closes it.
        own = sock.dup()
        with self._lock:
            self._sockets.append(own)
            if self.expired:
                self._shut(own)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "outbound_deadline", default=None
)


class _WatchedHTTPConnection(HTTPConnection):
    # _new_conn opens the TCP connection (to the server, or to the proxy) before any TLS or
    # proxy tunnel; it is where urllib3 creates the socket in 1.x and 2.x alike.
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        if (deadline := _deadline.get()) is not None:
            deadline.watch(sock)
        return sock


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        if (deadline := _deadline.get()) is not None:
            deadline.watch(sock)
        return sock


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


@contextlib.contextmanager
def _within(seconds: float) -> Iterator[_Deadline]:
    deadline = _Deadline(seconds)
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)
        deadline.close()


# --- The call --------------------------------------------------------------------------------


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> OutboundResponse:
    """Call `url` and return its answer, whatever its status.

    The URL is checked as by `check_url` first (OutboundRefused). `headers` are sent with
    `User-Agent: MapIdeas/<version>` unless they name another, and the URL's host in `Host`
    whatever they say. `timeout` replaces both OUTBOUND_CONNECT_TIMEOUT and
    OUTBOUND_READ_TIMEOUT for this call; OUTBOUND_DEADLINE still bounds the whole of it. An
    answer longer than `max_bytes` (OUTBOUND_MAX_BYTES) is not kept:
    OutboundError(kind="too_large").

    Redirects are returned as they are (a 3xx with its Location), never followed: the new
    URL would need the same check, and a caller that wants to follow one can call
    `request` again with it, checked like any other.

    OutboundError for a call that fails: "timeout" (connecting, waiting for a byte, or past
    the deadline), "connection" (refused, reset, a name that no longer resolves, the proxy),
    "tls" (handshake or certificate), "too_large", "protocol" (not HTTP, or a URL that is no
    URL at all).
    """
    try:
        target = _parse(url)
    except _Malformed as exc:
        raise OutboundError("protocol", str(exc)) from None
    try:
        addresses = _resolve(target)
    except (OSError, UnicodeError):
        raise OutboundError(
            "connection", f"{target.host} does not resolve", reached=False
        ) from None
    _check_addresses(target.host, addresses)

    connect_timeout = timeout if timeout is not None else settings.OUTBOUND_CONNECT_TIMEOUT
    read_timeout = timeout if timeout is not None else settings.OUTBOUND_READ_TIMEOUT
    limit = max_bytes if max_bytes is not None else settings.OUTBOUND_MAX_BYTES
    sent_headers = urllib3.HTTPHeaderDict({"User-Agent": USER_AGENT})
    sent_headers.update(headers or {})
    # The name the URL gave, not the address connected to: virtual hosts, and what a
    # server's logs and signature checks expect.
    sent_headers["Host"] = target.authority

    with _within(settings.OUTBOUND_DEADLINE) as deadline:
        late = OutboundError(
            "timeout", f"{target.host} gave no complete answer within {deadline.seconds:g} s"
        )
        try:
            if settings.OUTBOUND_PROXY:
                response = _through_proxy(
                    target, method, body, sent_headers, connect_timeout, read_timeout, limit
                )
            else:
                response = _direct(
                    target, addresses, method, body, sent_headers, connect_timeout,
                    read_timeout, limit,
                )  # fmt: skip
        except OutboundError:
            raise
        except Exception as exc:
            # Cut by the deadline: whatever the broken connection looked like to urllib3.
            if deadline.expired:
                raise late from exc
            if isinstance(exc, HTTPError):
                raise _error(target, exc) from exc
            raise
        # A body that ends when the connection closes (no Content-Length) ends "normally"
        # when the deadline shuts the connection: cut short, not complete.
        if deadline.expired:
            raise late
        return response


def _timeout(connect: float, read: float) -> Timeout:
    remaining = _deadline_remaining()
    return Timeout(connect=min(connect, remaining), read=min(read, remaining))


def _deadline_remaining() -> float:
    deadline = _deadline.get()
    remaining = deadline.remaining() if deadline is not None else float("inf")
    if remaining <= 0:
        raise OutboundError("timeout", "the deadline passed before the call could start")
    return remaining


def _direct(
    target: _Target,
    addresses: list[str],
    method: str,
    body: bytes | None,
    headers: urllib3.HTTPHeaderDict,
    connect_timeout: float,
    read_timeout: float,
    limit: int,
) -> OutboundResponse:
    """Connect to the checked addresses themselves, in the resolver's order, until one
    accepts the connection: the name is never resolved again."""
    failure: HTTPError | None = None
    for address in addresses:
        pool: HTTPConnectionPool
        if target.scheme == "https":
            # The certificate is verified against the name, by the ssl module (SNI and
            # check_hostname on server_hostname), with the system's trusted authorities.
            pool = _HTTPSPool(
                address, target.port, server_hostname=target.host, cert_reqs="CERT_REQUIRED",
                maxsize=1, retries=False,
            )  # fmt: skip
        else:
            pool = _HTTPPool(address, target.port, maxsize=1, retries=False)
        try:
            response = pool.urlopen(
                method, target.request_uri, body=body, headers=headers,
                timeout=_timeout(connect_timeout, read_timeout), retries=False, redirect=False,
                assert_same_host=False, preload_content=False,
            )  # fmt: skip
            return _read(target, response, limit)
        except (NewConnectionError, ConnectTimeoutError) as exc:
            # Nothing was sent: the next address may answer (an IPv6 address on a host
            # without IPv6, one server of several down).
            failure = exc
        finally:
            pool.close()
    assert failure is not None  # getaddrinfo never answers an empty list
    raise failure


def _through_proxy(
    target: _Target,
    method: str,
    body: bytes | None,
    headers: urllib3.HTTPHeaderDict,
    connect_timeout: float,
    read_timeout: float,
    limit: int,
) -> OutboundResponse:
    """Through MAPIDEAS_OUTBOUND_PROXY: an absolute URL for http, a CONNECT tunnel for https
    (the certificate still verified against the name, here). The proxy resolves the name."""
    proxy = parse_url(settings.OUTBOUND_PROXY)
    proxy_headers: dict[str, str] = {}
    if proxy.auth:
        proxy_headers = make_headers(proxy_basic_auth=unquote(proxy.auth))
        proxy = proxy._replace(auth=None)
    manager = urllib3.ProxyManager(
        proxy.url, proxy_headers=proxy_headers, cert_reqs="CERT_REQUIRED", num_pools=1,
        maxsize=1, retries=False,
    )  # fmt: skip
    # Its pools open their connections where the deadline sees them.
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    try:
        response = manager.urlopen(
            method, f"{target.scheme}://{target.authority}{target.request_uri}", body=body,
            headers=headers, timeout=_timeout(connect_timeout, read_timeout), retries=False,
            redirect=False, preload_content=False,
        )  # fmt: skip
        return _read(target, response, limit)
    finally:
        manager.clear()


def _read(target: _Target, response: Any, limit: int) -> OutboundResponse:
    """The answer, read in chunks, and no further than `limit` bytes once decompressed
    (urllib3 2.7+ decompresses no more than the amount asked for)."""
    try:
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise _too_large(target, limit)
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read(min(_CHUNK, limit + 1 - size)):
            size += len(chunk)
            if size > limit:
                raise _too_large(target, limit)
            chunks.append(chunk)
        return OutboundResponse(
            status=response.status,
            headers=MappingProxyType(
                {name.lower(): response.headers[name] for name in response.headers}
            ),
            body=b"".join(chunks),
        )
    finally:
        response.release_conn()
        response.close()


def _too_large(target: _Target, limit: int) -> OutboundError:
    return OutboundError("too_large", f"{target.host} answered more than {limit} bytes")


def _error(target: _Target, exc: HTTPError) -> OutboundError:
    """An urllib3 failure as an OutboundError of the right kind, with a message of our own
    (urllib3's name the URL, which may carry a token in its query)."""
    host = target.host
    if isinstance(exc, ProxyError):
        return OutboundError("connection", "the outbound proxy failed or refused the call")
    if isinstance(exc, SSLError):
        # The request is sent only after the handshake: it cannot have arrived.
        return OutboundError("tls", f"the TLS handshake with {host} failed", reached=False)
    # NewConnectionError is a subclass of ConnectTimeoutError (urllib3's history): first.
    if isinstance(exc, NewConnectionError):
        return OutboundError("connection", f"could not connect to {host}", reached=False)
    if isinstance(exc, ConnectTimeoutError):
        return OutboundError("timeout", f"could not connect to {host} in time", reached=False)
    if isinstance(exc, ReadTimeoutError):
        return OutboundError("timeout", f"{host} did not answer in time")
    if isinstance(exc, DecodeError):
        return OutboundError("protocol", f"{host}'s answer could not be decoded")
    if isinstance(exc, ProtocolError):
        cause = exc.args[1] if len(exc.args) > 1 else exc.__context__
        # Reset, closed before it answered, or closed before the Content-Length it announced.
        if isinstance(cause, OSError | http.client.IncompleteRead):
            return OutboundError("connection", f"the connection to {host} broke off")
        return OutboundError("protocol", f"{host} did not answer in HTTP")
    return OutboundError("connection", f"the call to {host} failed")
