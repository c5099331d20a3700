"""The store's group commit: callers arriving during a write share the next transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from otel_ai.serve.store.group_commit import GroupCommit


class Recorder:
    """A fake transaction log: each call to `write` is one transaction of the given items."""

    def __init__(self, delay: float = 0.05, bad: frozenset[int] = frozenset()) -> None:
        self.transactions: list[list[int]] = []
        self.delay = delay
        self.bad = bad
        self.lock = threading.Lock()
        self.active = 0
        self.most_active = 0

    def write(self, items: Sequence[int]) -> list[str]:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(self.delay)
            if any(i in self.bad for i in items):
                raise RuntimeError(f"bad item in {list(items)}")
            with self.lock:
                self.transactions.append(list(items))
            return [f"ok {i}" for i in items]
        finally:
            with self.lock:
                self.active -= 1


def _run_concurrently(group: GroupCommit[int, str], items: list[int]) -> dict[int, str | BaseException]:
    results: dict[int, str | BaseException] = {}
    first_started = threading.Event()

    def call(i: int) -> None:
        if i != items[0]:
            first_started.wait(5)
            time.sleep(0.005)
        else:
            first_started.set()
        try:
            results[i] = group.run(i)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_callers_arriving_during_a_write_share_the_next_transaction_and_each_gets_its_own_result():
    log = Recorder()
    results = _run_concurrently(GroupCommit(log.write), [1, 2, 3, 4, 5])
    assert results == {i: f"ok {i}" for i in (1, 2, 3, 4, 5)}
    assert log.transactions[0] == [1]  # the first caller writes at once
    assert len(log.transactions) == 2 and sorted(log.transactions[1]) == [2, 3, 4, 5]
    assert log.most_active == 1  # one writer at a time


def test_a_bad_batch_fails_only_its_own_caller():
    log = Recorder(bad=frozenset({3}))
    results = _run_concurrently(GroupCommit(log.write), [1, 2, 3, 4])
    assert isinstance(results[3], RuntimeError)
    assert {i: results[i] for i in (1, 2, 4)} == {1: "ok 1", 2: "ok 2", 4: "ok 4"}
    assert sorted(i for t in log.transactions for i in t) == [1, 2, 4]  # each good one committed once


def test_groups_are_bounded_and_every_caller_returns():
    log = Recorder(delay=0.02)
    results = _run_concurrently(GroupCommit(log.write, max_group=2), list(range(9)))
    assert results == {i: f"ok {i}" for i in range(9)}
    assert all(len(t) <= 2 for t in log.transactions)
    assert sorted(i for t in log.transactions for i in t) == list(range(9))


def test_a_lone_caller_sees_the_writers_exception():
    group: GroupCommit[int, str] = GroupCommit(Recorder(delay=0, bad=frozenset({7})).write)
    with pytest.raises(RuntimeError, match="bad item"):
        group.run(7)
    assert group.run(8) == "ok 8"  # and the writer's role was released
