"""`otel-ai serve`: local mode, one process with an OTLP receiver (HTTP 4318, gRPC 4317), a store and
the API on ``--port``.

Every flag can also come from ``OTEL_AI_SERVE_<NAME>`` (``--max-db-size`` from
``OTEL_AI_SERVE_MAX_DB_SIZE``); a flag wins over its variable, an empty variable counts as unset.
A bad value prints one line naming the flag or variable and exits 2. SIGINT/SIGTERM stop it
gracefully: no new connections, batches in flight finish and are acknowledged, the store closes.

This module imports nothing heavy at import time: `otel-ai --help` stays fast.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from otel_ai import variables

if TYPE_CHECKING:
    from otel_ai.serve.server import ServeConfig, StoreOpener

__all__ = [
    "ENV_PREFIX",
    "UsageError",
    "add_arguments",
    "default_db_path",
    "main",
    "parse_alert_window",
    "parse_db",
    "parse_duration_days",
    "parse_error_rate",
    "parse_min_calls",
    "parse_port",
    "parse_size",
    "parse_usd_per_hour",
    "resolve_config",
    "run_serve",
]

ENV_PREFIX = "OTEL_AI_SERVE_"
DEFAULT_MAX_REQUEST = "16MiB"
_T = TypeVar("_T")


class UsageError(Exception):
    """A bad flag or variable; the message names it."""


# -- value parsers (each raises ValueError with the reason) ----------------------------------------------


def parse_port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: any free port; the start-up line shows which)."""
    value = text.strip()
    if not value.isdigit() or int(value) > 65535:
        raise ValueError(f"{text!r} is not a port (0-65535)")
    return int(value)


def parse_host(text: str) -> str:
    value = text.strip()
    if not value or any(c.isspace() for c in value) or "/" in value:
        raise ValueError(f"{text!r} is not a host name or address")
    return value.strip("[]")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_DURATION_DAYS = {"s": 1 / 86400, "m": 1 / 1440, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "w": 7.0}
_OFF = frozenset({"none", "off", "forever", "unlimited"})


def parse_duration_days(text: str) -> float | None:
    """``30d``, ``12h``, ``2w``, ``90m`` → days (float); ``none``/``off`` → None (keep everything)."""
    if text.strip().lower() in _OFF:
        return None
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration (use e.g. 30d, 12h, 2w; or none)")
    days = float(match.group(1)) * _DURATION_DAYS[match.group(2).lower()]
    if days <= 0:
        raise ValueError(f"{text!r}: a retention must be longer than zero (or none)")
    return days


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str, *, allow_none: bool = True) -> int | None:
    """``2GB`` (10^9), ``1.5GiB`` (2^30), ``500MB``, ``16MiB``, ``1048576`` → bytes; ``none`` → None."""
    if allow_none and text.strip().lower() in _OFF:
        return None
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (use e.g. 2GB, 500MB, 16MiB, or bytes)")
    unit = match.group(2).lower()
    prefix = unit[:1] if unit[:1] in "kmgt" else ""
    if unit not in {"", "b"} | {f"{p}{s}" for p in "kmgt" for s in ("", "b", "ib")}:
        raise ValueError(f"{text!r} is not a size (use e.g. 2GB, 500MB, 16MiB, or bytes)")
    base = 1024 if unit.endswith("ib") else 1000
    size = int(float(match.group(1)) * base ** _SIZE_POWERS[prefix])
    if size <= 0:
        raise ValueError(f"{text!r}: a size must be more than zero")
    return size


def parse_error_rate(text: str) -> float | None:
    """``0.2`` or ``20%`` → 0.2: alert above this fraction of failed calls; ``none`` → off."""
    value = text.strip().lower()
    if value in _OFF:
        return None
    try:
        rate = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a fraction (0.2) or a percentage (20%)") from None
    if not 0 <= rate < 1:
        raise ValueError(f"{text!r}: an error rate is at least 0 and below 1 (100%)")
    return rate


def parse_usd_per_hour(text: str) -> float | None:
    """``5`` or ``$5`` → 5.0 USD per hour; ``none`` → off."""
    value = text.strip().lower()
    if value in _OFF:
        return None
    try:
        usd = float(value.removeprefix("$").removesuffix("/h"))
    except ValueError:
        raise ValueError(f"{text!r} is not an amount in USD per hour (e.g. 5 or 0.5)") from None
    if not usd > 0 or usd == float("inf"):
        raise ValueError(f"{text!r}: a cost limit must be more than zero (or none)")
    return usd


def parse_alert_window(text: str) -> float:
    """``5m``, ``1h``, ``300s`` → seconds, from 1 minute to 1 day."""
    days = parse_duration_days(text) if text.strip().lower() not in _OFF else None
    if days is None:
        raise ValueError(f"{text!r} is not a duration (use e.g. 5m, 15m, 1h)")
    seconds = days * 86400
    if not 60 <= seconds <= 86400:
        raise ValueError(f"{text!r}: an alert window is from 1m to 1d")
    return round(seconds, 3)


def parse_min_calls(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{text!r} is not a whole number of calls, at least 1")
    return int(value)


def parse_ingest_processes(text: str) -> int:
    value = text.strip().lower()
    if value == "auto":
        return 1 if (os.cpu_count() or 1) >= 2 else 0
    if not value.isdigit() or int(value) > 16:
        raise ValueError(f"{text!r} is not auto or a number of processes from 0 to 16")
    return int(value)


def _parse_request_size(text: str) -> int:
    size = parse_size(text, allow_none=False)
    assert size is not None
    if size < 1024:
        raise ValueError(f"{text!r}: at least 1KiB")
    return size


def parse_token(text: str) -> str | None:
    """A token of at least 16 printable characters without spaces; ``auto`` → a fresh random one;
    ``none`` → no token."""
    value = text.strip()
    if value.lower() in _OFF:
        return None
    if value.lower() == "auto":
        from otel_ai.serve.access import new_token

        return new_token()
    if len(value) < 16 or not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError("a token is at least 16 printable characters without spaces (or auto)")
    return value


def parse_token_file(text: str) -> str | None:
    """The token read from a file (first line, stripped); ``none`` → no file."""
    value = text.strip()
    if value.lower() in _OFF:
        return None
    try:
        with open(os.path.expanduser(value), encoding="utf-8") as handle:
            line = handle.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {value}: {getattr(exc, 'strerror', None) or exc}") from None
    token = parse_token(line)
    if token is None:
        raise ValueError(f"{value} holds no token")
    return token


def parse_allowed_hosts(text: str) -> tuple[str, ...]:
    """Comma-separated host names (or ``*``: any) the server answers to besides the default ones."""
    from otel_ai.serve.access import host_name

    names: list[str] = []
    for part in text.split(","):
        value = part.strip()
        if not value:
            continue
        if value != "*" and host_name(value) is None:
            raise ValueError(f"{value!r} is not a host name")
        names.append(value)
    return tuple(names)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_DB_SCHEMES = ("postgresql", "postgres", "sqlite")


def parse_db(text: str) -> str:
    """A SQLite file path (``~`` expanded, made absolute) or a ``postgresql://`` / ``sqlite:///`` URL."""
    value = text.strip()
    if not value:
        raise ValueError("empty database path")
    match = _SCHEME.match(value)
    if match is None:
        return str(Path(value).expanduser().absolute())
    scheme = match.group(1).lower().split("+", 1)[0]
    if scheme not in _DB_SCHEMES:
        raise ValueError(f"unsupported database URL scheme {match.group(1)!r} (use a SQLite path or postgresql://)")
    return value


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/otel-ai/otel-ai.db``, else the platform's user data directory."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    elif sys.platform == "win32" and env.get("LOCALAPPDATA"):
        base = Path(env["LOCALAPPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path.home() / ".local" / "share"
    return base / "otel-ai" / "otel-ai.db"


# -- options ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Option(Generic[_T]):
    dest: str
    flag: str
    parse: Callable[[str], _T]
    default: str | None  # as text, parsed like a user's value (None: computed)
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.dest.upper()


_OPTIONS: tuple[_Option[Any], ...] = (
    _Option("host", "--host", parse_host, "127.0.0.1", "address for every port (default 127.0.0.1: this machine only)"),
    _Option("allowed_host", "--allowed-host", parse_allowed_hosts, "",
            "more Host names every port answers to, comma-separated (default: loopback names and --host; * any)"),
    _Option("token", "--token", parse_token, "none",
            "require this token on every port (Bearer header, or the dashboard's one-time URL); auto: a random one"),
    _Option("token_file", "--token-file", parse_token_file, "none", "read the token from this file"),
    _Option("port", "--port", parse_port, "8200", "API and dashboard port (default 8200)"),
    _Option("otlp_http_port", "--otlp-http-port", parse_port, "4318", "OTLP/HTTP port (default 4318)"),
    _Option("otlp_grpc_port", "--otlp-grpc-port", parse_port, "4317", "OTLP/gRPC port (default 4317)"),
    _Option("db", "--db", parse_db, None, "SQLite file or postgresql:// URL (default: user data dir)"),
    _Option("retention", "--retention", parse_duration_days, "none", "drop data older than this: 30d, 12h, 2w"),
    _Option("max_db_size", "--max-db-size", parse_size, "none", "size cap for the database: 2GB, 500MB"),
    _Option(
        "max_request_bytes", "--max-request-bytes", _parse_request_size, DEFAULT_MAX_REQUEST,
        f"largest OTLP request accepted, on the wire and decompressed (default {DEFAULT_MAX_REQUEST})",
    ),
    _Option("ingest_processes", "--ingest-processes", parse_ingest_processes, "auto",
            "worker processes that turn spans into rows (default auto: 1 with two or more CPUs, else 0)"),
    _Option("alert_error_rate", "--alert-error-rate", parse_error_rate, "none",
            "notify when the failed share of calls over the window is above this: 0.2 or 20%"),
    _Option("alert_cost_per_hour", "--alert-cost-per-hour", parse_usd_per_hour, "none",
            "notify when the cost over the window, per hour, is above this many USD: 5"),
    _Option("alert_window", "--alert-window", parse_alert_window, "5m", "the window alerts look at (default 5m)"),
    _Option("alert_min_calls", "--alert-min-calls", parse_min_calls, "20",
            "fewest calls in the window for an error-rate alert (default 20)"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `serve` flags (values stay text here; `resolve_config` parses flag, variable or default)."""
    for option in _OPTIONS:
        # argparse %-formats help text (%(default)s): a literal % ("20%") must be doubled.
        parser.add_argument(option.flag, dest=option.dest, default=None, metavar=option.dest.upper(),
                            help=f"{option.help} [{option.env}]".replace("%", "%%"))


def resolve_config(args: argparse.Namespace, env: Mapping[str, str]) -> ServeConfig:
    """Flags, then ``OTEL_AI_SERVE_*`` variables, then defaults; raises UsageError naming the source."""
    from otel_ai.serve.access import Access
    from otel_ai.serve.alerts import AlertRules
    from otel_ai.serve.server import ServeConfig

    values: dict[str, Any] = {}
    for option in _OPTIONS:
        flag_value = getattr(args, option.dest, None)
        env_value = env.get(option.env, "")
        if flag_value is not None:
            source, text = option.flag, str(flag_value)
        elif env_value.strip():
            source, text = option.env, env_value
        elif option.default is not None:
            source, text = f"{option.flag} default", option.default
        else:
            source, text = "the default database path", str(default_db_path(env))
        try:
            values[option.dest] = option.parse(text)
        except ValueError as exc:
            raise UsageError(f"{source}: {exc}") from None
    ports = {"--port": values["port"], "--otlp-http-port": values["otlp_http_port"],
             "--otlp-grpc-port": values["otlp_grpc_port"]}
    seen: dict[int, str] = {}
    for flag, port in ports.items():
        if port and port in seen:
            raise UsageError(f"{seen[port]} and {flag} are both {port}: each needs its own port")
        seen[port] = flag
    if values["token"] is not None and values["token_file"] is not None:
        raise UsageError("--token and --token-file are both set: give the token once")
    access = Access.for_bind(values["host"], extra_hosts=values["allowed_host"],
                             token=values["token"] or values["token_file"])
    return ServeConfig(
        db=values["db"],
        access=access,
        host=values["host"],
        port=values["port"],
        otlp_http_port=values["otlp_http_port"],
        otlp_grpc_port=values["otlp_grpc_port"],
        retention_days=values["retention"],
        max_db_bytes=values["max_db_size"],
        max_request_bytes=values["max_request_bytes"],
        ingest_processes=values["ingest_processes"],
        alerts=AlertRules(error_rate=values["alert_error_rate"], cost_per_hour=values["alert_cost_per_hour"],
                          window_s=values["alert_window"], min_calls=values["alert_min_calls"]),
    )


# -- running -----------------------------------------------------------------------------------------------


def run_serve(
    args: argparse.Namespace, *, open_store: StoreOpener | None = None, env: Mapping[str, str] | None = None
) -> int:
    """Run until SIGINT/SIGTERM: 0 after a clean stop, 1 when it cannot start, 2 for a bad setting."""
    env = os.environ if env is None else env
    try:
        config = resolve_config(args, env)
    except UsageError as exc:
        print(f"otel-ai serve: {exc}", file=sys.stderr)
        return 2
    alerts_line = _install_notifiers(config, env)
    if alerts_line is None:
        return 2
    _configure_logging()
    from otel_ai.serve.server import LocalServer, ServeError

    if "://" not in config.db:
        try:
            Path(config.db).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"otel-ai serve: cannot create the directory for --db {config.db}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
    from otel_ai.serve.access import is_loopback

    if not is_loopback(config.host) and config.access.token is None:
        if _strict(env):
            print(f"otel-ai serve: refusing to listen on {config.host}, not loopback, without a token "
                  "(OTEL_AI_STRICT is on): set --token or OTEL_AI_SERVE_TOKEN", file=sys.stderr)
            return 2
        print(f"otel-ai serve: warning: listening on {config.host}, not loopback; there is no authentication, "
              "anyone who reaches these ports can send and read telemetry (set --token)", file=sys.stderr)

    stop = threading.Event()
    previous = _install_signal_handlers(stop)
    server = LocalServer(config, open_store=open_store)
    try:
        try:
            server.start()
        except ServeError as exc:
            print(f"otel-ai serve: {exc}", file=sys.stderr)
            return 1
        print(server.banner(), flush=True)
        if config.access.token is not None:
            print(f"otel-ai serve: dashboard (signs this browser in): {server.login_url()}", flush=True)
        if alerts_line:
            print(alerts_line, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        _restore_signal_handlers(previous)
        if alerts_line:
            from otel_ai import notify as notifiers

            notifiers.uninstall(1.0)  # a last notice (a resolved alert) gets a bounded chance to go out
    return 0


def _strict(env: Mapping[str, str]) -> bool:
    return variables.STRICT.boolean(env, [])  # a bad value is the agent's problem line, not serve's


def _install_notifiers(config: ServeConfig, env: Mapping[str, str]) -> str | None:
    """With alert rules set: the agent's notifiers (`OTEL_AI_ALERT_*`) deliver them.

    Returns the line to print ("" without alerts), or None after printing a bad notifier setting
    (exit status 2, like a bad flag).
    """
    if config.alerts is None or not config.alerts.enabled:
        return ""
    from otel_ai import notify as notifiers
    from otel_ai.runtime import state  # noqa: F401  registers the agent's redactor (OTEL_AI_REDACT_PATTERNS) for notices

    notifier_config, problems = notifiers.parse_notifiers(env)
    for problem in problems:
        print(f"otel-ai serve: {problem}", file=sys.stderr)
    if problems:
        return None
    notifiers.install(notifier_config)
    targets = ", ".join(notifier_config.describe()) or (
        f"this log only (set {notifiers.WEBHOOK_URL_VAR}, {notifiers.SLACK_WEBHOOK_URL_VAR} "
        f"or {notifiers.SMTP_HOST_VAR} to be notified)")
    return f"otel-ai serve: alerts: {config.alerts.describe()} -> {targets}"


def _install_signal_handlers(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal: quit now (everything acknowledged is already stored)
            os._exit(128 + signum)
        stop.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, old in previous.items():
        signal.signal(signum, old)


def _configure_logging() -> None:
    import logging

    log = logging.getLogger("otel_ai.serve")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("otel-ai serve: %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def main(argv: Sequence[str] | None = None, *, open_store: StoreOpener | None = None) -> int:
    """`otel-ai serve` on its own (the same as the subcommand); ``open_store`` replaces the store."""
    parser = argparse.ArgumentParser(prog="otel-ai serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run_serve(parser.parse_args(argv), open_store=open_store)


if __name__ == "__main__":
    raise SystemExit(main())
