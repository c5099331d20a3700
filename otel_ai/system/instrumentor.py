"""The `otel_ai_system` instrumentor: the contrib system metrics with the chosen set, plus disk space and GPUs.

The contrib `SystemMetricsInstrumentor` (opentelemetry-instrumentation-system-metrics) stays the source
of CPU, memory, disk I/O, network and process metrics; we only choose its config from
OTEL_AI_SYSTEM_METRICS and add what it lacks. It is a per-class singleton whose `instrument()` does
nothing the second time, so it is driven once, by us: the distro keeps `opentelemetry-instrument` from
loading its own entry point too (`settings.disable_contrib_entry_point`). If something instrumented it
before us anyway, its set stands and we add only our own metrics, never registering its twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.metrics import CallbackOptions, Meter, Observation, get_meter

from otel_ai.conventions import parse_semconv
from otel_ai.guard import report
from otel_ai.system import renamed as _renamed
from otel_ai.system import settings as _settings
from otel_ai.system.filesystem import FilesystemCollector
from otel_ai.system.gpu import GpuCollector
from otel_ai.system.settings import FILESYSTEM_METRICS, GPU_METRICS, MetricSet

_logger = logging.getLogger("otel_ai")
SCOPE = "otel_ai.system"


def contrib_config(metric_set: MetricSet, excluded: tuple[str, ...] = ()) -> dict[str, list[str] | None]:
    """The contrib instrumentor's `config` for a set: `full` is its whole default, `basic` our subset.

    Attribute lists are the contrib defaults, so nothing changes if its `__init__` runs again (it does on
    every `SystemMetricsInstrumentor()` call and resets the config to the default).
    """
    if metric_set is MetricSet.OFF:
        return {}
    from opentelemetry.instrumentation import system_metrics

    default: dict[str, list[str] | None] = dict(getattr(system_metrics, "_DEFAULT_CONFIG", {}))
    keys = default if metric_set is MetricSet.FULL else [k for k in _settings.BASIC_CONTRIB_KEYS if k in default]
    return {key: default[key] for key in keys if not _settings.is_excluded(key, excluded)}


class SystemMetricsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Host, process, disk-space and GPU metrics, as OTEL_AI_SYSTEM_METRICS (basic | full | off) selects."""

    _filesystem: FilesystemCollector | None = None
    _renamed: _renamed.RenamedCollector | None = None
    _gpu: GpuCollector | None = None
    _drove_contrib = False
    metric_set: MetricSet = _settings.DEFAULT

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("psutil >= 5",)

    def _instrument(self, **kwargs: Any) -> None:
        # A bad value is reported once with the agent's other settings; here only the fallback matters.
        metric_set, _ = _settings.parse_system_metrics()
        self.metric_set = metric_set
        if metric_set is MetricSet.OFF:
            _logger.debug("otel-ai: system metrics off (%s=off)", _settings.SYSTEM_METRICS_VAR)
            return
        meter_provider = kwargs.get("meter_provider")
        excluded = _settings.excluded_patterns()
        wanted = {name for name in (*FILESYSTEM_METRICS, *GPU_METRICS) if not _settings.is_excluded(name, excluded)}
        names, _ = parse_semconv()
        config: dict[str, list[str] | None] = {}
        renamed: list[str] = []
        # Each part on its own: a failure is logged once at debug level and the others (and the app) go on.
        try:
            config = contrib_config(metric_set, excluded)
            renamed = sorted(_renamed.recorded_here(names) & set(config))
            taken = _renamed.taken_from_contrib(names)
            self._drive_contrib({k: v for k, v in config.items() if k not in taken}, meter_provider)
        except Exception as exc:
            report("system.contrib", exc)
        try:
            if renamed and self._drove_contrib:  # a contrib instrumented before us keeps its own names
                from opentelemetry.instrumentation import system_metrics

                skip = _virtual_disk if metric_set is MetricSet.BASIC else None
                directions = config.get("system.disk.operations") or ("read", "write")
                shared = getattr(system_metrics, "psutil")  # noqa: B009 (mypy: not an exported name)
                self._renamed = _renamed.RenamedCollector(shared, directions, skip)
                _renamed.register(get_meter(SCOPE, _version(), meter_provider), self._renamed, renamed)
        except Exception as exc:
            report("system.renamed", exc)
        try:
            meter = get_meter(SCOPE, _version(), meter_provider)
            if wanted & set(FILESYSTEM_METRICS):
                self._filesystem = FilesystemCollector()
                _add_instruments(meter, self._filesystem, _FILESYSTEM_INSTRUMENTS, wanted)
        except Exception as exc:
            report("system.filesystem.setup", exc)
            return
        try:
            if wanted & set(GPU_METRICS):
                self._gpu = GpuCollector.start()
                if self._gpu is not None:
                    _add_instruments(meter, self._gpu, _GPU_INSTRUMENTS, wanted)
        except Exception as exc:
            report("system.gpu.setup", exc)

    def _uninstrument(self, **kwargs: Any) -> None:
        """Our instruments go quiet and NVML is released. The contrib instruments cannot be removed from
        their meter (its uninstrument does nothing); it is only marked uninstrumented, so that a new
        `instrument()` (on another meter provider) can drive it again."""
        if self._filesystem is not None:
            self._filesystem.active = False
            self._filesystem = None
        if self._renamed is not None:
            self._renamed.active = False
            self._renamed = None
        if self._gpu is not None:
            self._gpu.shutdown()
            self._gpu = None
        if self._drove_contrib:
            self._drove_contrib = False
            contrib = _contrib_class()._instance
            if contrib is not None and contrib.is_instrumented_by_opentelemetry:
                contrib.uninstrument()

    def _drive_contrib(self, config: dict[str, list[str] | None], meter_provider: Any) -> None:
        if not config:
            return
        contrib_class = _contrib_class()
        existing = contrib_class._instance  # not contrib_class(): that would reset a running one's config
        if existing is not None and existing.is_instrumented_by_opentelemetry:
            _logger.debug(
                "otel-ai: the contrib system-metrics instrumentation was on before ours, with its own set: "
                "%s does not apply to it (add %s to %s); adding disk-space and GPU metrics only",
                _settings.SYSTEM_METRICS_VAR,
                _settings.CONTRIB_ENTRY_POINT,
                _settings.DISABLED_INSTRUMENTATIONS_VAR,
            )
            return
        _share_readings()
        contrib = contrib_class(config=config)
        _curate(contrib, self.metric_set is MetricSet.BASIC)
        contrib.instrument(meter_provider=meter_provider, skip_dep_check=True)
        self._drove_contrib = True


# name, observable kind, the collector's callback, unit, description
_Instrument = tuple[str, str, str, str, str]
_FILESYSTEM_INSTRUMENTS: tuple[_Instrument, ...] = (
    ("system.filesystem.usage", "up_down_counter", "observe_usage", "By",
     "Filesystem space by state (used, free to unprivileged users, reserved for root)."),
    ("system.filesystem.utilization", "gauge", "observe_utilization", "1",
     "Fraction of the filesystem's size in each state."),
)
_GPU_INSTRUMENTS: tuple[_Instrument, ...] = (
    ("hw.gpu.utilization", "gauge", "observe_utilization", "1",
     "Fraction of time a kernel was running on the GPU (NVML utilization.gpu)."),
    ("hw.gpu.memory.usage", "up_down_counter", "observe_memory_usage", "By", "GPU memory used."),
    ("hw.gpu.memory.limit", "up_down_counter", "observe_memory_limit", "By", "Size of the GPU memory."),
    ("hw.gpu.memory.utilization", "gauge", "observe_memory_utilization", "1", "Fraction of GPU memory used."),
    ("hw.temperature", "gauge", "observe_temperature", "Cel", "GPU die temperature."),
    ("hw.power", "gauge", "observe_power", "W", "Power drawn by the GPU."),
)


def _add_instruments(meter: Meter, collector: Any, instruments: tuple[_Instrument, ...], wanted: set[str]) -> None:
    """Register the wanted observable instruments, each reading `collector`'s callback."""
    for name, kind, callback, unit, description in instruments:
        if name in wanted:
            create = meter.create_observable_gauge if kind == "gauge" else meter.create_observable_up_down_counter
            create(name, callbacks=[getattr(collector, callback)], unit=unit, description=description)


class _SharedPsutil:
    """The contrib module's `psutil`, letting the callbacks of one collection share each host-wide reading.

    Its callbacks read psutil separately: `disk_io_counters` three times (disk I/O, operations, time),
    `virtual_memory` and `swap_memory` twice, `net_io_counters` up to four times, each a walk through /proc
    and /sys. Within `max_age` seconds (one collection's callbacks run within milliseconds, collections are
    a minute apart) a call with the same arguments returns the same reading; should a collection outlast
    it, it only reads again. Everything else, `psutil.Process` included, passes through untouched.
    """

    SHARED = frozenset({"disk_io_counters", "net_io_counters", "swap_memory", "virtual_memory"})

    def __init__(self, module: Any, max_age: float = 0.1) -> None:
        self._module = module
        self.max_age = max_age
        self._lock = threading.Lock()
        self._readings: dict[tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]], tuple[float, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if name not in self.SHARED:
            return value

        def shared(*args: Any, **kwargs: Any) -> Any:
            key = (name, args, tuple(sorted(kwargs.items())))
            with self._lock:
                now = time.monotonic()
                taken = self._readings.get(key)
                if taken is None or now - taken[0] > self.max_age:
                    taken = self._readings[key] = (now, value(*args, **kwargs))
                return taken[1]

        return shared


def _share_readings() -> None:
    """Give the contrib module a `_SharedPsutil` in place of `psutil` (once per process)."""
    from opentelemetry.instrumentation import system_metrics

    current = getattr(system_metrics, "psutil", None)
    if current is not None and not isinstance(current, _SharedPsutil):
        setattr(system_metrics, "psutil", _SharedPsutil(current))  # noqa: B010 (mypy: not an exported name)


def _virtual_disk(device: object) -> bool:
    return isinstance(device, str) and device.startswith(("loop", "ram", "zram"))


def _virtual_interface(device: object) -> bool:
    return device == "lo" or (isinstance(device, str) and device.startswith(("veth", "ifb")))


# `basic` leaves out devices that are not storage or network hardware: loop devices (snap and container
# images), RAM disks and zram swap; the loopback interface, veth pairs (one per container on a host, their
# traffic is seen again on the bridge or inside the container) and ifb (traffic shaping). The dashboards
# filter most of them out anyway, and on the 2-core machine of bench/bench_system.py they were more than
# half of the basic set's data points, each of which costs the SDK about as much as reading it.
_BASIC_DEVICE_FILTERS: dict[str, Callable[[object], bool]] = {
    "_get_system_disk_io": _virtual_disk,
    "_get_system_disk_operations": _virtual_disk,
    "_get_system_disk_time": _virtual_disk,
    "_get_system_network_io": _virtual_interface,
}


def _curate(contrib: Any, basic: bool) -> None:
    """Filter the contrib callbacks of `_BASIC_DEVICE_FILTERS` on its instance for `basic`; restore them otherwise.

    Its `_instrument` registers `self._get_...`, so an instance attribute set before `instrument()` is what
    gets registered. A contrib release without one of these methods just keeps its own.
    """
    for name, drop in _BASIC_DEVICE_FILTERS.items():
        vars(contrib).pop(name, None)
        method = getattr(type(contrib), name, None)
        if basic and callable(method):
            setattr(contrib, name, _without(method.__get__(contrib), drop))


def _without(callback: Callable[[CallbackOptions], Iterable[Observation]], drop: Callable[[object], bool]) -> Any:
    def observe(options: CallbackOptions) -> list[Observation]:
        return [o for o in callback(options) if not drop((o.attributes or {}).get("device"))]

    return observe


def _contrib_class() -> Any:
    from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor as Contrib

    return Contrib


def _version() -> str:
    from otel_ai.version import __version__

    return __version__
