"""The Host and token rules every `otel-ai serve` port applies (otel_ai.serve.access)."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_ai.cli.serve import UsageError, add_arguments, resolve_config
from otel_ai.serve.access import COOKIE_NAME, Access, host_name, is_loopback

TOKEN = "s3cret-token-0123456789"


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8200", "localhost"),
        ("LOCALHOST", "localhost"),
        ("127.0.0.1:4318", "127.0.0.1"),
        ("[::1]:8200", "::1"),
        ("[::1]", "::1"),
        ("example.com.:80", "example.com"),
        ("", None),
        ("::1", None),
        ("[::1", None),
        ("[nothost]:1", None),
        ("a b", None),
        ("user@host", None),
        ("host:port", None),
        ("host:1234567", None),
        ("host:", None),
    ],
)
def test_host_name(header: str, name: str | None) -> None:
    assert host_name(header) == name


@given(st.text(max_size=80))
def test_host_name_never_raises(text: str) -> None:
    result = host_name(text)
    assert result is None or (result == result.lower() and result == result.strip())


def test_loopback_default_refuses_a_rebound_name() -> None:
    access = Access.for_bind("127.0.0.1")
    assert access.host_allowed("127.0.0.1:8200")
    assert access.host_allowed("localhost:8200")
    assert access.host_allowed("app.localhost:8200")
    assert access.host_allowed("[::1]:8200")
    assert access.host_allowed(None)  # no Host at all: not a browser
    assert not access.host_allowed("attacker.example:8200")
    assert not access.host_allowed("127.0.0.1.attacker.example")
    assert not access.host_allowed("")


def test_bound_address_and_extra_names() -> None:
    access = Access.for_bind("10.1.2.3", extra_hosts=["otel.internal", "Dash.Example:9000"])
    assert access.host_allowed("10.1.2.3:8200")
    assert access.host_allowed("otel.internal")
    assert access.host_allowed("dash.example:8200")
    assert not access.host_allowed("10.1.2.4")
    assert Access.for_bind("127.0.0.1", extra_hosts=["*"]).host_allowed("anything.example")


def test_wildcard_bind_adds_this_machines_names() -> None:
    import socket

    access = Access.for_bind("0.0.0.0")
    assert access.host_allowed(socket.gethostname())
    assert not access.host_allowed("attacker.example")


def test_token_bearer_and_cookie() -> None:
    access = Access(token=TOKEN)
    assert access.token_ok(f"Bearer {TOKEN}")
    assert access.token_ok(f"bearer  {TOKEN} ")
    assert not access.token_ok(f"Bearer {TOKEN}x")
    assert not access.token_ok(f"Basic {TOKEN}")
    assert not access.token_ok(None)
    assert access.token_ok(cookie=f"a=b; {COOKIE_NAME}={TOKEN}")
    assert not access.token_ok(cookie=f"{COOKIE_NAME}=nope")
    assert not access.token_ok(cookie='bad"cookie')
    assert access.query_token_ok(TOKEN)
    assert not access.query_token_ok(TOKEN[:-1])
    assert Access().token_ok(None)  # no token configured
    assert not Access().query_token_ok(TOKEN)


def test_loopback_names() -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.com")


def _config(argv: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return resolve_config(parser.parse_args(argv), env or {})


def test_cli_token_flag_variable_and_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert _config(["--db", str(tmp_path / "a.db")]).access.token is None
    assert _config(["--db", str(tmp_path / "a.db"), "--token", TOKEN]).access.token == TOKEN
    assert _config(["--db", str(tmp_path / "a.db")], {"OTEL_AI_SERVE_TOKEN": TOKEN}).access.token == TOKEN
    auto = _config(["--db", str(tmp_path / "a.db"), "--token", "auto"]).access.token
    assert auto is not None and len(auto) >= 32
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert _config(["--db", str(tmp_path / "a.db"), "--token-file", str(token_file)]).access.token == TOKEN
    with pytest.raises(UsageError, match="--token"):
        _config(["--db", str(tmp_path / "a.db"), "--token", "short"])
    with pytest.raises(UsageError, match="both"):
        _config(["--db", str(tmp_path / "a.db"), "--token", TOKEN, "--token-file", str(token_file)])
    with pytest.raises(UsageError, match="--token-file"):
        _config(["--db", str(tmp_path / "a.db"), "--token-file", str(tmp_path / "missing")])


def test_cli_allowed_hosts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    access = _config(["--db", str(tmp_path / "a.db"), "--allowed-host", "otel.internal, dash.example"]).access
    assert access.host_allowed("otel.internal:8200") and access.host_allowed("dash.example")
    assert not access.host_allowed("other.example")
    with pytest.raises(UsageError, match="--allowed-host"):
        _config(["--db", str(tmp_path / "a.db"), "--allowed-host", "bad host"])
