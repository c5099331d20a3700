"""The API port's gate: allowed Host names, the token, and the headers a browser needs, on every response.

`Guard` is plain ASGI middleware around the FastAPI app (it must see every request, also those that
match no route, and it must not buffer streamed exports). In order:

1. **Host.** A request whose ``Host`` is not one the server answers to (`Access.host_allowed`) gets
   421 Misdirected Request with a JSON body saying how to allow the name: this is what defeats DNS
   rebinding from a browser page.
2. **Token** (only when one is configured). ``/api/v1/health`` stays open for liveness probes but then
   answers ``{"status": …}`` only (the handler reads ``scope["otel_ai.authenticated"]``). Every other
   API path (and ``/openapi.json``) needs ``Authorization: Bearer <token>`` or the dashboard's cookie,
   else 401 JSON. A dashboard page visited as ``/?token=<token>`` sets the cookie (HttpOnly,
   SameSite=Strict, Path=/) and redirects to the same path without the token, so it leaves the address
   bar and the history; without a valid cookie a page answers 401 with a small login form that POSTs
   the token to ``/login``. ``/static/…`` (the dashboard's own code and CSS, the same for everyone) is
   open so that the login page has its style sheet.
3. **Headers.** Every response, errors and redirects included, carries a Content-Security-Policy with
   no inline script or style and no framing, ``X-Frame-Options: DENY``, ``Referrer-Policy:
   no-referrer`` and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from otel_ai.serve.access import TOKEN_QUERY, Access, cookie_header

__all__ = ["AUTHENTICATED", "CSP", "HEALTH_PATH", "LOGIN_PATH", "SECURITY_HEADERS", "Guard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTHENTICATED: Final = "otel_ai.authenticated"  # scope key: the request carried the token (or none is set)
HEALTH_PATH: Final = "/api/v1/health"
LOGIN_PATH: Final = "/login"
_OPEN_PREFIXES: Final = ("/static/",)
_API_PATHS: Final = ("/api/", "/openapi.json")
_MAX_LOGIN_BODY: Final = 16 * 1024
logger = logging.getLogger("otel_ai.serve.api")

# data: images only for the favicon (`<link rel="icon" href="data:,">`); Chart.js draws on canvas.
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
)


class Guard:
    """ASGI middleware applying `access` (Host names, token) and the security headers to `app`."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started: list[bool] = []
        send = _with_headers(send, started)
        try:
            await self._gate(scope, receive, send)
        except Exception:
            # Starlette's own 500 page is sent outside this middleware, without the headers: send ours.
            if started:
                raise
            logger.exception("the API failed on %s %s", scope.get("method"), scope.get("path"))
            await _json(send, 500, {"detail": "internal error (logged by the server)"})

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        access = self.access
        if not access.host_allowed(headers.get("host")):
            await _json(send, 421, {"detail": _host_refused(headers.get("host"))})
            return
        path: str = scope.get("path") or "/"
        authenticated = access.token_ok(headers.get("authorization"), headers.get("cookie"))
        scope[AUTHENTICATED] = authenticated
        if access.token is None:
            if path == LOGIN_PATH:
                await _redirect(send, "/")
                return
            await self.app(scope, receive, send)
            return
        if path == LOGIN_PATH:
            await self._login(scope, receive, send)
            return
        if path == HEALTH_PATH or path.startswith(_OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        if path.startswith(_API_PATHS):
            if authenticated:
                await self.app(scope, receive, send)
            else:
                await _json(send, 401, {"detail": "a token is required: send 'Authorization: Bearer <token>' "
                                                  "(the token `otel-ai serve` was started with)"},
                            extra=((b"www-authenticate", b'Bearer realm="otel-ai"'),))
            return
        # a dashboard page
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        offered = [value for key, value in query if key == TOKEN_QUERY]
        if offered:
            rest = urlencode([(key, value) for key, value in query if key != TOKEN_QUERY])
            target = _safe_next(path + (f"?{rest}" if rest else ""))
            if access.query_token_ok(offered[-1]):
                await _redirect(send, target, cookie=access.token)
            else:
                await _login_page(send, target, "That token is not the one this server was started with.")
            return
        if authenticated:
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD"):
            await _login_page(send, _safe_next(path + _query_suffix(scope)))
        else:
            await _json(send, 401, {"detail": "a token is required"})

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /login`` (the form): the token right sets the cookie and redirects to ``next``."""
        if scope.get("method") != "POST":
            await _login_page(send, "/")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > _MAX_LOGIN_BODY:
                await _json(send, 413, {"detail": "the login form is larger than 16 KiB"})
                return
            if not message.get("more_body"):
                break
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        target = _safe_next(fields.get("next") or "/")
        if self.access.query_token_ok(fields.get(TOKEN_QUERY)):
            await _redirect(send, target, cookie=self.access.token)
        else:
            await _login_page(send, target, "That token is not the one this server was started with.")


# -- helpers -----------------------------------------------------------------------------------------------


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (repeated ones: the first; Cookie: joined)."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers") or ():
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie" and name in found:
            found[name] += "; " + value
        else:
            found.setdefault(name, value)
    return found


def _with_headers(send: Send, started: list[bool]) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.append(True)
            present = {name.lower() for name, _ in message.get("headers") or ()}
            message["headers"] = [*(message.get("headers") or ()),
                                  *(item for item in SECURITY_HEADERS if item[0] not in present)]
        await send(message)

    return sender


def _query_suffix(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return f"?{query}" if query else ""


def _safe_next(target: str) -> str:
    """A redirect target on this server only: a path starting with one ``/`` (no ``//host``, no scheme)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _host_refused(host: str | None) -> str:
    shown = (host or "")[:200]
    return (f"this server does not answer to the Host name {shown!r} (a defence against DNS rebinding); "
            "reach it by an allowed name, or start it with --allowed-host NAME")


async def _json(send: Send, status: int, body: dict[str, Any],
                extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"), *extra]})
    await send({"type": "http.response.body", "body": data})


async def _redirect(send: Send, target: str, *, cookie: str | None = None) -> None:
    headers = [(b"location", target.encode("latin-1", "replace")), (b"cache-control", b"no-store"),
               (b"content-length", b"0")]
    if cookie is not None:
        headers.append((b"set-cookie", cookie_header(cookie).encode("latin-1", "replace")))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


_LOGIN_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · otel-ai</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/style.css">
</head>
<body class="login-body">
  <main class="login">
    <h1>otel-ai</h1>
    <p>This server asks for a token. Open the link <code>otel-ai serve</code> printed at start, or paste
    the token (<code>--token</code>, <code>OTEL_AI_SERVE_TOKEN</code> or <code>--token-file</code>) here.</p>
    {error}
    <form method="post" action="/login" id="login-form">
      <label for="token">Token</label>
      <input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
      <input type="hidden" name="next" value="{next}">
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>
"""


async def _login_page(send: Send, target: str, error: str | None = None) -> None:
    text = _LOGIN_PAGE.replace("{next}", html.escape(target, quote=True)).replace(
        "{error}", f'<p class="login-error" role="alert">{html.escape(error)}</p>' if error else "")
    data = text.encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": data})
