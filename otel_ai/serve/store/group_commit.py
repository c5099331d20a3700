"""Group commit: concurrent ingest calls share one transaction and one fsync (the store's span writes).

Generic over what is written, so that it is tested without a database (tests/serve/test_group_commit.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class _Pending(Generic[_In, _Out]):
    __slots__ = ("done", "error", "item", "leads", "result")

    def __init__(self, item: _In) -> None:
        self.item = item
        self.done = threading.Event()
        self.leads = False  # handed the writer's role instead of a result
        self.result: _Out | None = None
        self.error: BaseException | None = None

    def outcome(self) -> _Out:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class GroupCommit(Generic[_In, _Out]):
    """Group commit: batches that arrive while one is being written go in together, in one transaction.

    Each caller still returns only once its own batch is committed (durable), but a commit's fsync
    is shared by every batch waiting for it, and the serialized part of ingest shrinks. No thread
    of its own: the first caller writes, later ones wait; the writer hands its role to the oldest
    waiting caller when done. If a group's transaction fails, its batches are written one by one,
    so one bad batch fails only its own request.
    """

    def __init__(self, write: Callable[[Sequence[_In]], list[_Out]], max_group: int = 8) -> None:
        self._write = write
        self._max_group = max_group
        self._lock = threading.Lock()
        self._queue: list[_Pending[_In, _Out]] = []
        self._busy = False

    def run(self, item: _In) -> _Out:
        pending: _Pending[_In, _Out] = _Pending(item)
        with self._lock:
            self._queue.append(pending)
            leads = not self._busy
            self._busy = True
        if not leads:
            pending.done.wait()
            if not pending.leads:
                return pending.outcome()
        with self._lock:  # the writer's own batch is first in the queue
            group = self._queue[: self._max_group]
            del self._queue[: len(group)]
        try:
            self._write_group(group)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].done.set()
                else:
                    self._busy = False
            for other in group:
                if other is not pending:
                    other.done.set()
        return pending.outcome()

    def _write_group(self, group: list[_Pending[_In, _Out]]) -> None:
        try:
            results = self._write([p.item for p in group])
        except BaseException as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for p in group:  # find the bad one: each alone
                try:
                    p.result = self._write([p.item])[0]
                except BaseException as alone:
                    p.error = alone
            return
        for p, result in zip(group, results, strict=True):
            p.result = result
