"""`OTEL_AI_SYSTEM_METRICS` and the names it selects; standard library only (the agent's settings import it).

A bad value never stops the app: `parse_system_metrics` returns the fallback (`basic`) and one problem
line naming the variable, which the agent's settings print with the others (and `otel-ai check` /
`OTEL_AI_STRICT=true` turn into exit status 2).
"""

from __future__ import annotations

import enum
import fnmatch
import os
from collections.abc import Mapping, MutableMapping

from otel_ai import variables

SYSTEM_METRICS_VAR = variables.SYSTEM_METRICS.name
# The contrib instrumentation's own exclusion list (fnmatch patterns over its config keys); we honour it
# for our metrics too, so one variable drops a metric whichever package makes it.
EXCLUDED_METRICS_VAR = "OTEL_PYTHON_SYSTEM_METRICS_EXCLUDED_METRICS"
DISABLED_INSTRUMENTATIONS_VAR = "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"
CONTRIB_ENTRY_POINT = "system_metrics"  # opentelemetry-instrumentation-system-metrics
ENTRY_POINT = "otel_ai_system"  # ours, which drives the contrib instrumentor with the chosen set


class MetricSet(enum.Enum):
    """Which host and process metrics to collect."""

    BASIC = "basic"
    FULL = "full"
    OFF = "off"


DEFAULT = MetricSet.BASIC

# What `basic` takes from the contrib instrumentation (its config keys). Disk operations and time are
# in because the shipped slow-disk alert divides one by the other; network I/O is bytes only. Process CPU
# is the time counter (its rate is the utilization; `process.cpu.utilization` would read /proc again).
BASIC_CONTRIB_KEYS: tuple[str, ...] = (
    "system.cpu.utilization",
    "system.memory.usage",
    "system.memory.utilization",
    "system.disk.io",
    "system.disk.operations",
    "system.disk.time",
    "system.network.io",
    "process.cpu.time",
    "process.memory.usage",
    "process.thread.count",
    "process.open_file_descriptor.count",
)

# What we add ourselves, in every set but `off`.
FILESYSTEM_METRICS: tuple[str, ...] = ("system.filesystem.usage", "system.filesystem.utilization")
GPU_METRICS: tuple[str, ...] = (
    "hw.gpu.utilization",
    "hw.gpu.memory.usage",
    "hw.gpu.memory.limit",
    "hw.gpu.memory.utilization",
    "hw.temperature",
    "hw.power",
)


def parse_system_metrics(env: Mapping[str, str] | None = None) -> tuple[MetricSet, str | None]:
    """The set in effect and, for a bad value, the one line saying so (the fallback is `basic`)."""
    env = os.environ if env is None else env
    problems: list[str] = []
    name = variables.SYSTEM_METRICS.choice(env, problems, suffix=" (case-insensitive)")
    return (DEFAULT if name is None else MetricSet(name)), (problems[0] if problems else None)


def excluded_patterns(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The fnmatch patterns of OTEL_PYTHON_SYSTEM_METRICS_EXCLUDED_METRICS."""
    env = os.environ if env is None else env
    return tuple(p.strip() for p in env.get(EXCLUDED_METRICS_VAR, "").split(",") if p.strip())


def is_excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def disable_contrib_entry_point(env: MutableMapping[str, str] | None = None) -> None:
    """Keep `opentelemetry-instrument` from also loading the contrib system-metrics entry point.

    Ours drives the contrib instrumentor with the chosen set; loaded by its own entry point as well it
    would register its whole default set first (or second), whatever OTEL_AI_SYSTEM_METRICS says.
    Nothing changes when the user disabled everything (`*`), the contrib one already, or ours (then
    the contrib instrumentation runs alone, as without otel-ai).
    """
    env = os.environ if env is None else env
    raw = env.get(DISABLED_INSTRUMENTATIONS_VAR, "")
    names = {name.strip() for name in raw.split(",")}
    if names & {"*", CONTRIB_ENTRY_POINT, ENTRY_POINT}:
        return
    env[DISABLED_INSTRUMENTATIONS_VAR] = f"{raw},{CONTRIB_ENTRY_POINT}" if raw.strip() else CONTRIB_ENTRY_POINT
