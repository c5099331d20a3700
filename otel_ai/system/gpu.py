"""NVIDIA GPU metrics through NVML (`nvidia-ml-py`, module `pynvml`; `pip install 'otel-ai[gpu]'`).

Names follow the OpenTelemetry hardware conventions (development status): `hw.gpu.utilization`,
`hw.gpu.memory.usage`, `hw.gpu.memory.limit`, `hw.gpu.memory.utilization`, and the generic
`hw.temperature` and `hw.power`, every series with the GPU's `hw.id` (its NVML UUID) and
`hw.type=gpu`, so temperature and power join the GPU series on `hw.id`. Without the module, the
driver or a device there is nothing at all, and one debug line says why. A query a device does not
support (power on some boards, utilization on MIG) is dropped for that device after its first refusal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation

from otel_ai.guard import report

_logger = logging.getLogger("otel_ai")

_NOT_SUPPORTED = 3  # NVML_ERROR_NOT_SUPPORTED
_TEMPERATURE_GPU = 0  # NVML_TEMPERATURE_GPU: the die sensor


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass
class _Device:
    handle: Any
    attributes: dict[str, str]
    unsupported: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class GpuReading:
    """One device at one instant; None where the device does not say."""

    attributes: dict[str, str]
    utilization: float | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    temperature: float | None = None
    power: float | None = None


class GpuCollector:
    """The devices NVML sees, read at most once per `max_age` seconds for all six instruments."""

    def __init__(self, nvml: Any, devices: list[_Device], max_age: float = 0.1) -> None:
        self._nvml = nvml
        self._devices = devices
        self.max_age = max_age
        self._lock = threading.Lock()
        self._taken = -1.0e9
        self._readings: list[GpuReading] = []
        self.active = True

    @classmethod
    def start(cls, nvml: Any = None, max_age: float = 0.1) -> GpuCollector | None:
        """A collector when NVML starts and sees at least one device; otherwise None and one debug line."""
        if nvml is None:
            try:
                import pynvml as nvml  # type: ignore[import-not-found,import-untyped,no-redef,unused-ignore]
            except ImportError:
                _logger.debug("otel-ai: no GPU metrics: nvidia-ml-py is not installed (pip install 'otel-ai[gpu]')")
                return None
        try:
            nvml.nvmlInit()
        except Exception as exc:
            _logger.debug("otel-ai: no GPU metrics: NVML did not start (%s: %s)", type(exc).__name__, exc)
            return None
        try:
            devices = [cls._device(nvml, index) for index in range(int(nvml.nvmlDeviceGetCount()))]
        except Exception as exc:
            _logger.debug("otel-ai: no GPU metrics: NVML could not list the devices (%s: %s)", type(exc).__name__, exc)
            cls._shutdown(nvml)
            return None
        if not devices:
            _logger.debug("otel-ai: no GPU metrics: NVML sees no device")
            cls._shutdown(nvml)
            return None
        return cls(nvml, devices, max_age)

    @staticmethod
    def _device(nvml: Any, index: int) -> _Device:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        try:
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        except Exception:
            uuid = f"gpu{index}"
        try:
            model = _text(nvml.nvmlDeviceGetName(handle))
        except Exception:
            model = "unknown"
        attributes = {
            "hw.id": uuid,
            "hw.type": "gpu",
            "hw.name": f"gpu{index}",
            "hw.model": model,
            "hw.vendor": "NVIDIA",
        }
        return _Device(handle, attributes)

    @staticmethod
    def _shutdown(nvml: Any) -> None:
        try:
            nvml.nvmlShutdown()
        except Exception as exc:
            _logger.debug("otel-ai: nvmlShutdown failed: %s", exc)

    def shutdown(self) -> None:
        """Stop observing and release NVML."""
        self.active = False
        self._shutdown(self._nvml)

    # -- reading ---------------------------------------------------------------------------------

    def read(self) -> list[GpuReading]:
        with self._lock:
            if time.monotonic() - self._taken > self.max_age:
                self._readings = [self._read(device) for device in self._devices]
                self._taken = time.monotonic()
            return self._readings

    def _query(self, device: _Device, what: str, *args: Any) -> Any:
        """One NVML call; None if it fails (and never asked again if the device does not support it)."""
        if what in device.unsupported:
            return None
        try:
            return getattr(self._nvml, what)(device.handle, *args)
        except Exception as exc:
            code = getattr(exc, "value", None)
            if code == getattr(self._nvml, "NVML_ERROR_NOT_SUPPORTED", _NOT_SUPPORTED):
                device.unsupported.add(what)
            else:
                report(f"system.gpu.{what}", exc)
            return None

    def _read(self, device: _Device) -> GpuReading:
        rates = self._query(device, "nvmlDeviceGetUtilizationRates")
        memory = self._query(device, "nvmlDeviceGetMemoryInfo")
        sensor = getattr(self._nvml, "NVML_TEMPERATURE_GPU", _TEMPERATURE_GPU)
        temperature = self._query(device, "nvmlDeviceGetTemperature", sensor)
        milliwatts = self._query(device, "nvmlDeviceGetPowerUsage")
        return GpuReading(
            device.attributes,
            utilization=rates.gpu / 100 if rates is not None else None,
            memory_used=int(memory.used) if memory is not None else None,
            memory_total=int(memory.total) if memory is not None else None,
            temperature=float(temperature) if temperature is not None else None,
            power=milliwatts / 1000 if milliwatts is not None else None,
        )

    # -- observable instrument callbacks ---------------------------------------------------------

    def _observe(
        self, value_of: Callable[[GpuReading], float | None], extra: dict[str, str] | None = None
    ) -> list[Observation]:
        if not self.active:
            return []
        try:
            out = []
            for reading in self.read():
                value = value_of(reading)
                if value is not None:
                    attributes = {**reading.attributes, **extra} if extra else reading.attributes
                    out.append(Observation(value, attributes))
            return out
        except Exception as exc:
            report("system.gpu", exc)
            return []

    def observe_utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(lambda r: r.utilization, {"hw.gpu.task": "general"})

    def observe_memory_usage(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(lambda r: r.memory_used)

    def observe_memory_limit(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(lambda r: r.memory_total)

    def observe_memory_utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(
            lambda r: r.memory_used / r.memory_total if r.memory_used is not None and r.memory_total else None
        )

    def observe_temperature(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(lambda r: r.temperature, {"hw.sensor_location": "gpu"})

    def observe_power(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(lambda r: r.power)
