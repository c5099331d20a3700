"""OTLP/HTTP ingest: `otel-ai serve` into SQLite vs Arize Phoenix, the same batches, one run.

    .venv/bin/python bench/bench_ingest.py                              # otel-ai serve only
    .venv/bin/python bench/bench_ingest.py --phoenix /tmp/phx/bin/phoenix  # and Phoenix (its own venv)
    .venv/bin/python bench/bench_ingest.py --spans 90000 --senders 4 --json out.json
    .venv/bin/python bench/bench_ingest.py --db /tmp/otel-ai-1m.db      # into a loaded store (it grows)
    .venv/bin/python bench/bench_ingest.py --loaded /tmp/otel-ai-1m.db --runs 5   # empty vs loaded, side by side
    .venv/bin/python bench/bench_ingest.py --loaded /tmp/otel-ai-1m.db --runs 5 \
        --baseline-env OTEL_AI_SQLITE_CHECKPOINT_PAGES=1000                     # and the same with SQLite's default

`--loaded` copies the loaded store (bench_store.py --keep's file) before each run, so every run
starts from the same million calls; each run sends to an empty store and to the loaded copy, one
after the other, and prints the load average before each; the summary gives the median of runs.
`--baseline-env K=V` adds, in the same interleaving, servers started with that variable set.

The batches are what the agent exports for a FastAPI app (bench_store.realistic_batches): per
trace a SERVER span, a chat CLIENT span with the GenAI, cost and task attributes, and its HTTP
span; 3% failed with an exception event. Each request holds 171 traces (513 spans, the SDK's
BatchSpanProcessor sends at most 512 per export), encoded to protobuf once before timing.
`--senders` threads POST them over keep-alive connections, as several app processes would.

Two figures per server:
- acknowledged: spans per second of 200 responses, first request to last response;
- stored: spans per second until every span is in the server's database (counted in its SQLite
  file). otel-ai serve answers 200 only after the batch is committed (synchronous=FULL), so the
  two are the same for it; Phoenix acknowledges on receipt and inserts from a queue afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_store import realistic_batches

BIN = Path(sys.executable).parent
TRACES_PER_REQUEST = 171  # 513 spans


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_otel_ai(
    db: Path, ingest_processes: str, env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], str]:
    command = [str(BIN / "otel-ai"), "serve", "--port", "0", "--otlp-http-port", "0", "--otlp-grpc-port", "0",
               "--db", str(db), "--ingest-processes", ingest_processes]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"OTLP/HTTP (http://\S+)", proc.stdout.readline())
        if match:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
            return proc, match.group(1)
    proc.kill()
    raise SystemExit("otel-ai serve did not start")


def start_phoenix(phoenix: str, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {**os.environ, "PHOENIX_WORKING_DIR": str(workdir), "PHOENIX_PORT": str(port),
           "PHOENIX_GRPC_PORT": str(free_port()), "PHOENIX_HOST": "127.0.0.1",
           "PHOENIX_TELEMETRY_ENABLED": "false", "DO_NOT_TRACK": "1"}
    log = open(workdir / "phoenix.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([phoenix, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"phoenix did not start: see {workdir / 'phoenix.log'}")


def send_all(base_url: str, bodies: list[bytes], senders: int) -> tuple[float, list[int]]:
    """POST every body to /v1/traces from `senders` threads; seconds from first send to last answer."""
    parts = urlsplit(base_url)
    work: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    for _ in range(senders):
        work.put(None)
    statuses: list[int] = []
    lock = threading.Lock()

    def sender() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        while (body := work.get()) is not None:
            conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
            response = conn.getresponse()
            response.read()
            with lock:
                statuses.append(response.status)
        conn.close()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, statuses


def count_spans(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM spans").fetchone()[0])
    except sqlite3.Error:
        return 0


def count_calls(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return int(conn.execute("SELECT count(*) FROM genai_calls").fetchone()[0])


def journal_mode(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def wait_stored(db: Path, expected: int, started: float, timeout: float = 600) -> float | None:
    """Poll the count; sparingly (0.25 s), so the reader never holds up a writer that is not in WAL mode."""
    last, changed = -1, time.perf_counter()
    while time.perf_counter() - started < timeout and time.perf_counter() - changed < 60:
        count = count_spans(db)
        if count >= expected:
            return time.perf_counter() - started
        if count != last:
            last, changed = count, time.perf_counter()
        time.sleep(0.25)
    return None  # not all stored, or nothing new for a minute


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a server, its threads and its worker processes."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def run_one(
    name: str, base_url: str, db: Path, bodies: list[bytes], spans: int, senders: int, pid: int,
) -> dict[str, Any]:
    # Warm-up (imports, first connection, schema caches): one request, not counted.
    warm = count_spans(db)
    send_all(base_url, bodies[:1], 1)
    wait_stored(db, warm + TRACES_PER_REQUEST * 3, time.perf_counter(), 60)
    before = count_spans(db)
    cpu_before = cpu_s(pid)
    started = time.perf_counter()
    ack_s, statuses = send_all(base_url, bodies, senders)
    stored_s = wait_stored(db, before + spans, started)
    elapsed = time.perf_counter() - started
    cpu = cpu_s(pid) - cpu_before
    ok = statuses.count(200)
    in_db = count_spans(db) - before
    return {
        "server": name, "spans": spans, "requests": len(bodies), "ok": ok,
        "acknowledged_spans_per_s": round(spans / ack_s) if ok == len(bodies) else None,
        "stored_spans_per_s": round(spans / stored_s) if stored_s else None,
        "stored_s": round(stored_s, 2) if stored_s else None,
        "in_db": in_db,
        # when not all were stored: what was, over the time waited
        "stored_spans_per_s_partial": None if stored_s else round(in_db / elapsed),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_us_per_span": round(cpu / max(1, in_db) * 1e6, 1),
        "journal_mode": journal_mode(db),
    }


def rss_mib(pid: int) -> float:
    """Resident memory of a server and its worker processes."""
    import psutil

    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=61_560, help="spans to send (rounded to whole requests)")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--ingest-processes", default="auto", help="otel-ai serve's --ingest-processes")
    parser.add_argument("--phoenix", help="path of Phoenix's `phoenix` command (in its own venv)")
    parser.add_argument("--db", help="otel-ai serve's SQLite file (default: a new one), e.g. bench_store.py --keep's")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--loaded", help="a loaded SQLite store to copy before each run (bench_store.py --keep's)")
    parser.add_argument("--runs", type=int, default=1, help="with --loaded: runs, each empty and loaded")
    parser.add_argument("--baseline-env", action="append", default=[], metavar="K=V",
                        help="with --loaded: also run servers with this variable set, interleaved")
    args = parser.parse_args()
    if args.loaded:
        return side_by_side(args)

    requests = max(1, args.spans // (TRACES_PER_REQUEST * 3))
    # A new seed each run: spans already stored (same ids) would be deduplicated, not counted.
    batches = realistic_batches(requests + 1, TRACES_PER_REQUEST, time.time_ns(), seed=time.time_ns())
    bodies = [b.SerializeToString() for b in batches]
    warm_body, bodies = bodies[:1], bodies[1:]
    spans = requests * TRACES_PER_REQUEST * 3
    print(f"{requests} requests x {TRACES_PER_REQUEST * 3} spans = {spans} spans, "
          f"{sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB each, {args.senders} senders, {os.cpu_count()} CPUs")

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "otel-ai.db"
        proc, url = start_otel_ai(db, args.ingest_processes)
        try:
            loaded = f", {count_calls(db):,} calls" if args.db else ""
            name = f"otel-ai serve (SQLite{loaded}, --ingest-processes {args.ingest_processes})"
            result = run_one(name, url, db, warm_body + bodies, spans, args.senders, proc.pid)
            result["rss_mib"] = round(rss_mib(proc.pid))
            results.append(result)
        finally:
            proc.terminate()
            proc.wait(10)
        if args.phoenix:
            workdir = Path(tmp) / "phoenix"
            workdir.mkdir()
            proc, url = start_phoenix(args.phoenix, workdir)
            try:
                result = run_one("Arize Phoenix (SQLite)", url, workdir / "phoenix.db", warm_body + bodies, spans,
                                 args.senders, proc.pid)
                result["rss_mib"] = round(rss_mib(proc.pid))
                results.append(result)
            finally:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            shutil.copy(workdir / "phoenix.log", Path(tmp) / "phoenix.log")

    print(f"{'server':<58} {'acknowledged/s':>15} {'stored/s':>10} {'stored in':>10} {'CPU µs/span':>12} "
          f"{'RSS MiB':>8}")
    for r in results:
        stored = r["stored_spans_per_s"] or f"{r['stored_spans_per_s_partial']}*"
        when = f"{r['stored_s']} s" if r["stored_s"] else f"{r['in_db']} only*"
        print(f"{r['server']:<58} {r['acknowledged_spans_per_s'] or '-':>15} {stored:>10} {when:>10} "
              f"{r['server_cpu_us_per_span']:>12} {r['rss_mib']:>8}")
    if any(not r["stored_s"] for r in results):
        print("* not every span was stored: the spans stored by the time it gave up (no progress for 60 s, or 10 min)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def side_by_side(args: argparse.Namespace) -> int:
    """Empty store and a fresh copy of the loaded one, alternately, `--runs` times; medians at the end."""
    import statistics

    requests = max(1, args.spans // (TRACES_PER_REQUEST * 3))
    spans = requests * TRACES_PER_REQUEST * 3
    baseline = dict(item.split("=", 1) for item in args.baseline_env)
    variants: list[tuple[str, dict[str, str]]] = [("", {})]
    if baseline:
        variants.append((" [" + " ".join(f"{k}={v}" for k, v in baseline.items()) + "]", baseline))
    calls = count_calls(Path(args.loaded))
    print(f"{requests} requests x {TRACES_PER_REQUEST * 3} spans = {spans} spans, {args.senders} senders, "
          f"{os.cpu_count()} CPUs, {args.runs} runs; loaded store: {args.loaded} ({calls:,} calls)")
    rows: dict[str, list[dict[str, Any]]] = {}
    for run in range(args.runs):
        for suffix, env in variants:
            for kind in ("empty", "loaded"):
                batches = realistic_batches(requests + 1, TRACES_PER_REQUEST, time.time_ns(), seed=time.time_ns())
                bodies = [b.SerializeToString() for b in batches]
                with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
                    db = Path(tmp) / "otel-ai.db"
                    if kind == "loaded":
                        shutil.copyfile(args.loaded, db)
                        os.sync()
                    load = os.getloadavg()[0]
                    proc, url = start_otel_ai(db, args.ingest_processes, env)
                    try:
                        result = run_one(f"{kind}{suffix}", url, db, bodies, spans, args.senders, proc.pid)
                        result["calls_before"] = count_calls(db) if kind == "loaded" else 0
                    finally:
                        proc.terminate()
                        proc.wait(30)
                result["load_average"] = round(load, 2)
                rows.setdefault(result["server"], []).append(result)
                ack, stored = result["acknowledged_spans_per_s"] or "-", result["stored_spans_per_s"] or "-"
                print(f"run {run + 1} {result['server']:<48} load {load:5.2f}  acknowledged/s {ack:>7}  "
                      f"stored/s {stored:>7}  CPU µs/span {result['server_cpu_us_per_span']:>6}", flush=True)
    print(f"\n{'store':<48} {'runs':>4} {'median ack/s':>12} {'min':>7} {'max':>7} {'median load':>11}")
    summary = {}
    for name, results in rows.items():
        acks = [r["acknowledged_spans_per_s"] or 0 for r in results]
        loads = [r["load_average"] for r in results]
        summary[name] = {"median_acknowledged_spans_per_s": statistics.median(acks), "runs": acks,
                         "median_load_average": statistics.median(loads)}
        print(f"{name:<48} {len(acks):>4} {statistics.median(acks):>12,.0f} {min(acks):>7,} {max(acks):>7,} "
              f"{statistics.median(loads):>11.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
