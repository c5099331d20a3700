"""System metrics the conventions renamed or re-united since the contrib instrumentation wrote them.

The contrib system-metrics instrumentation still writes `process.open_file_descriptor.count` (now
`process.unix.file_descriptor.count`), `process.thread.count` without a unit (now `{thread}`) and
`system.disk.operations` in `operations` (now `{operation}`). Under `OTEL_AI_SEMCONV=current` (or
`both`) the agent takes these out of the contrib set and records them itself with today's names and
units, from the same psutil readings and with the same attributes; `previous` leaves the contrib's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_ai.conventions import Names

# contrib config key -> (our name, unit, description); the name is today's, the key the contrib's
RENAMED: dict[str, tuple[str, str, str]] = {
    "process.open_file_descriptor.count": ("process.unix.file_descriptor.count", "{file_descriptor}",
                                           "Number of unix file descriptors in use by the process."),
    "process.thread.count": ("process.thread.count", "{thread}", "Process threads count."),
    "system.disk.operations": ("system.disk.operations", "{operation}", "Disk operations count."),
}


def recorded_here(names: Names) -> frozenset[str]:
    """The contrib config keys whose metric the agent records itself, by today's name, under `names`."""
    if not names.current:
        return frozenset()
    return frozenset(k for k in RENAMED if sys.platform != "win32" or k != "process.open_file_descriptor.count")


def taken_from_contrib(names: Names) -> frozenset[str]:
    """The contrib config keys left out of its set: those recorded here, but for `both` the old fd-count name,
    which stays with the contrib next to the new one (the other two keep their names, so only one unit can be)."""
    keys = set(recorded_here(names))
    if names.previous:
        keys.discard("process.open_file_descriptor.count")
    return frozenset(keys)


class RenamedCollector:
    """Readings for the renamed metrics, through the contrib module's (shared) psutil."""

    def __init__(self, psutil_module: Any, directions: Iterable[str] = ("read", "write"),
                 skip_device: Callable[[object], bool] | None = None) -> None:
        self._psutil = psutil_module
        self._process = psutil_module.Process()
        self._directions = tuple(directions)
        self._skip = skip_device
        self.active = True

    def observe_fds(self, options: CallbackOptions) -> Iterable[Observation]:
        if self.active:
            yield Observation(self._process.num_fds())

    def observe_threads(self, options: CallbackOptions) -> Iterable[Observation]:
        if self.active:
            yield Observation(self._process.num_threads())

    def observe_disk_operations(self, options: CallbackOptions) -> Iterable[Observation]:
        if not self.active:
            return
        for device, counters in (self._psutil.disk_io_counters(perdisk=True) or {}).items():
            if self._skip is not None and self._skip(device):
                continue
            for direction in self._directions:
                count = getattr(counters, f"{direction}_count", None)
                if count is not None:
                    yield Observation(count, {"device": device, "direction": direction})


def register(meter: Meter, collector: RenamedCollector, keys: Iterable[str]) -> None:
    """Create the instruments for the contrib keys in `keys` (those `taken_from_contrib` returned and wanted)."""
    callbacks = {
        "process.open_file_descriptor.count": (meter.create_observable_up_down_counter, collector.observe_fds),
        "process.thread.count": (meter.create_observable_up_down_counter, collector.observe_threads),
        "system.disk.operations": (meter.create_observable_counter, collector.observe_disk_operations),
    }
    for key in keys:
        name, unit, description = RENAMED[key]
        create, callback = callbacks[key]
        create(name, callbacks=[callback], unit=unit, description=description)
