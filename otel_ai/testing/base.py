"""What every provider simulator shares above the loopback HTTP base (`otel_ai._net`).

A simulator is a `ScenarioService`: scenarios picked per request by a header, a default scenario,
the requests it recorded, and sleeps that its stop interrupts; `serve_until_stopped` is its script
form. `SimulatorHandler` hands each request to the simulator's `_handle`, and `read_incoming` reads
what every provider simulator reads first (path, query, headers, body, JSON, scenario), so a new
provider's simulator only writes its own routes and wire format.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any, ClassVar, Generic, TypeVar

from otel_ai._net import LoopbackHandler, LoopbackService

__all__ = ["SCENARIO_HEADER", "Aborted", "Incoming", "ScenarioService", "SimulatorHandler", "read_incoming",
           "serve_until_stopped"]

SCENARIO_HEADER = "x-simulator-scenario"
"""The request header that picks a scenario for one request, in every simulator."""


class Aborted(Exception):
    """The simulator is stopping or the client went away: drop the connection."""


_Recorded = TypeVar("_Recorded")


class ScenarioService(LoopbackService, Generic[_Recorded]):
    """What both API simulators share: a default scenario checked against theirs, the requests they
    recorded, and sleeps that the simulator's stop interrupts (raising `Aborted`)."""

    scenarios: ClassVar[Mapping[str, str]] = {}

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, default_scenario: str = "ok") -> None:
        if default_scenario not in self.scenarios:
            raise ValueError(f"unknown scenario {default_scenario!r}; known: {', '.join(self.scenarios)}")
        super().__init__(host, port)
        self.default_scenario = default_scenario
        self.requests: list[_Recorded] = []
        self._stopping = threading.Event()

    def _starting(self) -> None:
        self._stopping.clear()

    def _stopping_now(self) -> None:
        self._stopping.set()  # interrupts sleeping scenarios

    def requests_for(self, path: str) -> list[_Recorded]:
        """Recorded requests whose path ends with ``path`` (e.g. ``"/chat/completions"``, ``"/stream"``)."""
        with self._lock:
            return [r for r in self.requests if getattr(r, "path", "").endswith(path)]

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self._stopping.wait(seconds):
            raise Aborted

    def _handle(self, handler: Any) -> None:
        """Answer one request (each simulator's own routes and wire format)."""
        raise NotImplementedError


class SimulatorHandler(LoopbackHandler):
    """Hands every GET and POST to its simulator's `_handle`; writes response heads and JSON bodies."""

    dropped = (Aborted, OSError)
    json_type: ClassVar[str] = "application/json"

    def do_GET(self) -> None:
        owner: Any = self.server.owner
        owner._handle(self)

    def do_POST(self) -> None:
        owner: Any = self.server.owner
        owner._handle(self)

    def send_head(self, status: int, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None,
                  content_type: str | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_head(status, content_type or self.json_type, {**(headers or {}), "Content-Length": str(len(body))})
        self.wfile.write(body)
        self.wfile.flush()


@dataclass(frozen=True, slots=True)
class Incoming:
    """What a simulator reads first from every request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Lower-cased names."""
    raw: bytes
    json: Any
    """The parsed body; None when empty or not JSON (see `json_failed`)."""
    json_failed: bool
    scenario: str


def read_incoming(handler: LoopbackHandler, default_scenario: str) -> Incoming:
    """Read one request's body and headers, parse its JSON, and pick its scenario."""
    path, _, query = handler.path.partition("?")
    raw = handler.read_body()
    headers = {k.lower(): v for k, v in handler.headers.items()}
    parsed: Any = None
    failed = False
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            failed = True
    scenario = headers.get(SCENARIO_HEADER, default_scenario).strip()
    return Incoming(handler.command, path, query, headers, raw, parsed, failed, scenario)


def serve_until_stopped(
    make: Callable[[str, int, str], LoopbackService], description: str, scenarios: Mapping[str, str],
    argv: list[str] | None = None,
) -> int:
    """The script form of a simulator: `--host`, `--port` (0: a free one), `--scenario`; runs until SIGTERM or ^C."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--scenario", default="ok", choices=sorted(scenarios), help="default scenario")
    args = parser.parse_args(argv)

    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    simulator = make(args.host, args.port, args.scenario)
    with simulator:
        print(f"listening on {getattr(simulator, 'base_url', simulator.url)}", flush=True)
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0
