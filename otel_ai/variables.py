"""Every environment variable the agent reads, in one table: name, parser, default, fallback and a line of doc.

The table feeds parsing (a module reads a simple variable through its row: `CONTENT_MAX_LENGTH.integer(env,
problems)`; a structured one, such as the budgets spec, names the function that parses it), strict mode
and `otel-ai check` (through the problem lines the readers write), and README.md's configuration
table, which is generated from it: `python -m otel_ai.variables --markdown` prints it, and
tests/test_config.py fails when README and this table disagree.

One rule per kind of value, whichever module reads it: surrounding spaces are ignored and an empty
value counts as unset; an integer is ASCII digits with an optional sign and single underscores
between digits (`10_485_760`, as Python writes it); a boolean is `true/false`, `1/0`, `yes/no` or
`on/off` in any case; a number of seconds is a decimal number with an optional trailing `s`; a
choice is one of its words in any case. A bad value is one problem line naming the variable and the
fallback in use, never an exception. Standard library only: every layer imports it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["bool", "int", "seconds", "choice", "text", "structured", "standard"]

TRUE: Final = frozenset({"true", "1", "yes", "on"})
FALSE: Final = frozenset({"false", "0", "no", "off"})
_INTEGER = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")


# --- the parsers: each takes the stripped text and returns the value or raises ValueError ----------------


def parse_int(text: str) -> int:
    """ASCII digits, an optional sign, single underscores between digits (`1_000`); else ValueError."""
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def parse_bool(text: str) -> bool:
    """`true/false`, `1/0`, `yes/no`, `on/off`, any case; else ValueError."""
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def parse_seconds(text: str) -> float:
    """A decimal number of seconds with an optional trailing `s` (`2.5`, `2.5s`); else ValueError."""
    return float(text.strip().removesuffix("s"))


def parse_choice(text: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, any case (the lower-case word is returned); else ValueError."""
    value = text.strip().lower()
    if value not in choices:
        raise ValueError(f"not one of {choices}: {text!r}")
    return value


def words(text: str | None) -> list[str]:
    """A comma list's entries, stripped and lower-cased, empty ones dropped (`" Inject, ,estimate"`)."""
    return [word for word in (part.strip().lower() for part in (text or "").split(",")) if word]


def raw(env: Mapping[str, str], name: str) -> str | None:
    """The stripped value, or None when unset or empty (an empty variable counts as unset)."""
    value = (env.get(name) or "").strip()
    return value or None


# --- the table ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One variable: how it is read, what it falls back to, and its line in README's configuration table."""

    name: str
    kind: Kind
    doc: str
    default: bool | int | float | str | None = None  # the value when unset (None: nothing)
    fallback: str = "the default"  # what a bad value becomes
    parser: str = ""  # structured values: the function that parses them ("module:function")
    choices: tuple[str, ...] = ()
    words: str = ""  # the choices as a problem line lists them (default: all of them)
    minimum: float | None = None
    maximum: float | None = None
    too_small: str = ""  # the problem's wording below `minimum` (default: "be at least <minimum>")
    shown_default: str | None = None  # the README's default column, when the value alone says too little
    documented: bool = True  # False: a tuning knob, in the table (and the code) but not in README

    # Readers for the simple kinds; each appends one problem line for a bad value and returns the default.

    def boolean(self, env: Mapping[str, str], problems: list[str]) -> bool:
        assert isinstance(self.default, bool), self.name
        text = env.get(self.name)
        if text is None or not text.strip():
            return self.default
        try:
            return parse_bool(text)
        except ValueError:
            problems.append(f"{self.name}={text!r} is not a boolean (true/false, 1/0, yes/no, on/off); "
                            f"using {str(self.default).lower()}")
            return self.default

    def integer(self, env: Mapping[str, str], problems: list[str]) -> int:
        assert isinstance(self.default, int) and not isinstance(self.default, bool), self.name
        text = env.get(self.name)
        if text is None or not text.strip():
            return self.default
        try:
            value = parse_int(text)
        except ValueError:
            problems.append(f"{self.name}={text!r} is not an integer; using {self.default}")
            return self.default
        if self.minimum is not None and value < self.minimum:
            bound = self.too_small or f"be at least {self.minimum:g}"
            problems.append(f"{self.name}={text!r} must {bound}; using {self.default}")
            return self.default
        return value

    def choice(self, env: Mapping[str, str], problems: list[str], *, suffix: str = "") -> str | None:
        """The lower-case word, or None when unset; a bad value is a problem line ending in the fallback."""
        text = env.get(self.name)
        if text is None or not text.strip():
            return None
        try:
            return parse_choice(text, self.choices)
        except ValueError:
            words = self.words or ", ".join(self.choices)
            problems.append(f"{self.name}={text!r} is not one of: {words}{suffix}; {self.fallback}")
            return None

    @property
    def shown(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        return f"`{self.default:g}`" if isinstance(self.default, float) else f"`{self.default}`"


_CONTENT_CHOICES = "`true`/`1`/`yes`/`on` (= `span_and_event`), `span_only`, `event_only`, `span_and_event`, " \
    "`no_content`/`false`/`0`/`no`/`off`; case-insensitive"

CAPTURE_CONTENT: Final = Variable(
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "structured", _CONTENT_CHOICES,
    fallback="content capture off", parser="otel_ai.runtime.settings:content_mode", shown_default="off")
CONTENT_MAX_LENGTH: Final = Variable(
    "OTEL_AI_CONTENT_MAX_LENGTH", "int", "captured text parts longer than this are cut (back to the start of "
    "the word or token the cut fell in) and marked `…[truncated]`", default=8192, minimum=1,
    too_small="be greater than 0")
PRICING_FILE: Final = Variable(
    "OTEL_AI_PRICING_FILE", "text", "JSON file merged over the built-in pricing catalog (see "
    "[docs/pricing.md](docs/pricing.md))", fallback="the built-in catalog")
COST_ATTRIBUTES: Final = Variable(
    "OTEL_AI_COST_ATTRIBUTES", "structured", "which names the cost goes under besides `otel_ai.cost.usd` "
    "(always on), a comma list: `gen_ai` (the GenAI conventions' open cost proposal: "
    "`gen_ai.usage.cost.amount`, `.currency`, `.source`), `openinference` (`llm.cost.*`, `llm.token_count.*`, "
    "`llm.model_name`: Arize Phoenix), `openlit` (`gen_ai.usage.cost`: OpenLIT, Langfuse); `otel_ai` or `none`: "
    "ours only; see [docs/backends.md](docs/backends.md)", fallback="using otel_ai,gen_ai",
    parser="otel_ai.genai.cost_shapes:parse_cost_attributes", shown_default="`otel_ai,gen_ai`")
REDACT_PATTERNS: Final = Variable(
    "OTEL_AI_REDACT_PATTERNS", "structured", "extra regexes to redact (run on RE2: linear time, no "
    "look-around), see [docs/privacy.md](docs/privacy.md)", fallback="the entry is ignored and content capture "
    "is off", parser="otel_ai.privacy.patterns:parse_pattern_entries")
PROVIDER_HOSTS: Final = Variable(
    "OTEL_AI_PROVIDER_HOSTS", "structured", "`host=provider` pairs (comma separated; `*.domain` and `*` "
    "allowed, `*domain` is rejected) overriding provider detection by base-URL host",
    fallback="the entry is skipped", parser="otel_ai.runtime.settings:provider_hosts")
STREAM_USAGE: Final = Variable(
    "OTEL_AI_STREAM_USAGE", "structured", "token usage for Chat Completions streams that do not ask for it: "
    "`inject` (adds `stream_options.include_usage` to the request and hides the extra usage chunk from the app), "
    "`estimate` (counts a stream that ended without usage offline with tiktoken: `otel-ai[estimate]`), both "
    "comma separated, or `off`; see [docs/stream-usage.md](docs/stream-usage.md)", default="off",
    fallback="using off", parser="otel_ai.runtime.settings:stream_usage")
SYSTEM_METRICS: Final = Variable(
    "OTEL_AI_SYSTEM_METRICS", "choice", "host and process metrics: `basic` (CPU and memory utilization, disk "
    "space, disk and network I/O, process CPU time, RSS, threads, open files; NVIDIA GPUs with `otel-ai[gpu]`), "
    "`full` (everything the contrib system-metrics instrumentation offers, plus disk space and GPUs), `off`; see "
    "[docs/system.md](docs/system.md)", default="basic", choices=("basic", "full", "off"), fallback="using basic")
SEMCONV: Final = Variable(
    "OTEL_AI_SEMCONV", "choice", "which semantic-convention names to emit where the conventions renamed one: "
    "`current`, `previous` (for dashboards not migrated yet) or `both` side by side; see "
    "[docs/conventions.md](docs/conventions.md); set, it wins over `gen_ai_latest_experimental` in "
    "`OTEL_SEMCONV_STABILITY_OPT_IN` (which selects `current`)", default="current",
    choices=("current", "previous", "both"), fallback="using current")
SEMCONV_PROPOSALS: Final = Variable(
    "OTEL_AI_SEMCONV_PROPOSALS", "structured", "also record the metrics of open GenAI convention proposals "
    "(provisional names, next to the released ones): a comma list of `token_metrics` (per-direction token "
    "counters, semantic-conventions-genai#374), `inference_duration` (`gen_ai.client.inference.duration`, #521), "
    "or `all`; see [docs/conventions.md](docs/conventions.md)", fallback="the entry is skipped",
    parser="otel_ai.conventions:parse_proposals", shown_default="none")
CHUNK_TIMING: Final = Variable(
    "OTEL_AI_CHUNK_TIMING", "choice", "`gen_ai.client.operation.time_per_output_chunk` of a stream: `mean` (one "
    "value per stream, the mean gap between chunks; within the 2 µs per chunk budget) or `each` (one value per "
    "chunk after the first, as the conventions ask: an SDK histogram record per chunk, recorded at the stream's "
    "end, about 12 µs a chunk); see [docs/benchmarks.md](docs/benchmarks.md#chunk-timing)", default="mean",
    choices=("mean", "each"), fallback="using mean")
LOG_LEVEL: Final = Variable(
    "OTEL_AI_LOG_LEVEL", "choice", "lowest `logging` level exported as OTLP logs (with trace and span ids) and "
    "written as JSON lines: `debug`, `info`, `warning`, `error`, `critical` (setting one lowers the root logger "
    "to it), or `off`; see [docs/logs.md](docs/logs.md)",
    choices=("debug", "info", "warning", "warn", "error", "critical", "off", "none"), fallback="using info",
    words="debug, info, warning, error, critical, off",
    shown_default="unset: what the app's loggers let through, from `info` up (Python's default lets only "
    "`warning` and up through)")
LOG_FORMAT: Final = Variable(
    "OTEL_AI_LOG_FORMAT", "choice", "`json`: also write each record as a JSON line on stdout (time, level, "
    "logger, message, trace_id, span_id, service.name, exception; redacted)", choices=("json", "none"),
    fallback="no log lines on stdout", shown_default="unset")
LOG_FILE: Final = Variable(
    "OTEL_AI_LOG_FILE", "text", "also write the JSON lines to this file, rotated at "
    "`OTEL_AI_LOG_FILE_MAX_BYTES` keeping `OTEL_AI_LOG_FILE_BACKUPS` files", shown_default="unset")
LOG_FILE_MAX_BYTES: Final = Variable(
    "OTEL_AI_LOG_FILE_MAX_BYTES", "int", "size at which `OTEL_AI_LOG_FILE` is rotated", default=10 * 1024 * 1024,
    minimum=1)
LOG_FILE_BACKUPS: Final = Variable(
    "OTEL_AI_LOG_FILE_BACKUPS", "int", "rotated `OTEL_AI_LOG_FILE` files kept", default=5, minimum=0)
BUDGETS: Final = Variable(
    "OTEL_AI_BUDGETS", "structured", "budgets as inline JSON or the path of a YAML/JSON file: a list of `{name, "
    "scope: {provider, model, task_type, service}, period: day\\|week\\|month, limit_usd, warn_at, action: "
    "alert\\|block, timezone}`; see [docs/budgets.md](docs/budgets.md). Spend is counted per process unless "
    "`OTEL_AI_BUDGET_SERVER` is set", fallback="the entry is skipped", parser="otel_ai.budgets:parse_budgets")
BUDGET_SERVER: Final = Variable(
    "OTEL_AI_BUDGET_SERVER", "structured", "URL of an `otel-ai serve` API: budgets count the whole fleet's spend "
    "from its store (refreshed every `OTEL_AI_BUDGET_SERVER_TTL` s; unreachable: one warning, in-process spend); "
    "or `prometheus+http(s)://host:9090[/prefix][?metric=…&org_id=…]`: the spend read with PromQL from a "
    "Prometheus-compatible query API (Prometheus, Thanos, Mimir, VictoriaMetrics) over `otel_ai_client_cost_total`; "
    "see [docs/budgets.md](docs/budgets.md#fleet-budgets-on-prometheus)",
    fallback="this process's spend only", parser="otel_ai.budgets:parse_budget_config")
BUDGET_SERVER_TTL: Final = Variable(
    "OTEL_AI_BUDGET_SERVER_TTL", "seconds", "seconds between two reads of the fleet's spend from "
    "`OTEL_AI_BUDGET_SERVER`", default=5.0, minimum=0.0, parser="otel_ai.budgets:parse_budget_config")
BUDGET_SERVER_TOKEN: Final = Variable(
    "OTEL_AI_BUDGET_SERVER_TOKEN", "structured", "the token of an `otel-ai serve --token`, sent as "
    "`Authorization: Bearer`; never printed or exported (a 401 is one warning naming this variable)",
    fallback="no token is sent", parser="otel_ai.budgets:parse_budget_config")
_NOTIFIERS = "otel_ai.notify.settings:parse_notifiers"
ALERT_WEBHOOK_URL: Final = Variable(
    "OTEL_AI_ALERT_WEBHOOK_URL", "structured", "where budget crossings (and `otel-ai serve` alerts) are POSTed "
    "as a JSON body; see [docs/notifiers.md](docs/notifiers.md)", fallback="the notifier is off", parser=_NOTIFIERS)
ALERT_SLACK_WEBHOOK_URL: Final = Variable(
    "OTEL_AI_ALERT_SLACK_WEBHOOK_URL", "structured", "the same as a Slack incoming-webhook message",
    fallback="the notifier is off", parser=_NOTIFIERS)
ALERT_SMTP_HOST: Final = Variable(
    "OTEL_AI_ALERT_SMTP_HOST", "structured", "e-mail notifications over SMTP with STARTTLS: the server",
    fallback="email is off", parser=_NOTIFIERS)
ALERT_SMTP_PORT: Final = Variable(
    "OTEL_AI_ALERT_SMTP_PORT", "int", "its port", default=587, minimum=1, maximum=65535, fallback="email is off",
    parser=_NOTIFIERS)
ALERT_SMTP_FROM: Final = Variable(
    "OTEL_AI_ALERT_SMTP_FROM", "structured", "the sender address (needed for email)", fallback="email is off",
    parser=_NOTIFIERS)
ALERT_SMTP_TO: Final = Variable(
    "OTEL_AI_ALERT_SMTP_TO", "structured", "the recipients, comma separated (needed for email)",
    fallback="email is off", parser=_NOTIFIERS)
ALERT_SMTP_USERNAME: Final = Variable(
    "OTEL_AI_ALERT_SMTP_USERNAME", "structured", "login name (with `OTEL_AI_ALERT_SMTP_PASSWORD_FILE`)",
    fallback="email is off", parser=_NOTIFIERS)
ALERT_SMTP_PASSWORD_FILE: Final = Variable(
    "OTEL_AI_ALERT_SMTP_PASSWORD_FILE", "structured", "a file holding the login password "
    "(`OTEL_AI_ALERT_SMTP_PASSWORD` is refused: the environment reaches every child process)",
    fallback="email is off", parser=_NOTIFIERS)
ALERT_SMTP_PASSWORD: Final = Variable(
    "OTEL_AI_ALERT_SMTP_PASSWORD", "structured", "refused", fallback="not read", parser=_NOTIFIERS,
    documented=False)
ALERT_SMTP_STARTTLS: Final = Variable(
    "OTEL_AI_ALERT_SMTP_STARTTLS", "bool", "`false`: no STARTTLS (only without a login)", default=True,
    fallback="email is off", parser=_NOTIFIERS)
ALERT_SMTP_CA_FILE: Final = Variable(
    "OTEL_AI_ALERT_SMTP_CA_FILE", "structured", "PEM certificates to verify the server with (default: the "
    "system's)", fallback="email is off", parser=_NOTIFIERS)
ALERT_TIMEOUT: Final = Variable(
    "OTEL_AI_ALERT_TIMEOUT", "seconds", "seconds per notification attempt (at most 60)", default=5.0, minimum=0.0,
    maximum=60.0, parser=_NOTIFIERS)
USER_ID_HASH: Final = Variable(
    "OTEL_AI_USER_ID_HASH", "bool", "`true`: the user of `otel_ai.conversation(user=...)` is exported as "
    "`user.hash` (the first 32 hex digits of its SHA-256), never as `user.id`", default=False)
METRICS_USER: Final = Variable(
    "OTEL_AI_METRICS_USER", "bool", "`true`: the cost and request counters carry the conversation's user "
    "(`user.id` or `user.hash`) as a label: one series per user, so only for a bounded set of users",
    default=False)
STRICT: Final = Variable(
    "OTEL_AI_STRICT", "bool", "`true`: a bad setting stops start-up with exit 2 instead of falling back",
    default=False)
GC_FREEZE: Final = Variable(
    "OTEL_AI_GC_FREEZE", "bool", "`true`: after the first GenAI call, `gc.freeze()` once, so full garbage "
    "collections stop walking the start-up heap (cuts the longest pause from tens of ms to a few; objects alive "
    "then are never collected: see [docs/benchmarks.md](docs/benchmarks.md))", default=False)
SERVE: Final = Variable(
    "OTEL_AI_SERVE_<FLAG>", "structured", "every `otel-ai serve` flag (`--max-db-size`: "
    "`OTEL_AI_SERVE_MAX_DB_SIZE`); a flag wins over its variable; `OTEL_AI_SERVE_DB` also picks `otel-ai "
    "report`'s database; see [docs/local.md](docs/local.md)", fallback="exit 2 naming the variable",
    parser="otel_ai.cli.serve:resolve_config", shown_default="the flag's")
SQLITE_CHECKPOINT_PAGES: Final = Variable(
    "OTEL_AI_SQLITE_CHECKPOINT_PAGES", "int", "WAL pages between SQLite checkpoints of `otel-ai serve` "
    "(a tuning knob)", default=20_000, minimum=1, parser="otel_ai.serve.store.database:_checkpoint_pages",
    documented=False)

_STANDARD = (
    Variable("OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER", "standard", "standard; ours: "
             "`otel_ai_console` (traces, one line per GenAI call), `otel_ai_prometheus` (metrics for "
             "`otel_ai.metrics_app()`)", default="otlp"),
    Variable("OTEL_EXPORTER_OTLP_PROTOCOL", "standard", "standard; `grpc` also works", default="http/protobuf",
             choices=("grpc", "http/protobuf")),
    Variable("OTEL_PYTHON_CONFIGURATOR / OTEL_PYTHON_DISTRO", "standard", "standard; pick ours when several are "
             "installed", default="otel_ai"),
    Variable("OTEL_SEMCONV_STABILITY_OPT_IN", "standard", "standard; the HTTP instrumentations write the stable "
             "names (`http.request.method`, `http.response.status_code`, `url.full`, "
             "`http.server.request.duration` in s); `http/dup` writes old and new; a value you set is kept, with "
             "`http` added when it names no HTTP mode (`gen_ai_latest_experimental` becomes "
             "`gen_ai_latest_experimental,http`); an empty value keeps the old HTTP names", default="http"),
    Variable("OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS", "standard", "ours (the contrib instrumentation takes it only as "
             "an argument, which the distro and `configure()` pass): no internal `http send` / `http receive` "
             "span per ASGI message; empty keeps them", default="send,receive"),
)

VARIABLES: Final[tuple[Variable, ...]] = (
    CAPTURE_CONTENT, CONTENT_MAX_LENGTH, PRICING_FILE, COST_ATTRIBUTES, REDACT_PATTERNS, PROVIDER_HOSTS,
    STREAM_USAGE, SYSTEM_METRICS, SEMCONV, SEMCONV_PROPOSALS, CHUNK_TIMING, LOG_LEVEL, LOG_FORMAT, LOG_FILE,
    LOG_FILE_MAX_BYTES, LOG_FILE_BACKUPS,
    BUDGETS, BUDGET_SERVER, BUDGET_SERVER_TTL, BUDGET_SERVER_TOKEN,
    ALERT_WEBHOOK_URL, ALERT_SLACK_WEBHOOK_URL, ALERT_SMTP_HOST, ALERT_SMTP_PORT, ALERT_SMTP_FROM, ALERT_SMTP_TO,
    ALERT_SMTP_USERNAME, ALERT_SMTP_PASSWORD_FILE, ALERT_SMTP_PASSWORD, ALERT_SMTP_STARTTLS, ALERT_SMTP_CA_FILE,
    ALERT_TIMEOUT, USER_ID_HASH, METRICS_USER, STRICT, GC_FREEZE, SERVE, SQLITE_CHECKPOINT_PAGES, *_STANDARD,
)
BY_NAME: Final = {variable.name: variable for variable in VARIABLES}


def markdown() -> str:
    """README's configuration table (generated: edit the rows above, then `python -m otel_ai.variables --markdown`)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for variable in VARIABLES:
        if variable.documented:
            names = " / ".join(f"`{name}`" for name in variable.name.split(" / "))
            rows.append(f"| {names} | {variable.shown} | {variable.doc} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["--markdown"]:
        sys.stderr.write("usage: python -m otel_ai.variables --markdown\n")
        return 2
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
