"""Where webhooks may go, and the HTTP client that takes them there.

A webhook URL is ``http`` or ``https`` with a host and no user info. Unless
``LEDGER_WEBHOOK_ALLOW_PRIVATE`` is true, the host must resolve only to
global addresses: private, loopback, link-local, shared (CGNAT), multicast,
reserved and unspecified ones are refused, IPv4-mapped IPv6 included. The
check runs at registration and again on every new connection, after DNS
resolution, and the connection goes to the very address checked (a name
that resolves differently the second time cannot reach inside). Redirects
are not followed.

``Sender`` posts with keep-alive connections per origin (``http.client``);
each connect and each read waits at most ``timeout`` seconds.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2000
_CLOSED = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
READ_AT_MOST = 64 * 1024  # of a receiver's answer; the rest is not read


class EgressRefused(Exception):
    """A URL (or the address its host resolves to) that webhooks may not use."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def parse_url(url: str) -> Target:
    """The parts of a webhook URL; ``EgressRefused`` saying what is wrong."""
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        raise EgressRefused("invalid_webhook_url", "the URL is too long or has blanks")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EgressRefused("invalid_webhook_url", "a webhook URL must be http:// or https://")
    if not parts.hostname:
        raise EgressRefused("invalid_webhook_url", "a webhook URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise EgressRefused("invalid_webhook_url", "a webhook URL may not carry user info")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EgressRefused("invalid_webhook_url", "the URL's port is not valid") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path)


def is_public(address: str) -> bool:
    """Whether an address is one webhooks may reach without the private allowance."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to for ``host``; refused if any of its addresses is not public."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        message = f"{host} does not resolve: {error}"
        raise EgressRefused("webhook_url_unresolvable", message) from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise EgressRefused("webhook_url_unresolvable", f"{host} has no address")
    private = [a for a in addresses if not is_public(a)]
    if private and not allow_private:
        raise EgressRefused(
            "webhook_url_private",
            f"{host} resolves to a private, loopback or link-local address ({private[0]}); "
            "set LEDGER_WEBHOOK_ALLOW_PRIVATE=true to allow it",
        )
    return addresses[0]


def check_url(url: str, allow_private: bool) -> Target:
    """A URL fit to register: well formed and, unless allowed otherwise, public."""
    target = parse_url(url)
    if not allow_private:
        resolve(target.host, target.port, allow_private)
    return target


class _Connection(http.client.HTTPConnection):
    """Connects to the address its host resolves to, once checked."""

    allow_private = False

    def connect(self) -> None:
        address = resolve(self.host, self.port, self.allow_private)
        self.sock = socket.create_connection((address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _TLSConnection(http.client.HTTPSConnection):
    """``_Connection`` with TLS to the host's name (certificate and SNI)."""

    allow_private = False

    def connect(self) -> None:
        address = resolve(self.host, self.port, self.allow_private)
        sock = socket.create_connection((address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Outcome:
    """A receiver's answer (``status``), or why there was none (``error``)."""

    status: int | None
    error: str = ""


class Sender:
    """Posts webhooks, reusing idle connections per origin."""

    def __init__(self, *, allow_private: bool, timeout: float) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        try:
            target = parse_url(url)
        except EgressRefused as refused:
            return Outcome(None, refused.message)
        reused = self._take(target)
        if reused is not None:
            outcome, stale = self._send(reused, target, body, headers)
            if not stale:
                return outcome
            # The receiver had closed this idle connection: once more on a new one.
        return self._send(self._connect(target), target, body, headers)[0]

    def _send(
        self,
        conn: http.client.HTTPConnection,
        target: Target,
        body: bytes,
        headers: Mapping[str, str],
    ) -> tuple[Outcome, bool]:
        """The outcome, and whether the connection was found closed before any answer."""
        try:
            conn.request("POST", target.path, body=body, headers=dict(headers))
            response = conn.getresponse()
            response.read(READ_AT_MOST)
        except EgressRefused as refused:
            conn.close()
            return Outcome(None, f"refused: {refused.message}"), False
        except (OSError, http.client.HTTPException) as error:
            conn.close()
            stale = isinstance(error, _CLOSED)
            return Outcome(None, _describe(error)), stale
        if response.isclosed() and not response.will_close:
            self._put(target, conn)
        else:
            conn.close()
        return Outcome(response.status), False

    def _connect(self, target: Target) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if target.scheme == "https":
            conn = _TLSConnection(target.host, target.port, timeout=self.timeout,
                                  context=self._tls)  # fmt: skip
        else:
            conn = _Connection(target.host, target.port, timeout=self.timeout)
        conn.allow_private = self.allow_private
        return conn

    def _take(self, target: Target) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(target.origin)
            return idle.pop() if idle else None

    def _put(self, target: Target, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(target.origin, []).append(conn)

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for conn in idle:
                    conn.close()
            self._idle.clear()


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]
