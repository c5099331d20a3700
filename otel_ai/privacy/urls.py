"""URLs for display and for connecting: the credentials in their userinfo never printed, never in a host.

``scheme://user:password@host`` is how OTLP endpoints, the budget server and database URLs carry
Basic credentials. Printing such a URL prints the password; handing it to ``urllib`` makes the
userinfo part of the host name ("Name or service not known"). :func:`display_url` is the one way
a URL is printed (``user:***@host``; a user name alone, often a token, becomes ``***@host``),
:func:`mask_urls` does the same to every URL inside a line of text (an error message that quotes
one), and :func:`split_credentials` gives the URL to connect to and the ``Authorization`` header
its userinfo stands for.

Standard library only, and nothing here raises: a URL that does not parse is masked by pattern.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["MASK", "display_url", "mask_urls", "split_credentials"]

MASK = "***"
# "://userinfo@" anywhere in a text: the userinfo runs to the last "@" before the path, query or
# fragment (a password may hold an unescaped "@"), so "http://host/a@b" (an "@" in the path) is
# not taken for credentials. Matches start only at "://", so a long text is scanned once.
_USERINFO_RE = re.compile(r"://(?P<userinfo>[^\s/?#\"'<>\[\]]*)@")


def _masked_userinfo(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    return f"{user}:{MASK}" if colon else MASK


def display_url(url: str) -> str:
    """``url`` safe to print: the password in its userinfo (or a bare user name) replaced by ``***``.

    ``user:password@host:port`` without a scheme (as a gRPC endpoint may be written) is masked
    too. Anything without userinfo comes back as it was (the same object). Never raises.
    """
    if not isinstance(url, str) or "@" not in url:
        return url
    if "://" not in url:
        authority, slash, rest = url.partition("/")
        userinfo, at, host = authority.rpartition("@")
        if not at or any(ch.isspace() for ch in authority):
            return url
        return f"{_masked_userinfo(userinfo)}@{host}{slash}{rest}"
    return mask_urls(url)


def mask_urls(text: str) -> str:
    """``text`` with the userinfo of every ``scheme://user:password@`` in it masked (see :func:`display_url`)."""
    if not isinstance(text, str) or "://" not in text or "@" not in text:
        return text
    return _USERINFO_RE.sub(lambda m: f"://{_masked_userinfo(m['userinfo'])}@", text)


def split_credentials(url: str) -> tuple[str, str | None]:
    """(``url`` without its userinfo, the ``Authorization: Basic`` value it stands for, or None).

    The user name and password are percent-decoded (``p%40ss`` is ``p@ss``), as clients such as
    ``requests`` and ``curl`` do. A URL without userinfo, or one that does not parse, is returned
    unchanged with None. Never raises.
    """
    try:
        parts = urlsplit(url)
        if "@" not in parts.netloc:
            return url, None
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
        return urlunsplit(parts._replace(netloc=hostport)), f"Basic {token}"
    except (ValueError, TypeError, AttributeError):
        return url, None
