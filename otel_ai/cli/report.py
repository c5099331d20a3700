"""`otel-ai report summary|costs|errors|forecast`: the local store's reports in a terminal, as JSON or CSV.

Reads the store that `otel-ai serve` writes (the same default database, ``--db`` or
``OTEL_AI_SERVE_DB`` to pick another; SQLite path or ``postgresql://`` URL) without the server.
``--format json`` prints exactly what the API answers (`/api/v1/summary`, …).

Exit status: 0 with a report (an empty or not yet created store says so), 2 when the options are bad
or the database cannot be read.

This module imports nothing heavy at import time: `otel-ai --help` stays fast.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import textwrap
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from otel_ai.cli import report_conversations
from otel_ai.money import format_usd, json_usd
from otel_ai.privacy.urls import display_url

if TYPE_CHECKING:
    from otel_ai.serve.reports import Costs, ErrorCategory, Errors, Forecast, Summary
    from otel_ai.serve.store import Store

__all__ = ["NONE", "REPORTS", "add_parser", "format_usd", "main", "run_report"]

_TIMES = "\u00d7"
NONE = "(none)"  # a dimension the calls did not record, as every surface shows it

REPORTS = ("summary", "costs", "errors", "forecast", "conversations", "evals")
FORMATS = ("table", "json", "csv")
GROUP_BY = ("model", "provider", "operation", "service", "task_type", "day", "response_model")
_FILTERS = ("service", "provider", "operation", "model", "task_type")
_DB_ENV = "OTEL_AI_SERVE_DB"
_VERSION_TABLE = "otel_ai_schema_version"
_PROG = "otel-ai report"


_DESCRIPTION = """\
Reports from the store that `otel-ai serve` writes, read without the server: the same default
database, or --db / $OTEL_AI_SERVE_DB (a SQLite file or a postgresql:// URL).
--format json prints exactly what the API answers (/api/v1/summary, /api/v1/costs, ...).

Exit status: 0 with a report (an empty or not yet created store says so); 2 when an option is bad
or the database cannot be read.

examples:
  otel-ai report summary --since 7d
  otel-ai report costs --group-by day --since 30d
  otel-ai report errors --service billing --format csv
  otel-ai report forecast --format json
  otel-ai report conversations --user alice --since 7d
  otel-ai report conversations --conversation 3f2a… --format csv
  otel-ai report evals --since 7d --threshold 0.8
"""


class ReportError(Exception):
    """Why the report cannot be made (one line); exit status 2."""


# -- command line -----------------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, top: bool, ranged: bool = True) -> None:
    # On `report` and on each subcommand, so `report --db X costs` and `report costs --db X` both work;
    # SUPPRESS keeps a subcommand's unset option from hiding the value given before it.
    default = argparse.SUPPRESS
    parser.add_argument("--db", default=default, metavar="PATH|URL",
                        help=f"SQLite file or postgresql:// URL (default: ${_DB_ENV}, else the same default "
                        "database as `otel-ai serve`)")
    parser.add_argument("--format", choices=FORMATS, default=default,
                        help="table (default), json (the API's answer) or csv")
    if top:
        return
    for name in _FILTERS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=default, metavar="NAME",
                            help=f"only calls with this {name.replace('_', ' ')}")
    if not ranged:
        return
    parser.add_argument("--since", default=default, metavar="WHEN",
                        help="start: a duration before now (30m, 12h, 7d, 2w) or an ISO-8601 time (UTC when "
                        "no offset); default: everything")
    parser.add_argument("--until", default=default, metavar="WHEN", help="end (exclusive), same forms; default: now")


def add_parser(subcommands: Any) -> argparse.ArgumentParser:
    """Add `report` to the `otel-ai` subcommands (an argparse `_SubParsersAction`)."""
    report = subcommands.add_parser(
        "report", help="cost, error and forecast reports from the local store (no server needed)",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(report, top=True)
    kinds = report.add_subparsers(dest="report", required=True, metavar="{" + ",".join(REPORTS) + "}")
    helps = {
        "summary": "calls, errors, cost (today, this month), tokens, latency",
        "costs": "calls, tokens, characters and cost per model, provider, operation, service, task type or day",
        "errors": "failed calls per category and provider error code, with the recommended action",
        "forecast": "this month's cost so far and the month-end forecast (UTC calendar month)",
        "conversations": report_conversations.HELP,
        "evals": "evaluation scores (otel_ai.evaluate()) per evaluation, model and task type; cost per good answer",
    }
    for name in REPORTS:
        sub = kinds.add_parser(name, help=helps[name], description=helps[name])
        _common(sub, top=False, ranged=name != "forecast")
        if name == "costs":
            sub.add_argument("--group-by", choices=GROUP_BY, default="model",
                             help="default: model (the model the app asked for; response_model: the one that answered)")
        if name == "conversations":
            report_conversations.add_arguments(sub)
        elif name == "evals":
            from otel_ai.cli.report_evals import add_arguments

            add_arguments(sub)
    return report  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    """`otel-ai report …` on its own (also `python -m otel_ai.cli.report`)."""
    parser = argparse.ArgumentParser(prog="otel-ai")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run_report(parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)]))


# -- running ----------------------------------------------------------------------------------------------


def _db_url(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[str, Path | None]:
    """The store URL as `otel-ai serve` resolves it, and the SQLite file it names (None: another backend)."""
    from otel_ai.cli.serve import default_db_path, parse_db

    value = getattr(args, "db", None)
    source = "--db"
    if value is None and env.get(_DB_ENV, "").strip():
        value, source = env[_DB_ENV], _DB_ENV
    if value is None:
        value, source = str(default_db_path(env)), "the default database"
    try:
        url = parse_db(value)
    except ValueError as exc:
        raise ReportError(f"{source}: {exc}") from None
    if "://" not in url:
        return url, Path(url)
    if url.lower().startswith("sqlite"):
        from sqlalchemy.engine import make_url

        try:
            database = make_url(url).database
        except Exception as exc:  # sqlalchemy.exc.ArgumentError
            raise ReportError(f"{source}: {exc}") from None
        if database and database != ":memory:":
            return url, Path(database).expanduser()
    return url, None


def _check_sqlite(path: Path) -> bool:
    """Whether the SQLite file holds an otel-ai store (False: no file, or an empty one). Read-only: a
    missing store is not created and another program's database is not touched."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return False
        if not path.is_file():
            raise ReportError(f"{path} is not a file")
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_VERSION_TABLE,)
            ).fetchone()
        finally:
            connection.close()
    except (OSError, sqlite3.Error) as exc:
        raise ReportError(f"cannot read the store at {path}: {exc}") from None
    if found is None:
        raise ReportError(f"{path} is a SQLite database but not an otel-ai store (no {_VERSION_TABLE} table)")
    return True


def run_report(
    args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None,
    env: Mapping[str, str] | None = None, now: datetime | None = None,
) -> int:
    """Print the report `args.report`; 0, or 2 with one line on `err` when it cannot."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    env = os.environ if env is None else env
    fmt = getattr(args, "format", "table")
    try:
        text, missing = _report(args, env, fmt, now or datetime.now(timezone.utc))
    except ReportError as exc:
        print(f"{_PROG}: {exc}", file=err)
        return 2
    if missing is not None:
        note = f"no store at {missing} yet: nothing recorded (start `otel-ai serve`, or pass --db)"
        if fmt == "table":
            print(note[0].upper() + note[1:], file=out)
            return 0
        print(f"{_PROG}: {note}", file=err)  # and the empty report, still parseable, on stdout
    out.write(text)
    return 0


def _report(args: argparse.Namespace, env: Mapping[str, str], fmt: str, now: datetime) -> tuple[str, Path | None]:
    """The report's text, and the SQLite file that does not exist yet (None when the store is there)."""
    try:
        from sqlalchemy.exc import SQLAlchemyError

        from otel_ai.serve.reports import TimeRangeError, resolve_range
        from otel_ai.serve.store import open_store
    except ImportError as exc:
        raise ReportError(f"reports need the serve extra (pip install 'otel-ai[serve]'): {exc}") from None
    url, sqlite_path = _db_url(args, env)
    missing = sqlite_path if sqlite_path is not None and not _check_sqlite(sqlite_path) else None
    try:
        since, until = resolve_range(getattr(args, "since", None), getattr(args, "until", None), now=now)
    except TimeRangeError as exc:
        raise ReportError(f"--{exc}" if exc.parameter and str(exc).startswith(exc.parameter) else str(exc)) from None
    if missing is not None and fmt == "table":
        return "", missing
    with tempfile.TemporaryDirectory(prefix="otel-ai-report-") as scratch:
        # A missing store reads as an empty one, made in a scratch directory: nothing is created at --db.
        target = str(Path(scratch) / "empty.db") if missing is not None else url
        try:
            store = open_store(target)
        except Exception as exc:  # any failure to open is the user's database problem: one line, exit 2
            raise ReportError(f"cannot read the store at {display_url(url)}: {_reason(exc)}") from None
        try:
            return _render(args, store, since, until, now, fmt), missing
        except (SQLAlchemyError, OSError) as exc:
            raise ReportError(f"cannot read the store at {display_url(url)}: {_reason(exc)}") from None
        finally:
            store.close()


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# -- the reports ------------------------------------------------------------------------------------------


def _filters(args: argparse.Namespace) -> dict[str, str | None]:
    return {name: getattr(args, name, None) for name in _FILTERS}


def _render(
    args: argparse.Namespace, store: Store, since: datetime | None, until: datetime | None, now: datetime, fmt: str,
) -> str:
    from otel_ai.serve import reports

    filters = _filters(args)
    where = _describe(args, since, until, filters)
    model: Any
    table: Callable[[], str]
    rows: Callable[[], tuple[list[str], list[list[Any]]]]
    if args.report == "summary":
        summary = reports.summary_report(store, since, until, **filters)
        model, table, rows = summary, lambda: _summary_table(summary, where), lambda: _summary_rows(summary)
    elif args.report == "costs":
        costs = reports.costs_report(store, args.group_by, since, until, **filters)
        model, table, rows = costs, lambda: _costs_table(costs, where), lambda: _costs_rows(costs)
    elif args.report == "errors":
        errors = reports.errors_report(store, since, until, **filters)
        calls = reports.summary_report(store, since, until, **filters).calls
        model, table, rows = errors, lambda: _errors_table(errors, calls, where), lambda: _errors_rows(errors)
    elif args.report == "conversations":
        try:
            model, table, rows = report_conversations.render(args, store, since, until, where, _grid)
        except report_conversations.Unsupported as exc:
            raise ReportError(str(exc)) from None
    elif args.report == "evals":
        from otel_ai.cli.report_evals import render

        model, table, rows = render(store, args, since, until, where)
    else:
        forecast = reports.forecast_report(store, now, **filters)
        scope = _describe(args, None, None, filters)
        model, table, rows = forecast, lambda: _forecast_table(forecast, scope), lambda: _forecast_rows(forecast)
    if fmt == "json":
        return json.dumps(model.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        header, data = rows()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(data)
        return buffer.getvalue()
    return table()


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _describe(
    args: argparse.Namespace, since: datetime | None, until: datetime | None, filters: Mapping[str, str | None],
) -> str:
    """`last 7d (since 2026-11-22 10:00 UTC)`, `all time`, plus the filters in effect."""
    raw_since = getattr(args, "since", None)
    parts: list[str] = []
    if since is not None and until is not None:
        parts.append(f"{_when(since)} to {_when(until)}")
    elif since is not None:
        text = str(raw_since or "").replace(" ", "").lower()
        relative = re.fullmatch(r"(?:\d+(?:\.\d+)?[smhdw])+", text) is not None
        parts.append(f"last {text} (since {_when(since)})" if relative else f"since {_when(since)}")
    elif until is not None:
        parts.append(f"until {_when(until)}")
    else:
        parts.append("all time")
    active = [f"{k.replace('_', ' ')}={v!r}" for k, v in filters.items() if v is not None]
    if active:
        parts.append(", ".join(active))
    return "; ".join(parts)


# -- number formats ---------------------------------------------------------------------------------------


def _int(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:,.2f} s" if value >= 10_000 else f"{value:,.1f} ms"


def _grid(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool],
          total: Sequence[str] | None = None) -> list[str]:
    """Aligned columns (two spaces apart), a rule under the header and above the total row."""
    everything = [list(headers), *map(list, rows), *([list(total)] if total is not None else [])]
    widths = [max(len(row[i]) for row in everything) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(headers), rule, *(line(row) for row in rows)]
    if total is not None:
        lines += [rule, line(total)]
    return lines


def _pairs(pairs: Sequence[tuple[str, str]]) -> list[str]:
    width = max(len(k) for k, _ in pairs)
    values = max(len(v) for _, v in pairs)
    return [f"{k.ljust(width)}  {v.rjust(values)}".rstrip() for k, v in pairs]


# -- summary -----------------------------------------------------------------------------------------------


def _summary_table(summary: Summary, where: str) -> str:
    lines = [f"GenAI calls, {where}", ""]
    if summary.calls == 0:
        lines.insert(0, "No GenAI calls recorded in this range.")
    pairs = [
        ("calls", _int(summary.calls)),
        ("errors", f"{_int(summary.errors)} ({_percent(summary.error_rate)})"),
        ("cost", format_usd(summary.cost_usd)),
        ("input tokens", _int(summary.input_tokens)),
        ("output tokens", _int(summary.output_tokens)),
        ("characters", _int(summary.characters)),
        ("latency p50", _ms(summary.p50_duration_ms)),
        ("latency p95", _ms(summary.p95_duration_ms)),
        ("cost today (UTC)", format_usd(summary.cost_today)),
        ("cost this month", format_usd(summary.cost_this_month)),
    ]
    if summary.unpriced_calls:
        pairs.append(("unpriced calls", unpriced_text(summary)))
    out = [*lines, *_pairs(pairs)]
    if summary.unpriced_calls:
        out += ["", "Unpriced calls have usage but no cost, so every cost above leaves them out: add a price "
                "with OTEL_AI_PRICING_FILE (docs/pricing.md)."]
    return "\n".join(out) + "\n"


def unpriced_text(summary: Summary) -> str:
    """ "gpt-5-nano \u00d7 3, (none) \u00d7 1": the calls without a price, per model."""
    return ", ".join(f"{u.model or NONE} {_TIMES} {u.calls:,}" for u in summary.unpriced_calls)


def _summary_rows(summary: Summary) -> tuple[list[str], list[list[Any]]]:
    data = summary.model_dump(mode="json")
    header = list(data)
    data["unpriced_calls"] = unpriced_text(summary)
    return header, [[_cell(data[k]) for k in header]]


def _cell(value: Any) -> Any:
    return "" if value is None else value


# -- costs -------------------------------------------------------------------------------------------------

_COST_HEADERS = ("calls", "errors", "input tokens", "output tokens", "characters", "cost (USD)")


def _costs_table(costs: Costs, where: str) -> str:
    group_by = costs.group_by.value
    title = f"Cost by {group_by.replace('_', ' ')}, {where}"
    if not costs.groups:
        return f"No GenAI calls recorded in this range.\n{title}\n"
    rows = [
        [g.key or NONE, _int(g.calls), _int(g.errors), _int(g.input_tokens), _int(g.output_tokens),
         _int(g.characters), format_usd(g.cost_usd)]
        for g in costs.groups
    ]
    t = costs.total
    total = ["total", _int(t.calls), _int(t.errors), _int(t.input_tokens), _int(t.output_tokens),
             _int(t.characters), format_usd(t.cost_usd)]
    right = [False] + [True] * len(_COST_HEADERS)
    lines = _grid([group_by.replace("_", " "), *_COST_HEADERS], rows, right, total)
    return "\n".join([title, "", *lines]) + "\n"


def _costs_rows(costs: Costs) -> tuple[list[str], list[list[Any]]]:
    header = [costs.group_by.value, "calls", "errors", "input_tokens", "output_tokens", "characters", "cost_usd"]
    return header, [
        [g.key, g.calls, g.errors, g.input_tokens, g.output_tokens, g.characters, json_usd(g.cost_usd)]
        for g in costs.groups
    ]


# -- errors ------------------------------------------------------------------------------------------------


def _errors_table(errors: Errors, calls: int, where: str) -> str:
    """Categories with their codes and the advice of `otel_ai.genai.advice`: the category's action,
    then each code's own, so the table says what the dashboard's errors page says."""
    if calls == 0:
        return f"No GenAI calls recorded in this range.\nErrors, {where}\n"
    head = f"Errors, {where}: {errors.total:,} of {calls:,} calls failed ({_percent(errors.total / calls)})"
    if not errors.categories:
        return head + "\n"
    rows = [[c.category, _int(c.count), _percent(c.share), _percent(c.rate), _codes_cell(c)] for c in errors.categories]
    headers = ["category", "count", "share", "of calls", "codes"]
    lines = _grid([*headers, "what to do"], [[*r, ""] for r in rows], [False, True, True, True, False, False])
    indent = len(lines[0]) - len("what to do")
    width = max(40, shutil.get_terminal_size((120, 24)).columns - indent - 1)
    out = lines[:2]
    out[1] = out[1] + "-" * min(width, 10)
    for line, category in zip(lines[2:], errors.categories, strict=True):
        wrapped = textwrap.wrap(category.action, width) or [""]
        for code in category.codes:
            if code.code and code.action:
                wrapped += textwrap.wrap(f"{code.code}: {code.action}", width, subsequent_indent="  ")
        out.append(line.ljust(indent) + wrapped[0])
        out += [" " * indent + more for more in wrapped[1:]]
    return "\n".join([head, "", *out]) + "\n"


def _codes_cell(category: ErrorCategory) -> str:
    """`insufficient_quota 3, - 1`: the provider codes under a category ('-': none recorded)."""
    return ", ".join(f"{c.code or '-'} {c.count:,}" for c in category.codes) or "-"


def _errors_rows(errors: Errors) -> tuple[list[str], list[list[Any]]]:
    """One row per category and code (a category without codes has one row with an empty code)."""
    header = ["category", "count", "share", "rate", "action", "code", "code_count", "code_action"]
    rows: list[list[Any]] = []
    for c in errors.categories:
        head = [c.category, c.count, c.share, c.rate, c.action]
        rows += [[*head, code.code or "", code.count, code.action or ""] for code in c.codes] or [[*head, "", "", ""]]
    return header, rows


# -- forecast ----------------------------------------------------------------------------------------------


def _forecast_table(forecast: Forecast, scope: str) -> str:
    rest = math.fsum(d.cost_usd for d in forecast.projected)
    title = f"Cost forecast for {forecast.month} (UTC)"
    if scope != "all time":
        title += f", {scope}"
    pairs = [
        ("month to date", format_usd(forecast.month_to_date)),
        ("forecast month end", format_usd(forecast.forecast_month_end)),
        ("method", forecast.method),
        ("days elapsed", f"{forecast.days_elapsed:.1f} of {forecast.days_in_month}"),
    ]
    width = max(len(k) for k, _ in pairs)
    lines = [title, ""]
    if forecast.month_to_date == 0 and not any(d.calls for d in forecast.daily):
        lines.insert(0, "No GenAI calls recorded this month.")
    lines += [f"{k.ljust(width)}  {v}" for k, v in pairs]
    # Days with calls; the full series (every day, and each projected day) is in --format json/csv.
    rows = [[d.day.isoformat(), format_usd(d.cost_usd), _int(d.calls)]
            for d in forecast.daily if d.calls or d.cost_usd]
    if forecast.projected:
        first, last = forecast.projected[0].day, forecast.projected[-1].day
        span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        rows.append([f"projected {span}", format_usd(rest), ""])
    if rows:
        lines += ["", *_grid(["day", "cost (USD)", "calls"], rows, [False, True, True])]
    return "\n".join(lines) + "\n"


def _forecast_rows(forecast: Forecast) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = [[d.day.isoformat(), json_usd(d.cost_usd), d.calls, "actual"] for d in forecast.daily]
    rows += [[d.day.isoformat(), json_usd(d.cost_usd), "", "projected"] for d in forecast.projected]
    return ["day", "cost_usd", "calls", "kind"], rows


if __name__ == "__main__":
    raise SystemExit(main())
