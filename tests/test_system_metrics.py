"""Host, disk, process and GPU metrics (otel_ai.system): values against psutil's own readings, the three sets,
the contrib instrumentor driven once, bad settings, and GPUs through a stand-in for NVML."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import types
from collections import namedtuple
from pathlib import Path
from typing import Any

import psutil
import pytest
from opentelemetry.instrumentation import system_metrics as contrib_module
from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor as Contrib
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_ai.system import SystemMetricsInstrumentor
from otel_ai.system.filesystem import FilesystemCollector, skipped
from otel_ai.system.gpu import GpuCollector
from otel_ai.system.instrumentor import _virtual_disk, _virtual_interface, contrib_config
from otel_ai.system.renamed import RENAMED
from otel_ai.system.settings import (
    BASIC_CONTRIB_KEYS,
    FILESYSTEM_METRICS,
    GPU_METRICS,
    MetricSet,
    disable_contrib_entry_point,
    parse_system_metrics,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Instrument names of the basic set (the contrib config keys are instrument names for all of these), as
# OTEL_AI_SEMCONV=current (the default) names them, and as `previous` does.
BASIC = {*(RENAMED[k][0] if k in RENAMED else k for k in BASIC_CONTRIB_KEYS), *FILESYSTEM_METRICS}
BASIC_PREVIOUS = {*BASIC_CONTRIB_KEYS, *FILESYSTEM_METRICS}
FULL_CONTRIB = set(contrib_config(MetricSet.FULL))


# --- helpers ---------------------------------------------------------------------------------------------
def _points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], float]]]:
    """Metric name -> [(attributes, value)] of one collection."""
    data = reader.get_metrics_data()
    out: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out.setdefault(metric.name, []).extend(
                    (dict(p.attributes or {}), p.value) for p in metric.data.data_points
                )
    return out


@pytest.fixture
def collect(monkeypatch):
    """Instrument on a fresh provider with the given environment; undone after the test."""
    made: list[tuple[SystemMetricsInstrumentor, MeterProvider]] = []
    for var in ("OTEL_AI_SYSTEM_METRICS", "OTEL_PYTHON_SYSTEM_METRICS_EXCLUDED_METRICS", "OTEL_AI_SEMCONV"):
        monkeypatch.delenv(var, raising=False)
    if Contrib._instance is not None and Contrib._instance.is_instrumented_by_opentelemetry:
        Contrib._instance.uninstrument()  # left on by something else in this process

    def _collect(**env: str) -> InMemoryMetricReader:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        instrumentor = SystemMetricsInstrumentor()
        instrumentor.instrument(meter_provider=provider)
        made.append((instrumentor, provider))
        return reader

    yield _collect
    for instrumentor, provider in made:
        instrumentor.uninstrument()
        provider.shutdown()


# --- values against psutil ------------------------------------------------------------------------------
def test_process_rss_matches_psutil_within_10_percent(collect):
    reader = collect()
    before = psutil.Process().memory_info().rss
    ((attributes, rss),) = _points(reader)["process.memory.usage"]
    after = psutil.Process().memory_info().rss
    assert attributes == {}
    assert min(before, after) * 0.9 <= rss <= max(before, after) * 1.1


def test_cpu_utilization_is_a_fraction_and_process_cpu_time_matches_psutil(collect):
    reader = collect()
    sum(i * i for i in range(200_000))  # something for the readings to measure
    before = psutil.Process().cpu_times()
    points = _points(reader)
    after = psutil.Process().cpu_times()
    system = points["system.cpu.utilization"]
    assert {a["state"] for a, _ in system} >= {"idle", "user", "system"}
    assert len({a["cpu"] for a, _ in system}) == psutil.cpu_count()
    assert all(0.0 <= value <= 1.0 for _, value in system), system
    process = {a["type"]: v for a, v in points["process.cpu.time"]}
    assert before.user <= process["user"] <= after.user
    assert before.system <= process["system"] <= after.system


def test_process_cpu_utilization_is_a_fraction_in_the_full_set(collect):
    reader = collect(OTEL_AI_SYSTEM_METRICS="full")
    sum(i * i for i in range(200_000))
    ((_, value),) = _points(reader)["process.cpu.utilization"]
    assert 0.0 <= value <= 1.0


def _mount_of(path: Path, usage: list[tuple[dict[str, Any], float]]) -> dict[str, float]:
    """State -> bytes of the reported filesystem that holds `path` (matched by device number)."""
    device = os.stat(path).st_dev
    mounts = {a["system.filesystem.mountpoint"] for a, _ in usage}
    (mount,) = [m for m in mounts if os.stat(m).st_dev == device]
    return {a["system.filesystem.state"]: v for a, v in usage if a["system.filesystem.mountpoint"] == mount}


def test_filesystem_usage_of_the_test_directory_matches_psutil(collect, tmp_path):
    reader = collect()
    before = psutil.disk_usage(str(tmp_path))
    points = _points(reader)
    after = psutil.disk_usage(str(tmp_path))
    states = _mount_of(tmp_path, points["system.filesystem.usage"])
    assert set(states) == {"used", "free", "reserved"}
    slack = 64 * 2**20  # other processes write to this disk meanwhile
    assert min(before.used, after.used) - slack <= states["used"] <= max(before.used, after.used) + slack
    assert min(before.free, after.free) - slack <= states["free"] <= max(before.free, after.free) + slack
    total = sum(states.values())
    fs = os.statvfs(tmp_path)
    assert total == fs.f_blocks * fs.f_frsize  # the states add up to the size, as the conventions require
    fractions = _mount_of(tmp_path, points["system.filesystem.utilization"])
    for state, value in states.items():
        assert fractions[state] == pytest.approx(value / total, abs=0.01)
    assert sum(fractions.values()) == pytest.approx(1.0)


def test_filesystem_attributes_follow_the_conventions(collect, tmp_path):
    usage = _points(collect())["system.filesystem.usage"]
    device = os.stat(tmp_path).st_dev
    partition = {p.mountpoint: p for p in psutil.disk_partitions(all=True)}
    for attributes, value in usage:
        assert set(attributes) == {
            "system.device",
            "system.filesystem.mountpoint",
            "system.filesystem.type",
            "system.filesystem.state",
        }
        assert value >= 0
        mount = attributes["system.filesystem.mountpoint"]
        assert attributes["system.filesystem.type"] == partition[mount].fstype
        assert not skipped(mount, partition[mount].fstype, partition[mount].opts)
        if os.stat(mount).st_dev == device:
            assert attributes["system.device"] == (partition[mount].device or partition[mount].fstype)
    mounts = [a["system.filesystem.mountpoint"] for a, _ in usage]
    assert len(mounts) == 3 * len(set(mounts))  # used, free, reserved, once per filesystem


# --- the sets ---------------------------------------------------------------------------------------------
def test_basic_is_the_default_set(collect):
    assert set(_points(collect())) == BASIC


def test_full_is_everything_the_contrib_offers_plus_ours(collect):
    names = set(_points(collect(OTEL_AI_SYSTEM_METRICS="FULL")))
    assert names >= BASIC | set(FILESYSTEM_METRICS)
    assert {"system.cpu.time", "system.swap.usage", "process.context_switches", "cpython.gc.collections"} <= names
    # Every contrib config key became an instrument (a few keys differ from their instrument's name).
    renamed = {
        "system.network.dropped.packets": "system.network.dropped_packets",
        "process.runtime.memory": "process.runtime.cpython.memory",
        "process.runtime.cpu.time": "process.runtime.cpython.cpu_time",
        "process.runtime.gc_count": "process.runtime.cpython.gc_count",
        "process.runtime.thread_count": "process.runtime.cpython.thread_count",
        "process.runtime.cpu.utilization": "process.runtime.cpython.cpu.utilization",
        "process.runtime.context_switches": "process.runtime.cpython.context_switches",
        "process.open_file_descriptor.count": "process.unix.file_descriptor.count",
    }
    optional = {"system.network.connections", "process.context_switches", "process.runtime.context_switches"}
    expected = {renamed.get(key, key) for key in FULL_CONTRIB - optional}
    assert expected <= names, expected - names


def test_off_collects_nothing(collect):
    assert _points(collect(OTEL_AI_SYSTEM_METRICS=" off ")) == {}
    assert Contrib._instance is None or not Contrib._instance.is_instrumented_by_opentelemetry


def test_a_bad_value_falls_back_to_basic(collect):
    assert set(_points(collect(OTEL_AI_SYSTEM_METRICS="everything"))) == BASIC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, MetricSet.BASIC), ("", MetricSet.BASIC), (" Full ", MetricSet.FULL), ("OFF", MetricSet.OFF)],
)
def test_parse_accepts_the_three_sets(raw, expected):
    env = {} if raw is None else {"OTEL_AI_SYSTEM_METRICS": raw}
    assert parse_system_metrics(env) == (expected, None)


def test_parse_names_the_variable_and_the_fallback():
    value, problem = parse_system_metrics({"OTEL_AI_SYSTEM_METRICS": "most"})
    assert value is MetricSet.BASIC
    assert problem == "OTEL_AI_SYSTEM_METRICS='most' is not one of: basic, full, off (case-insensitive); using basic"


def test_bad_value_is_reported_by_the_agent_settings():
    """One line on stderr, `otel-ai check` and strict mode: the agent's settings carry the problem."""
    from otel_ai.runtime.settings import Settings

    problems = Settings.from_env({"OTEL_AI_SYSTEM_METRICS": "most"}).problems
    assert [p for p in problems if p.startswith("OTEL_AI_SYSTEM_METRICS=")] == [
        "OTEL_AI_SYSTEM_METRICS='most' is not one of: basic, full, off (case-insensitive); using basic"
    ]


def test_excluded_metrics_apply_to_ours_and_the_contribs(collect):
    reader = collect(OTEL_PYTHON_SYSTEM_METRICS_EXCLUDED_METRICS="system.filesystem.utilization, system.disk.*")
    dropped = {"system.filesystem.utilization", "system.disk.io", "system.disk.operations", "system.disk.time"}
    assert set(_points(reader)) == BASIC - dropped


def test_basic_drops_virtual_devices_but_keeps_the_contrib_shape(collect):
    assert _virtual_disk("loop3") and _virtual_disk("zram0") and _virtual_disk("ram1")
    assert not _virtual_disk("nvme0n1") and not _virtual_disk("vda")
    assert _virtual_interface("lo") and _virtual_interface("veth1a2b") and _virtual_interface("ifb0")
    assert not _virtual_interface("eth0") and not _virtual_interface("ens5")
    basic = _points(collect())
    for name in ("system.disk.io", "system.disk.operations", "system.disk.time"):
        assert not any(_virtual_disk(a["device"]) for a, _ in basic[name]), name
    assert not any(_virtual_interface(a["device"]) for a, _ in basic["system.network.io"])


def test_basic_disk_and_network_series_are_the_full_sets_minus_virtual_devices(collect):
    basic = _points(collect())
    SystemMetricsInstrumentor().uninstrument()
    full = _points(collect(OTEL_AI_SYSTEM_METRICS="full"))
    for name, virtual in (("system.disk.io", _virtual_disk), ("system.network.io", _virtual_interface)):
        keys = {tuple(sorted(a.items())) for a, _ in basic[name]}
        assert keys == {tuple(sorted(a.items())) for a, _ in full[name] if not virtual(a["device"])}, name


def test_one_collection_reads_disk_counters_once(collect, monkeypatch):
    """Disk I/O, operations and time share one psutil reading within a collection."""
    reader = collect()
    calls = []
    real = psutil.disk_io_counters
    monkeypatch.setattr(psutil, "disk_io_counters", lambda *a, **k: calls.append(1) or real(*a, **k))
    time.sleep(contrib_module.psutil.max_age + 0.05)
    _points(reader)
    assert len(calls) == 1


def test_a_failing_part_never_stops_the_others(collect, monkeypatch):
    from otel_ai.system import instrumentor as module

    def broken(*args: Any) -> Any:
        raise RuntimeError("contrib moved")

    monkeypatch.setattr(module, "contrib_config", broken)
    assert set(_points(collect())) == set(FILESYSTEM_METRICS)


# --- the contrib instrumentor is driven once ----------------------------------------------------------------
def test_contrib_is_driven_with_the_chosen_config(collect):
    collect()
    contrib = Contrib._instance
    assert contrib is not None and contrib.is_instrumented_by_opentelemetry
    assert set(contrib._config) == set(BASIC_CONTRIB_KEYS) - set(RENAMED)  # those three are ours now


def test_contrib_instrumented_before_us_is_left_alone_and_nothing_is_registered_twice(collect):
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    Contrib().instrument(meter_provider=provider)
    try:
        instrumentor = SystemMetricsInstrumentor()
        instrumentor.instrument(meter_provider=provider)
        points = _points(reader)
        assert {"system.cpu.time", "system.swap.usage"} <= set(points)  # the contrib's own default set stands
        assert set(FILESYSTEM_METRICS) <= set(points)  # and ours is added
        for name, series in points.items():
            keys = [tuple(sorted(a.items())) for a, _ in series]
            assert len(keys) == len(set(keys)), f"{name} has duplicate series"
    finally:
        SystemMetricsInstrumentor().uninstrument()
        Contrib._instance.uninstrument()
        provider.shutdown()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, "system_metrics"),
        ("", "system_metrics"),
        ("openai", "openai,system_metrics"),
        ("openai, system_metrics", "openai, system_metrics"),
        ("otel_ai_system", "otel_ai_system"),  # ours off: the contrib runs alone, as without otel-ai
        ("*", "*"),
    ],
)
def test_disable_contrib_entry_point(before, after):
    env = {} if before is None else {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": before}
    disable_contrib_entry_point(env)
    assert env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] == after


def test_agent_defaults_disable_the_contrib_entry_point():
    """The distro, otel_ai.configure() and otel-ai run all start from apply_env_defaults."""
    from otel_ai.runtime import setup

    env: dict[str, str] = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai"}
    setup.apply_env_defaults(env)
    assert env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] == "openai,system_metrics"


# Under opentelemetry-instrument with the console exporter: one collection now, printed as JSON.
_EXPORT_NAMES = textwrap.dedent(
    """
    from opentelemetry.metrics import get_meter_provider
    get_meter_provider().force_flush()
    """
)


def _first_export(stdout: str) -> list[str]:
    """Metric names of the first JSON document the console exporter printed (the exit flush prints another)."""
    if not stdout.strip():
        return []  # nothing at all to export
    data, _ = json.JSONDecoder().raw_decode(stdout.lstrip())
    return [m["name"] for rm in data["resource_metrics"] for sm in rm["scope_metrics"] for m in sm["metrics"]]


@pytest.mark.parametrize("metric_set", ["basic", "full", "off"])
def test_under_opentelemetry_instrument_each_set_is_registered_once(metric_set):
    """The real start-up path: opentelemetry-instrument loads both entry points' packages; only ours runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update(
        OTEL_AI_SYSTEM_METRICS=metric_set,
        OTEL_SERVICE_NAME="system-metrics-test",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_METRICS_EXPORTER="console",
        OTEL_METRIC_EXPORT_INTERVAL="600000",
    )
    result = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "-c", _EXPORT_NAMES],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = _first_export(result.stdout)
    system = {n for n in names if n.startswith(("system.", "process.", "cpython.", "hw."))}
    assert len(names) == len(set(names)), "a metric was exported twice"
    assert "already instrumented" not in result.stderr
    if metric_set == "basic":
        assert system == BASIC
    elif metric_set == "full":
        assert system >= BASIC and "system.swap.usage" in system
    else:
        assert system == set()


# --- the filesystem collector, on a made-up mount table ----------------------------------------------------
Part = namedtuple("Part", "device mountpoint fstype opts")
Stat = namedtuple("Stat", "f_bsize f_frsize f_blocks f_bfree f_bavail")


def _collector(parts: list[Part], stats: dict[str, Stat], devices: dict[str, int]) -> FilesystemCollector:
    def statvfs(path: str) -> Stat:
        if path not in stats:
            raise PermissionError(path)
        return stats[path]

    def device_of(path: str) -> int:
        if path not in devices:
            raise FileNotFoundError(path)
        return devices[path]

    return FilesystemCollector(partitions=lambda: parts, statvfs=statvfs, device_of=device_of)


def test_filesystem_selection_and_arithmetic():
    parts = [
        Part("overlay", "/", "overlay", "rw,relatime"),
        Part("proc", "/proc", "proc", "rw"),
        Part("tmpfs", "/proc/kcore", "tmpfs", "rw,size=65536k"),  # a runtime's mask under /proc
        Part("sysfs", "/sys", "sysfs", "ro"),
        Part("/dev/sda1", "/etc/hosts", "ext4", "rw"),  # bind mounts of one disk...
        Part("/dev/sda1", "/data", "ext4", "rw"),  # ...reported once, at the shortest path
        Part("shm", "/dev/shm", "tmpfs", "rw"),
        Part("tmpfs", "/dev/shm", "tmpfs", "rw,size=64m"),  # stacked: the last one is visible
        Part("/dev/loop3", "/snap/core/1", "squashfs", "ro"),
        Part("/dev/sdb", "/models", "ext4", "ro,relatime"),  # read-only: nothing to fill
        Part("srv:/export", "/mnt/nfs", "nfs4", "rw"),
        Part("cgroup2", "/sys/fs/cgroup", "cgroup2", "rw"),
        Part("none", "/empty", "tmpfs", "rw"),  # size 0
        Part("/dev/sdc", "/gone", "ext4", "rw"),  # unmounted since: stat fails
    ]
    stats = {
        "/": Stat(4096, 4096, 1000, 300, 250),
        "/data": Stat(4096, 1024, 2000, 1000, 1000),
        "/dev/shm": Stat(4096, 4096, 16384, 16384, 16384),
        "/empty": Stat(4096, 4096, 0, 0, 0),
    }
    devices = {"/": 1, "/etc/hosts": 2, "/data": 2, "/dev/shm": 3, "/empty": 4, "/mnt/nfs": 5, "/models": 6}
    readings = _collector(parts, stats, devices).read()
    assert [r.attributes for r in readings] == [
        {"system.device": "overlay", "system.filesystem.mountpoint": "/", "system.filesystem.type": "overlay"},
        {"system.device": "/dev/sda1", "system.filesystem.mountpoint": "/data", "system.filesystem.type": "ext4"},
        {"system.device": "tmpfs", "system.filesystem.mountpoint": "/dev/shm", "system.filesystem.type": "tmpfs"},
    ]
    root = readings[0]
    assert (root.used, root.free, root.reserved) == (700 * 4096, 250 * 4096, 50 * 4096)
    assert root.total == 1000 * 4096
    data = readings[1]
    assert (data.used, data.free, data.reserved) == (1000 * 1024, 1000 * 1024, 0)  # f_frsize, not f_bsize


def test_filesystem_reading_is_shared_within_a_collection_and_the_mount_table_kept():
    calls = {"partitions": 0, "statvfs": 0}
    parts = [Part("/dev/vda", "/", "ext4", "rw")]

    def partitions() -> list[Part]:
        calls["partitions"] += 1
        return parts

    def statvfs(path: str) -> Stat:
        calls["statvfs"] += 1
        return Stat(4096, 4096, 10, 5, 4)

    collector = FilesystemCollector(max_age=60, partitions=partitions, statvfs=statvfs, device_of=lambda p: 1)
    usage = list(collector.observe_usage(None))  # type: ignore[arg-type]
    fractions = list(collector.observe_utilization(None))  # type: ignore[arg-type]
    assert calls == {"partitions": 1, "statvfs": 1}
    assert [o.value for o in usage] == [5 * 4096, 4 * 4096, 1 * 4096]
    assert [o.value for o in fractions] == [0.5, 0.4, 0.1]
    collector.max_age = 0
    list(collector.observe_usage(None))  # type: ignore[arg-type]
    assert calls == {"partitions": 1, "statvfs": 2}  # space read again, the mount table kept
    collector.mounts_max_age = 0
    list(collector.observe_usage(None))  # type: ignore[arg-type]
    assert calls == {"partitions": 2, "statvfs": 3}


def test_an_unmounted_filesystem_is_dropped_at_once_not_reported_with_its_parents_space():
    parts = [Part("/dev/vda", "/", "ext4", "rw"), Part("/dev/vdb", "/data", "ext4", "rw")]
    devices = {"/": 1, "/data": 2}
    reads = []

    def partitions() -> list[Part]:
        reads.append(1)
        return parts

    collector = FilesystemCollector(
        max_age=0, partitions=partitions, statvfs=lambda p: Stat(4096, 4096, 10, 5, 5), device_of=devices.__getitem__
    )
    assert [r.attributes["system.filesystem.mountpoint"] for r in collector.read()] == ["/", "/data"]
    parts.pop()
    devices["/data"] = 1  # the directory is back on the root filesystem
    assert [r.attributes["system.filesystem.mountpoint"] for r in collector.read()] == ["/"]
    assert len(reads) == 1
    collector.read()
    assert len(reads) == 2  # the mount table read again at once, not after 5 minutes


def test_a_failing_filesystem_reading_never_raises():
    def broken() -> list[Part]:
        raise RuntimeError("mount table unreadable")

    collector = FilesystemCollector(partitions=broken)
    assert list(collector.observe_usage(None)) == []  # type: ignore[arg-type]


# --- GPUs, through a stand-in for NVML ----------------------------------------------------------------------
class NVMLError(Exception):
    """Like pynvml's: the NVML return code in `value`."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


def _nvml(devices: list[dict[str, Any]], init_error: int | None = None) -> types.ModuleType:
    """A module with the real library's function names and return shapes (nvidia-ml-py 13.x)."""
    nvml = types.ModuleType("pynvml")
    nvml.NVMLError = NVMLError  # type: ignore[attr-defined]
    nvml.NVML_ERROR_NOT_SUPPORTED = 3  # type: ignore[attr-defined]
    nvml.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    nvml.calls = []  # type: ignore[attr-defined]
    Utilization = namedtuple("Utilization", "gpu memory")
    Memory = namedtuple("Memory", "total free used")

    def call(name: str, handle: int | None = None) -> dict[str, Any]:
        nvml.calls.append((name, handle))  # type: ignore[attr-defined]
        device = devices[handle] if handle is not None else {}
        error = device.get("errors", {}).get(name)
        if error is not None:
            raise NVMLError(error)
        return device

    def init() -> None:
        nvml.calls.append(("nvmlInit", None))  # type: ignore[attr-defined]
        if init_error is not None:
            raise NVMLError(init_error)

    nvml.nvmlInit = init  # type: ignore[attr-defined]
    nvml.nvmlShutdown = lambda: nvml.calls.append(("nvmlShutdown", None))  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetCount = lambda: len(devices)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = lambda index: index  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetName = lambda h: call("nvmlDeviceGetName", h)["name"]  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetUUID = lambda h: call("nvmlDeviceGetUUID", h)["uuid"]  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetUtilizationRates = lambda h: Utilization(  # type: ignore[attr-defined]
        call("nvmlDeviceGetUtilizationRates", h)["util"], 10
    )
    nvml.nvmlDeviceGetMemoryInfo = lambda h, version=None: Memory(  # type: ignore[attr-defined]
        call("nvmlDeviceGetMemoryInfo", h)["total"], devices[h]["total"] - devices[h]["used"], devices[h]["used"]
    )

    def temperature(h: int, sensor: int) -> int:
        assert sensor == 0
        return int(call("nvmlDeviceGetTemperature", h)["temp"])

    nvml.nvmlDeviceGetTemperature = temperature  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetPowerUsage = lambda h: call("nvmlDeviceGetPowerUsage", h)["mw"]  # type: ignore[attr-defined]
    return nvml


H200 = {
    "name": "NVIDIA H200",
    "uuid": "GPU-8f3c2a1e-0d4b-4c1e-9a57-2b6f1c0d9e11",
    "util": 37,
    "total": 150_000_000_000,
    "used": 30_000_000_000,
    "temp": 61,
    "mw": 245_500,
}
# Bytes, as nvidia-ml-py before 11.5 returned names; power not supported on this board.
OLD = {
    "name": b"Tesla T4",
    "uuid": b"GPU-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
    "util": 0,
    "total": 16_000_000_000,
    "used": 0,
    "temp": 40,
    "errors": {"nvmlDeviceGetPowerUsage": 3},
}
GPU_ATTRIBUTES = {"hw.type": "gpu", "hw.vendor": "NVIDIA"}


def test_gpu_metrics_from_the_stand_in(collect, monkeypatch):
    nvml = _nvml([H200, OLD])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    points = _points(collect())
    assert set(points) == BASIC | set(GPU_METRICS)
    first = {"hw.id": H200["uuid"], "hw.name": "gpu0", "hw.model": "NVIDIA H200", **GPU_ATTRIBUTES}
    second = {"hw.id": OLD["uuid"].decode(), "hw.name": "gpu1", "hw.model": "Tesla T4", **GPU_ATTRIBUTES}

    def by_id(name: str) -> dict[str, tuple[dict[str, Any], float]]:
        return {a["hw.id"]: (a, v) for a, v in points[name]}

    assert by_id("hw.gpu.utilization") == {
        first["hw.id"]: ({**first, "hw.gpu.task": "general"}, 0.37),
        second["hw.id"]: ({**second, "hw.gpu.task": "general"}, 0.0),
    }
    assert by_id("hw.gpu.memory.usage")[first["hw.id"]] == (first, 30_000_000_000)
    assert by_id("hw.gpu.memory.limit")[first["hw.id"]] == (first, 150_000_000_000)
    assert by_id("hw.gpu.memory.utilization")[first["hw.id"]] == (first, pytest.approx(0.2))
    assert by_id("hw.temperature")[first["hw.id"]] == ({**first, "hw.sensor_location": "gpu"}, 61.0)
    assert by_id("hw.power") == {first["hw.id"]: (first, 245.5)}  # the T4 reports no power: no series


def test_gpu_queries_refused_once_are_not_asked_again(monkeypatch):
    nvml = _nvml([H200, OLD])
    gpu = GpuCollector.start(nvml, max_age=0)
    assert gpu is not None
    for _ in range(3):
        assert [o.value for o in gpu.observe_power(None)] == [245.5]  # type: ignore[arg-type]
    power_calls = [handle for name, handle in nvml.calls if name == "nvmlDeviceGetPowerUsage"]
    assert (power_calls.count(0), power_calls.count(1)) == (3, 1)
    gpu.shutdown()
    assert nvml.calls[-1] == ("nvmlShutdown", None)
    assert list(gpu.observe_utilization(None)) == []  # type: ignore[arg-type]


def test_a_failing_gpu_query_is_skipped_for_that_collection_only(monkeypatch):
    lost = dict(H200, errors={"nvmlDeviceGetTemperature": 15})  # NVML_ERROR_GPU_IS_LOST
    gpu = GpuCollector.start(_nvml([lost]), max_age=0)
    assert gpu is not None
    assert list(gpu.observe_temperature(None)) == []  # type: ignore[arg-type]
    lost["errors"] = {}
    assert [o.value for o in gpu.observe_temperature(None)] == [61.0]  # type: ignore[arg-type]


def test_no_gpu_metrics_when_nvml_init_fails(collect, monkeypatch, caplog):
    nvml = _nvml([H200], init_error=9)  # NVML_ERROR_DRIVER_NOT_LOADED
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    with caplog.at_level("DEBUG", logger="otel_ai"):
        points = _points(collect())
    assert set(points) == BASIC
    lines = [r.getMessage() for r in caplog.records if "GPU" in r.getMessage()]
    assert lines == ["otel-ai: no GPU metrics: NVML did not start (NVMLError: 9)"]
    assert nvml.calls == [("nvmlInit", None)]


def test_no_gpu_metrics_without_nvidia_ml_py(collect, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails, as on this machine
    with caplog.at_level("DEBUG", logger="otel_ai"):
        points = _points(collect())
    assert set(points) == BASIC
    assert [r.getMessage() for r in caplog.records if "GPU" in r.getMessage()] == [
        "otel-ai: no GPU metrics: nvidia-ml-py is not installed (pip install 'otel-ai[gpu]')"
    ]


def test_no_gpu_metrics_without_devices():
    nvml = _nvml([])
    assert GpuCollector.start(nvml) is None
    assert nvml.calls == [("nvmlInit", None), ("nvmlShutdown", None)]


def test_gpu_metrics_stop_and_nvml_is_released_on_uninstrument(collect, monkeypatch):
    nvml = _nvml([H200])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    reader = collect()
    assert "hw.power" in _points(reader)
    SystemMetricsInstrumentor().uninstrument()
    assert nvml.calls[-1] == ("nvmlShutdown", None)
    assert not any(name.startswith("hw.") for name in _points(reader))


# --- OTEL_AI_SEMCONV: the metrics the conventions renamed -----------------------------------------------------
def _units(reader: InMemoryMetricReader) -> dict[str, str]:
    data = reader.get_metrics_data()
    return {m.name: m.unit for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics
            for m in sm.metrics}


def test_current_names_and_units_are_the_default(collect):
    reader = collect()
    units = _units(reader)
    assert units["process.unix.file_descriptor.count"] == "{file_descriptor}"
    assert units["process.thread.count"] == "{thread}"
    assert units["system.disk.operations"] == "{operation}"
    assert "process.open_file_descriptor.count" not in units


def test_previous_keeps_the_contribs_names_and_units(collect):
    reader = collect(OTEL_AI_SEMCONV="previous")
    units = _units(reader)
    assert set(units) == BASIC_PREVIOUS
    assert units["system.disk.operations"] == "operations"
    assert units["process.thread.count"] == ""


def test_both_emits_the_old_and_new_file_descriptor_count_with_one_reading(collect):
    points = _points(collect(OTEL_AI_SEMCONV="Both"))
    assert set(points) == BASIC | {"process.open_file_descriptor.count"}
    [(_, new)] = points["process.unix.file_descriptor.count"]
    [(_, old)] = points["process.open_file_descriptor.count"]
    assert abs(new - old) <= 3  # read a moment apart: the test's own files may open or close in between
    assert abs(new - psutil.Process().num_fds()) <= 3


def test_our_disk_operations_are_the_contribs_series_and_values(collect, monkeypatch):
    """Same devices (virtual ones dropped in basic), attributes and counts as the contrib's callback reads."""
    ours = _points(collect())["system.disk.operations"]
    counters = psutil.disk_io_counters(perdisk=True)
    expected = {(d, direction) for d in counters if not _virtual_disk(d) for direction in ("read", "write")}
    assert {(a["device"], a["direction"]) for a, _ in ours} == expected
    for attributes, value in ours:
        later = getattr(psutil.disk_io_counters(perdisk=True)[attributes["device"]], f"{attributes['direction']}_count")
        assert value <= later


def test_thread_count_matches_psutil(collect):
    [(_, threads)] = _points(collect())["process.thread.count"]
    assert threads == psutil.Process().num_threads()


def test_a_bad_semconv_value_is_one_line_and_falls_back_to_current():
    from otel_ai.runtime.settings import Settings

    problems = Settings.from_env({"OTEL_AI_SEMCONV": "newest"}).problems
    assert [p for p in problems if p.startswith("OTEL_AI_SEMCONV=")] == [
        "OTEL_AI_SEMCONV='newest' is not one of: current, previous, both (case-insensitive); using current"
    ]
