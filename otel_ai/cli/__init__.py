"""`otel-ai run -- python app.py`: the `opentelemetry-instrument` wrapper with otel-ai's defaults."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence

from otel_ai.errors import ConfigError
from otel_ai.runtime import setup as _setup
from otel_ai.runtime.settings import STRICT_VAR
from otel_ai.version import __version__

_DESCRIPTION = """\
OpenTelemetry tracing, metrics and cost for Python AI apps: run an app instrumented with no code
changes, check the settings, or keep everything on this machine with a local server and reports."""
_EPILOG = """\
examples:
  otel-ai run -- python app.py           # the app, instrumented (OTLP to OTEL_EXPORTER_OTLP_ENDPOINT)
  otel-ai run --console -- python app.py # one line per GenAI call on the console, nothing sent
  otel-ai check                          # the settings in effect; exit 2 on any problem
  otel-ai serve                          # local mode: OTLP in, store, API and dashboard on :8200
  otel-ai report summary --since 7d      # from the local store, no server needed

`otel-ai COMMAND --help` describes each command."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="otel-ai", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"otel-ai {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a program under opentelemetry-instrument with otel-ai defaults")
    run.add_argument("--service-name", help="sets OTEL_SERVICE_NAME")
    run.add_argument(
        "--console", action="store_true", help="print one line per GenAI call; no OTLP traces, metrics or logs"
    )
    run.add_argument("program", nargs=argparse.REMAINDER, help="the command to run, after --")
    check = sub.add_parser("check", help="print the settings in effect and check them (exit 2 on any problem)")
    check.add_argument("--no-probe", action="store_true", help="do not try the OTLP endpoints")
    from otel_ai.cli import serve as _serve

    _serve.add_arguments(sub.add_parser("serve", help="local mode: OTLP receiver, store and API in one process"))
    from otel_ai.cli import report as _report

    _report.add_parser(sub)
    args = parser.parse_args(argv)

    if args.command == "serve":
        return _serve.run_serve(args)

    if args.command == "report":
        return _report.run_report(args)

    if args.command == "check":
        from otel_ai.cli.check import run_check

        return run_check(probe_endpoints=not args.no_probe)

    program = list(args.program)
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        parser.error("run needs a command, e.g. otel-ai run -- python app.py")
    if args.service_name:
        os.environ["OTEL_SERVICE_NAME"] = args.service_name
    if args.console:
        # Console for all three signals: one line per call, and no OTLP metrics or logs left
        # waiting on a collector that is not there (a choice the user made explicitly stays).
        os.environ["OTEL_TRACES_EXPORTER"] = "otel_ai_console"
        os.environ.setdefault("OTEL_METRICS_EXPORTER", "none")
        os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")
    _setup.apply_env_defaults()
    from otel_ai.runtime import state

    if state.settings().strict:  # otherwise the program itself prints each problem once and falls back
        try:
            _setup.validate()
        except ConfigError as exc:
            print(f"otel-ai: configuration error ({STRICT_VAR} is on): {exc}", file=sys.stderr)
            return 2
    wrapper = shutil.which("opentelemetry-instrument") or os.path.join(
        os.path.dirname(sys.executable), "opentelemetry-instrument"
    )
    os.execv(wrapper, [wrapper, *program])
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    raise SystemExit(main())
