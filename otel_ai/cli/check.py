"""`otel-ai check`: the settings in effect, every problem with them, and whether the endpoint answers.

Strict by design: any problem exits 2, so it can gate a deploy; the running agent falls back instead.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TextIO
from urllib.parse import urlsplit

from otel_ai import variables
from otel_ai.conventions import Conventions, gen_ai_latest_experimental
from otel_ai.genai.model import ContentMode
from otel_ai.privacy.urls import display_url, mask_urls, split_credentials
from otel_ai.runtime import setup as _setup
from otel_ai.runtime import state as _state
from otel_ai.version import __version__

_SIGNALS = ("traces", "metrics", "logs")
_DEFAULT_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}
_PROBE_TIMEOUT_S = 2.0
_PROTOCOLS = variables.BY_NAME["OTEL_EXPORTER_OTLP_PROTOCOL"].choices  # as the SDK spells them (case matters)


def signal_export(signal: str, env: Mapping[str, str]) -> tuple[str, str | None, str | None]:
    """(exporter, protocol, endpoint URL) for one signal as the SDK will resolve them."""
    upper = signal.upper()
    exporter = env.get(f"OTEL_{upper}_EXPORTER", "otlp").strip() or "otlp"
    if "otlp" not in [e.strip() for e in exporter.split(",")]:
        return exporter, None, None
    protocol = (
        env.get(f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    ).strip()
    endpoint = env.get(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")
    if endpoint:
        return exporter, protocol, endpoint.strip()
    base = (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _DEFAULT_ENDPOINTS.get(protocol, "")).strip()
    if protocol == "http/protobuf" and base:
        return exporter, protocol, f"{base.rstrip('/')}/v1/{signal}"
    return exporter, protocol, base


def probe(protocol: str, endpoint: str, timeout: float = _PROBE_TIMEOUT_S) -> str:
    """Whether an OTLP endpoint answers: an empty export over HTTP, a TCP connection for gRPC.

    Credentials in the URL (``http://user:password@host``) are sent as ``Authorization: Basic``,
    as the SDK's exporter does; left in the URL, ``urllib`` would take them for part of the host.
    """
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if protocol != "http/protobuf":
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return "answers (TCP connection accepted)"
        except OSError as exc:
            return f"does not answer ({_reason(exc)})"
    url, authorization = split_credentials(endpoint)
    headers = {"Content-Type": "application/x-protobuf"}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"answers (HTTP {response.status})"
    except urllib.error.HTTPError as exc:
        return f"answers with HTTP {exc.code}: check the path and credentials"
    except (urllib.error.URLError, OSError) as exc:
        return f"does not answer ({_reason(exc)})"


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "reason", exc)
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused"
    if isinstance(inner, (TimeoutError, socket.timeout)):
        return f"timed out after {_PROBE_TIMEOUT_S:g} s"
    return mask_urls(str(inner)) or type(inner).__name__


def _work_lines(env: Mapping[str, str], line: Callable[[str, str], None]) -> None:
    """Budgets and notifiers in effect (hosts only: webhook URLs hold tokens)."""
    from otel_ai.budgets import parse_budget_config
    from otel_ai.notify import console_exporter_in_use, parse_notifiers

    config, _ = parse_budget_config(env)
    if config.budgets:
        blocking = sum(b.action == "block" for b in config.budgets)
        where = f"fleet spend from {display_url(config.server)}" if config.server else "spend counted in each process"
        if config.server and config.token:
            where += f" (with {variables.BUDGET_SERVER_TOKEN.name})"
        line("budgets", f"{len(config.budgets)} ({blocking} blocking): "
             + ", ".join(f"{b.name} {b.limit_usd:g} USD/{b.period}" for b in config.budgets) + f"; {where}")
    notifiers = parse_notifiers(env)[0].describe()
    if notifiers:
        line("notifiers", ", ".join(notifiers))
    elif console_exporter_in_use(env):
        line("notifiers", "none set; budget crossings are printed on the console (the console exporter is on)")
    else:
        line("notifiers", "none (budget crossings are not sent anywhere)")


def _price_lines(sources: list[tuple[str, str, int, tuple[str, ...]]], line: Callable[[str, str], None]) -> None:
    """Each price's date and source page; a cost the provider reports is used ahead of all of them."""
    label = "price sources"
    for source, name, count, pages in sources:
        where = ", ".join(pages) or "no source page given"
        if source == "override":
            line(label, f"override {name}: {where}")
        else:
            line(label, f"{source} {name or '(no provider)'} ({count} models): {where}")
        label = ""
    line(label, "provider: a cost stated in the response (OpenRouter usage.cost, LiteLLM x-litellm-response-cost) "
                "wins over these")


def _conventions_line(conventions: Conventions, env: Mapping[str, str]) -> str:
    """The GenAI names in effect and what chose them (docs/conventions.md), and the proposals on."""
    if variables.raw(env, variables.SEMCONV.name) is not None:
        chosen_by = variables.SEMCONV.name
    elif gen_ai_latest_experimental(env):
        chosen_by = "gen_ai_latest_experimental in OTEL_SEMCONV_STABILITY_OPT_IN"
    else:
        chosen_by = "the default"
    proposals = ", ".join(sorted(conventions.proposals)) or "none"
    return f"{conventions.names.value} names ({chosen_by}); proposals: {proposals}"


def run_check(out: TextIO | None = None, env: Mapping[str, str] | None = None, *, probe_endpoints: bool = True) -> int:
    """Print the settings in effect and the problems found; 0 when there are none, else 2."""
    out = out or sys.stdout
    _setup.apply_env_defaults()
    env = os.environ if env is None else env
    problems: list[str] = []
    for variable in (
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        *(f"OTEL_EXPORTER_OTLP_{s.upper()}_PROTOCOL" for s in _SIGNALS),
    ):
        value = env.get(variable)
        if value is not None and value.strip() not in _PROTOCOLS:
            problems.append(f"{variable}={value!r} is not one of: {', '.join(_PROTOCOLS)}")
    problems.extend(_state.load())
    settings = _state.settings()
    pricing = _state.pricing()

    def line(label: str, value: str) -> None:
        out.write(f"  {label:<20} {value}\n")

    out.write(f"otel-ai {__version__}: settings in effect\n")
    line("service name", env.get("OTEL_SERVICE_NAME") or "(the script's name at run time)")
    endpoints: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for signal in _SIGNALS:
        exporter, protocol, endpoint = signal_export(signal, env)
        if protocol is None or endpoint is None:
            line(signal, f"exporter {exporter}")
            continue
        line(signal, f"exporter {exporter}, {protocol} to {display_url(endpoint)}")
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        server = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # no credentials: it is printed
        endpoints.setdefault((protocol, server), (endpoint, []))[1].append(signal)
    content = settings.content
    limit = settings.content_max_length
    line("content capture", "off" if content is ContentMode.NO_CONTENT else f"{content.value} (max {limit} characters)")
    overrides = ""
    if settings.pricing_file:
        broken = any(p.startswith(variables.PRICING_FILE.name) for p in problems)
        use = "NOT used (see below)" if broken else f"prices {pricing.overrides} model(s)"
        overrides = f"; {settings.pricing_file} {use}"
    line("pricing", f"built-in catalog dated {pricing.catalog_date}{overrides}")
    _price_lines(pricing.sources(), line)
    line("cost attributes", f"{settings.cost_shapes.names} (docs/backends.md)")
    line("redaction", f"built-in kinds + {len(settings.patterns)} custom pattern(s)")
    if settings.provider_hosts:
        line("provider hosts", ", ".join(f"{h}={p}" for h, p in settings.provider_hosts.items()))
    if settings.stream_usage:
        from otel_ai.instrumentation.openai.tokens import available

        modes = ", ".join(sorted(settings.stream_usage))
        line("stream usage", modes + (f"; estimate {available()}" if "estimate" in settings.stream_usage else ""))
    _work_lines(env, line)
    line("conventions", _conventions_line(settings.conventions, env))
    line("strict", "on" if settings.strict else "off (bad settings fall back)")
    if probe_endpoints:
        for (protocol, server), (endpoint, signals) in endpoints.items():
            answer = probe(protocol, endpoint)
            line("endpoint", f"{server} ({', '.join(signals)}): {answer}")
            if answer.startswith("does not answer"):
                line("", "start a collector there, set OTEL_EXPORTER_OTLP_ENDPOINT, or use `otel-ai run --console`")
    out.flush()
    if not problems:
        out.write("otel-ai: configuration ok\n")
        return 0
    for problem in problems:
        sys.stderr.write(f"otel-ai: problem: {mask_urls(problem)}\n")
    sys.stderr.write(f"otel-ai: {len(problems)} problem(s); the agent would fall back as described\n")
    return 2
