"""Disk space per filesystem: `system.filesystem.usage` and `.utilization`, which the contrib instrumentation lacks.

One reading (a `statvfs` per filesystem; the mount table, with a `stat` per mount, every 5 minutes) serves
both instruments of a collection. What is reported, and why:

* every mounted filesystem the app can write to, except pseudo ones (no disk space behind them) and
  network ones (a `statvfs` on an unreachable server blocks the metrics thread; watch those from the
  server). `overlay`, a container's root, is kept, and so is `tmpfs` (`/dev/shm` filling up breaks data
  loaders and shared-memory IPC);
* read-only mounts and read-only images (squashfs, iso9660, erofs) are skipped: nothing the app can
  fill, and a volume packed full on purpose (model weights) would keep a disk-full alert firing;
* mounts under /proc and /sys are skipped (container runtimes mask paths there with small tmpfs);
* one filesystem mounted at several places (bind mounts, such as /etc/hosts in a container) is reported
  once, at its shortest mount path, so sums and alerts count each disk once;
* states as `statvfs` gives them, summing to the size: `used` (blocks - free blocks), `free` (available
  to unprivileged users, what the app can still write) and `reserved` (kept for root).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psutil
from opentelemetry.metrics import CallbackOptions, Observation

from otel_ai.guard import report

PSEUDO_TYPES: frozenset[str] = frozenset(
    {
        # kernel interfaces, not storage
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "ramfs",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
        "fuse.lxcfs",
        "fuse.gvfsd-fuse",
        "fuse.portal",
        "nfsd",
        # read-only images: always full
        "squashfs",
        "iso9660",
        "udf",
        "erofs",
        "cramfs",
        # network filesystems: statvfs can block on an unreachable server
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.sshfs",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.glusterfs",
        "fuse.ceph",
    }
)
PSEUDO_ROOTS: tuple[str, ...] = ("/proc", "/sys")


@dataclass(frozen=True)
class FilesystemReading:
    """One filesystem's space in bytes, with its attributes (without the state)."""

    attributes: dict[str, str]
    used: int
    free: int
    reserved: int

    @property
    def total(self) -> int:
        return self.used + self.free + self.reserved

    def by_state(self) -> tuple[tuple[str, int], ...]:
        return (("used", self.used), ("free", self.free), ("reserved", self.reserved))


def skipped(mountpoint: str, fstype: str, opts: str = "") -> bool:
    """Pseudo, read-only-image and network filesystems, read-only mounts, and anything under /proc or /sys."""
    if fstype in PSEUDO_TYPES or "ro" in opts.split(","):
        return True
    return any(mountpoint == root or mountpoint.startswith(root + "/") for root in PSEUDO_ROOTS)


class FilesystemCollector:
    """Reads the mounted filesystems' space at most once per `max_age` seconds and observes it.

    The mount table is read again every `mounts_max_age` seconds (a volume mounted later shows up within
    that time): it is most of a reading's cost, and it rarely changes. A filesystem unmounted since is
    noticed at once (its path has another device number) and the table is read again at the next reading.
    """

    def __init__(
        self,
        max_age: float = 0.1,
        mounts_max_age: float = 300.0,
        partitions: Callable[[], Sequence[Any]] | None = None,
        statvfs: Callable[[str], Any] | None = None,
        device_of: Callable[[str], int] | None = None,
    ) -> None:
        self.max_age = max_age
        self.mounts_max_age = mounts_max_age
        self._partitions = partitions or (lambda: psutil.disk_partitions(all=True))
        self._statvfs = statvfs or getattr(os, "statvfs", None)
        self._device_of = device_of or (lambda path: os.stat(path).st_dev)
        self._lock = threading.Lock()
        self._taken = self._mounts_taken = -1.0e9
        self._mounts: list[tuple[dict[str, str], object]] = []
        self._readings: list[FilesystemReading] = []
        self.active = True

    def read(self) -> list[FilesystemReading]:
        """The last reading if younger than `max_age` (both instruments of a collection share it)."""
        with self._lock:
            now = time.monotonic()
            if now - self._taken > self.max_age:
                if now - self._mounts_taken > self.mounts_max_age:
                    self._mounts = self._select_mounts()
                    self._mounts_taken = now
                readings = [self._reading(attributes, key) for attributes, key in self._mounts]
                self._readings = [r for r in readings if r is not None]
                self._taken = time.monotonic()
            return self._readings

    def _select_mounts(self) -> list[tuple[dict[str, str], object]]:
        """(attributes, device number) of each filesystem to report, one per filesystem, by mount path."""
        # The mount table lists stacked mounts in order: the last one at a path is the one visible there.
        top: dict[str, Any] = {}
        for part in self._partitions():
            top[part.mountpoint] = part
        # One entry per filesystem: bind mounts share the device number; keep the shortest path.
        chosen: dict[object, Any] = {}
        for mountpoint, part in top.items():
            if skipped(mountpoint, part.fstype, getattr(part, "opts", "") or ""):
                continue
            try:
                key: object = self._device_of(mountpoint) or mountpoint
            except OSError:
                continue  # gone, or not ours to look at
            best = chosen.get(key)
            if best is None or (len(mountpoint), mountpoint) < (len(best.mountpoint), best.mountpoint):
                chosen[key] = part
        return [
            (
                {
                    "system.device": part.device or part.fstype,
                    "system.filesystem.mountpoint": part.mountpoint,
                    "system.filesystem.type": part.fstype,
                },
                key,
            )
            for key, part in sorted(chosen.items(), key=lambda item: item[1].mountpoint)
        ]

    def _reading(self, attributes: dict[str, str], key: object) -> FilesystemReading | None:
        """(used, free, reserved) in bytes, as `df` computes them; None for a size of 0 or a vanished mount."""
        mountpoint = attributes["system.filesystem.mountpoint"]
        try:
            if (self._device_of(mountpoint) or mountpoint) != key:
                self._mounts_taken = -1.0e9  # unmounted or replaced: read the mount table next time
                return None
            if self._statvfs is None:  # Windows: no statvfs, no reserved blocks
                usage = psutil.disk_usage(mountpoint)
                used, free, reserved = usage.used, usage.free, max(usage.total - usage.used - usage.free, 0)
            else:
                st = self._statvfs(mountpoint)
                block = st.f_frsize or st.f_bsize
                used = (st.f_blocks - st.f_bfree) * block
                free = st.f_bavail * block
                reserved = max(st.f_bfree - st.f_bavail, 0) * block
        except OSError:
            return None
        if used + free + reserved == 0:
            return None
        return FilesystemReading(attributes, used, free, reserved)

    # -- observable instrument callbacks ---------------------------------------------------------

    def observe_usage(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(False)

    def observe_utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(True)

    def _observe(self, fraction: bool) -> list[Observation]:
        if not self.active:
            return []
        try:
            out = []
            for reading in self.read():
                total = reading.total
                for state, value in reading.by_state():
                    attributes = {**reading.attributes, "system.filesystem.state": state}
                    out.append(Observation(value / total if fraction else value, attributes))
            return out
        except Exception as exc:
            report("system.filesystem", exc)
            return []
