"""Single-process probes beside pyperf's timings; every mode (and variant) runs in its own subprocess.

    python bench/probes.py tail    -o F   # 5,000 calls, content capture on: per-call p50/p99/max, gc pauses
    python bench/probes.py study   -o F   # the same for otel_ai and sdk_floor under span-queue / gc.freeze() variants
    python bench/probes.py objects -o F   # gc-tracked objects one queued span keeps alive, by type and holder
    python bench/probes.py memory  -o F   # 100k calls: RSS after malloc_trim, gc objects, memory blocks at marks
    python bench/probes.py profile otel_ai  # cProfile hot spots (plain call, 200-chunk stream)

F gets pyperf benchmarks (values in seconds or bytes, the rest in metadata): `python -m pyperf stats F` works.
"""

import argparse
import collections
import ctypes
import gc
import json
import subprocess
import sys
import time

import harness
import pyperf

# Span-processor variants of the study; the SDK's BatchSpanProcessor defaults: queue 2048, batch 512, 5 s delay.
VARIANTS = {"": {}, "small_queue": {"queue": 256, "batch": 64, "delay_ms": 100}, "freeze": {},
            "simple": {"processor": "simple"}}


def tail(b, calls: int, freeze: bool):
    for _ in range(1000):  # warm-up; no gc.collect() after it: the collector's counters carry on as in an app
        b.op()
    if freeze:  # what an app can do once started: take everything alive now out of the collector's walk
        b.flush()
        gc.collect()
        gc.freeze()
    pauses, started, in_call = {0: [], 1: [], 2: []}, [0], [0]

    def on_gc(phase, info):
        now = time.perf_counter_ns()
        if phase == "start":
            started[0] = now
        else:
            pauses[info["generation"]].append(now - started[0])
            in_call[0] += now - started[0]

    wall, cpu, gc_in = [], [], []
    clock, cpu_clock, op = time.perf_counter_ns, time.thread_time_ns, b.op
    gc.callbacks.append(on_gc)
    for _ in range(calls):
        in_call[0] = 0
        t0, c0 = clock(), cpu_clock()
        op()
        wall.append(clock() - t0)
        cpu.append(cpu_clock() - c0)  # this thread's CPU time: gc included, preemption by other processes not
        gc_in.append(in_call[0])
    gc.callbacks.remove(on_gc)
    live, full = len(gc.get_objects()), []
    gc.collect()
    for _ in range(5):  # what one full collection costs with this heap, span queue as it is
        t0 = cpu_clock()
        gc.collect()
        full.append(cpu_clock() - t0)
    cpu.sort()
    meta = {"gc_objects_end": live, "gc_frozen": gc.get_freeze_count(), "full_collect_ms": min(full) / 1e6,
            "worst_call_gc_ms": gc_in[max(range(calls), key=wall.__getitem__)] / 1e6,
            "cpu_p99_ms": cpu[calls * 99 // 100] / 1e6, "cpu_max_ms": cpu[-1] / 1e6}
    for gen, ns in pauses.items():
        meta |= {f"gc{gen}_count": len(ns), f"gc{gen}_max_ms": max(ns, default=0) / 1e6}
    return [t / 1e9 for t in wall], meta


def memory(b, calls: int):
    import psutil

    trim, proc, rss, objects, blocks = ctypes.CDLL("libc.so.6").malloc_trim, psutil.Process(), [], [], []
    marks, done = [0, calls // 10, calls // 2, calls], -1000  # 1,000 warm-up calls first
    for mark in marks:
        while done < mark:
            b.op()
            done += 1
        b.flush()  # drain the span queue: measure what stays, not what waits for the export thread
        gc.collect()
        trim(0)
        rss.append(proc.memory_info().rss)
        objects.append(len(gc.get_objects()))
        blocks.append(sys.getallocatedblocks())
    return rss, {"unit": "byte", "marks": ",".join(map(str, marks)), "gc_objects": ",".join(map(str, objects)),
                 "blocks": ",".join(map(str, blocks))}


def objects(b, spans: int):
    """Hold `spans` spans in the queue (the export thread never runs), count what they add, then flush."""
    for _ in range(200):
        b.op()
    b.flush()

    def census():
        gc.collect()
        return collections.Counter(type(o).__qualname__ for o in gc.get_objects()), sys.getallocatedblocks()

    before, blocks0 = census()
    for _ in range(spans):
        b.op()
    queued, blocks1 = census()
    span = next(o for o in gc.get_objects() if type(o).__name__ == "ReadableSpan")
    holders = ", ".join(sorted({type(r).__qualname__ for r in gc.get_referrers(span) if r is not sys._getframe()}))
    b.flush()
    after, added = census()[0], queued - before
    return [sum(added.values()) / spans], {
        "unit": "integer", "per_span_blocks": (blocks1 - blocks0) / spans, "span_held_by": holders,
        "per_span_top": ", ".join(f"{k} {n / spans:.0f}" for k, n in added.most_common(10) if n >= spans / 2),
        "retained_after_flush": sum((after - before).values())}


def worker(task: str, mode: str, variant: str, n: int, out: str) -> None:
    opts = {"queue": n + 1, "batch": n + 1, "delay_ms": 1e9} if task == "objects" else VARIANTS[variant]
    b = harness.Bench(mode, capture=task != "memory", **opts)
    values, meta = memory(b, n) if task == "memory" else objects(b, n) if task == "objects" else tail(
        b, n, variant == "freeze")
    b.flush()
    meta |= harness.versions() | {"name": ".".join(filter(None, (task, mode, variant))), "mode": mode}
    if b.exporter:
        meta |= {"spans_exported": b.exporter.spans, "span_attributes": b.exporter.attributes}
    if mode == "otel_ai":
        from otel_ai import guard  # failures the agent swallowed: a broken agent must not look fast

        meta["otel_ai_guard_failures"] = json.dumps(guard.failures)
    pyperf.add_runs(out, pyperf.Benchmark([pyperf.Run(values, metadata=meta)]))


def profile(mode: str, calls: int, top: int = 25) -> None:
    import cProfile
    import pstats

    for label, chunks, n in (("plain call", None, calls), ("200-chunk stream", 200, max(calls // 30, 20))):
        b = harness.Bench(mode, chunks)

        def loop(count, b=b):
            for _ in range(count):
                b.op()

        loop(max(20, n // 10))
        prof = cProfile.Profile()
        prof.runcall(loop, n)
        if b.instrumentor:
            b.instrumentor.uninstrument()  # the next section instruments again
        own, rows = collections.Counter(), []
        for (path, line, func), (_, ncalls, tt, ct, _) in pstats.Stats(prof).stats.items():
            pkg = next((p for p in ("otel_ai", "opentelemetry", "wrapt", "openai", "httpx2", "pydantic")
                        if f"/{p}/" in path), "stdlib and builtins")
            own[pkg] += tt * 1e6 / n
            if pkg in ("otel_ai", "opentelemetry", "wrapt"):
                rows.append((ct * 1e6 / n, tt * 1e6 / n, ncalls / n, f"{path.split(f'/{pkg}/')[-1]}:{line}({func})"))
        print(f"\n## {mode}: {label}, {n} under cProfile, µs per call (inflated by the profiler: read the ranking)\n")
        print("own time by package: " + "; ".join(f"{k} {v:.0f}" for k, v in own.most_common()) + "\n")
        print("| cumulative | own | calls | function |\n|---:|---:|---:|---|")
        for ct, tt, nc, name in sorted(rows, reverse=True)[:top]:
            print(f"| {ct:.1f} | {tt:.1f} | {nc:.1f} | `{name}` |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=("tail", "study", "objects", "memory", "profile"))
    p.add_argument("mode", nargs="?", default="otel_ai", help="for profile")
    p.add_argument("-o", "--output", default="bench/results/probes.json")
    p.add_argument("--modes", help="comma-separated; defaults: see main()")
    p.add_argument("-n", type=int, help="calls (tail 5000, memory 100000, profile 3000) or spans (objects 2000)")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    n = a.n or {"memory": 100_000, "objects": 2000, "profile": 3000}.get(a.task, 5000)
    if a.task == "profile":
        return profile(a.mode, n)
    if a.worker:
        return worker(a.task, *a.worker, n, a.output)
    default = {"memory": "baseline,otel_ai", "objects": "otel_ai,official,sdk_floor", "study": "otel_ai,sdk_floor"}
    modes = a.modes or default.get(a.task, ",".join(harness.MODES))
    for variant in [v for v in VARIANTS if v] if a.task == "study" else [""]:
        for mode in modes.split(","):
            print(f"{a.task} {mode} {variant}", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, __file__, a.task, "-n", str(n), "-o", a.output, "--worker", mode, variant],
                           check=True)


if __name__ == "__main__":
    main()
