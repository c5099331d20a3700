"""Span conversion in worker processes (`otel-ai serve --ingest-processes`): same rows, and a dead
worker only moves the work back into the server."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_store import realistic_batches

from otel_ai.serve.store import open_store, schema


def _rows(store: Any, table: Any) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(select(table)))


def test_rows_are_the_same_whether_converted_here_or_in_a_worker(tmp_path: Path) -> None:
    batches = realistic_batches(3, 20, time.time_ns(), seed=7)
    here, there = open_store(str(tmp_path / "here.db")), open_store(str(tmp_path / "there.db"))
    there.convert_in_processes(1)
    try:
        for batch in batches:
            assert here.ingest_traces(batch) == there.ingest_traces(batch) == 60
            assert there.ingest_traces(batch) == 0  # a retried batch is still recognised
        for table in (schema.spans, schema.genai_calls, schema.traces, schema.genai_rollup_hour):
            assert _rows(here, table) == _rows(there, table)
        assert there._converter is not None  # the worker did the work
    finally:
        here.close()
        there.close()


def test_a_killed_worker_moves_conversion_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    batches = realistic_batches(3, 10, time.time_ns(), seed=8)
    store = open_store(str(tmp_path / "x.db"))
    store.convert_in_processes(1)
    try:
        assert store.ingest_traces(batches[0]) == 30
        converter = store._converter
        assert converter is not None
        for pid in list(converter._processes):  # the pool's own worker processes
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        with caplog.at_level("WARNING", logger="otel_ai.serve"):
            assert store.ingest_traces(batches[1]) == 30
            assert store.ingest_traces(batches[2]) == 30
        assert store._converter is None
        warnings = [r for r in caplog.records if "conversion moved back" in r.getMessage()]
        assert len(warnings) == 1
        assert len(_rows(store, schema.spans)) == 90
    finally:
        store.close()


def test_the_worker_leaves_when_the_server_is_killed(tmp_path: Path) -> None:
    import subprocess

    import psutil

    script = tmp_path / "server.py"
    script.write_text(
        "import os, signal, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2] / 'bench')!r})\n"
        "from bench_store import realistic_batches\n"
        "from otel_ai.serve.store import open_store\n"
        "if __name__ == '__main__':  # the worker is spawned: it imports this file\n"
        f"    store = open_store({str(tmp_path / 'x.db')!r})\n"
        "    store.convert_in_processes(1)\n"
        "    store.ingest_traces(realistic_batches(1, 5, time.time_ns())[0])\n"
        "    print(*store._converter._processes, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr
    workers = [int(pid) for pid in result.stdout.split()]
    assert len(workers) == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                                              for p in workers):
        time.sleep(0.2)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in workers)
