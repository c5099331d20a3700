"""Who may talk to `otel-ai serve`: the Host names it answers to and the optional token.

One `Access` is built from the flags at start-up and shared by the API, the dashboard and both
OTLP receivers, so every port applies the same two rules:

* **Host header.** A browser page on another site can point a DNS name it controls at 127.0.0.1
  ("DNS rebinding") and then read a loopback service as if it were its own origin. The request
  still carries that foreign name in ``Host``, so a server that answers only the names it is
  really reached by (loopback names, the bound address, `--allowed-host` additions) is immune.
  ``*`` in the allowed names turns the check off.
* **Token.** With `--token` (or `OTEL_AI_SERVE_TOKEN`, or `--token-file`), every request must carry
  it: ``Authorization: Bearer <token>`` (what OTLP exporters send through their ``headers``
  setting) or, for the dashboard in a browser, the cookie set by the one-time ``?token=`` URL
  printed at start. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote, unquote

__all__ = [
    "COOKIE_NAME",
    "LOOPBACK_NAMES",
    "TOKEN_QUERY",
    "Access",
    "cookie_header",
    "cookie_token",
    "host_name",
    "is_loopback",
    "new_token",
]

COOKIE_NAME: Final = "otel_ai_token"
TOKEN_QUERY: Final = "token"  # the one-time URL's query parameter
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS: Final = frozenset({"0.0.0.0", "::", ""})
_COOKIE_SAFE: Final = "-_.~!$&'()*+/:=?@[]^`{|}"  # cookie-octets that need no encoding (not ; , " \\ or space)


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str | None) -> str | None:
    """The name in a ``Host`` header (or gRPC ``:authority``) without its port, lower-cased.

    ``[::1]:8200`` → ``::1``, ``Example.COM.:80`` → ``example.com``; None for a header that is not
    one valid host (empty, spaces, user info, a bad bracket or port).
    """
    if header is None:
        return None
    text = header.strip()
    if not text or any(c in text for c in " \t@/\\?#,"):
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[1:end], text[end + 1 :]
        try:
            ipaddress.IPv6Address(name.split("%", 1)[0])
        except ValueError:
            return None
    else:
        if text.count(":") > 1:  # a bare IPv6 address is not a valid Host header
            return None
        name, sep, port = text.partition(":")
        rest = sep + port
    if rest and (not rest.startswith(":") or not rest[1:].isdigit() or len(rest) > 6):
        return None
    name = name.lower().rstrip(".")
    return name or None


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe), for ``--token auto``."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Access:
    """The allowed Host names and the token (None: no token asked)."""

    allowed_hosts: frozenset[str] = field(default_factory=lambda: LOOPBACK_NAMES)
    token: str | None = None

    @classmethod
    def for_bind(cls, bind_host: str, *, extra_hosts: Iterable[str] = (), token: str | None = None) -> Access:
        """Loopback names, the bound address, and `extra_hosts` (``*`` allows any name).

        Bound to a wildcard address (``0.0.0.0``, ``::``) the server is reached by this machine's
        names and addresses, which cannot all be known: its host name and each interface address
        are added; anything else needs `--allowed-host`.
        """
        names = set(LOOPBACK_NAMES)
        bind = bind_host.strip().strip("[]").lower()
        if bind in _WILDCARDS:
            names.update(_local_names())
        else:
            names.add(bind)
        for extra in extra_hosts:
            value = extra.strip().lower()
            if value == "*":
                names.add("*")
            elif value:
                names.add(host_name(value) or value)
        return cls(allowed_hosts=frozenset(names), token=token or None)

    @property
    def any_host(self) -> bool:
        return "*" in self.allowed_hosts

    def host_allowed(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` (or ``:authority``) may be answered.

        A missing header (HTTP/1.0 clients, raw sockets) is allowed: browsers always send one, and
        DNS rebinding needs a browser.
        """
        if header is None or self.any_host:
            return True
        name = host_name(header)
        if name is None:
            return False
        return name in self.allowed_hosts or name.endswith(".localhost")

    def token_ok(self, authorization: str | None = None, cookie: str | None = None) -> bool:
        """Whether the request carries the token: ``Authorization: Bearer …`` or our cookie.

        True when no token is configured.
        """
        if self.token is None:
            return True
        expected = self.token.encode()
        if authorization:
            scheme, _, credentials = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), expected):
                return True
        if cookie:
            value = cookie_token(cookie)
            if value is not None and hmac.compare_digest(value.encode(), expected):
                return True
        return False

    def query_token_ok(self, value: str | None) -> bool:
        """Whether a one-time URL's ``?token=`` value is the token (False when none is configured)."""
        if self.token is None or not value:
            return False
        return hmac.compare_digest(value.encode(), self.token.encode())


def cookie_header(token: str) -> str:
    """The Set-Cookie value: HttpOnly (no script reads it), SameSite=Strict (no other site sends it).

    The token is percent-encoded (a generated token, URL-safe, is unchanged): a browser keeps a
    cookie value only up to the first ``;`` and does not undo quoting.
    """
    return f"{COOKIE_NAME}={quote(token, safe=_COOKIE_SAFE)}; Path=/; HttpOnly; SameSite=Strict"


def cookie_token(header: str | None) -> str | None:
    """Our cookie's value (percent-decoded) from a ``Cookie`` header, None when absent.

    Parsed by hand, leniently: every app on ``localhost`` shares the browser's cookies for that
    name whatever the port, and one of theirs that `http.cookies` cannot read must not hide ours.
    """
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip() == COOKIE_NAME:
            return unquote(value.strip().strip('"'))
    return None


def _local_names() -> set[str]:
    """This machine's host name and interface addresses (no DNS query: it may hang)."""
    import socket

    names: set[str] = set()
    try:
        hostname = socket.gethostname().lower()
        names.add(hostname)
        names.add(hostname.split(".", 1)[0])
    except OSError:
        pass
    try:
        import psutil

        for addresses in psutil.net_if_addrs().values():
            for address in addresses:
                if address.family in (socket.AF_INET, socket.AF_INET6):
                    names.add(address.address.split("%", 1)[0].lower())
    except Exception:  # psutil missing or the interfaces unreadable: the names above remain
        pass
    return names
