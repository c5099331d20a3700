"""What every provider simulator shares above the loopback HTTP base (`otel_ai._net`).

A simulator is a `ScenarioService`: scenarios picked per request by a header, a default scenario,
the requests it recorded, and sleeps that its stop interrupts; `serve_until_stopped` is its script
form. The OpenAI and ElevenLabs simulators build on it, and so will the next providers'.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import ClassVar, Generic, TypeVar

from otel_ai._net import LoopbackService

__all__ = ["Aborted", "ScenarioService", "serve_until_stopped"]


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
