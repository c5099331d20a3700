"""CPU time of one collection of the system metrics, per OTEL_AI_SYSTEM_METRICS set.

    .venv/bin/python bench/bench_system.py                 # basic and full, 300 collections each
    .venv/bin/python bench/bench_system.py -n 1000 --sets basic

Each set runs in its own interpreter (the contrib instrumentor is a process-wide singleton): the
`otel_ai_system` instrumentor on a MeterProvider with an InMemoryMetricReader, then `collect()` timed
with the collecting thread's CPU clock (`time.thread_time`), which is what a PeriodicExportingMetricReader's
thread spends before handing the batch to the exporter. Before each collection the readings that the
instruments of one collection share (psutil, disk space, NVML: 0.1 s) are forgotten, so every collection
reads afresh; collections are `--pause` apart (default 0.2 s: CPU caches as cool as a busy 2-core machine
leaves them; `--pause 0` for back to back). The mount table, which the agent reads again every 5 minutes
only, is read once here, as in most collections; its own cost (paid on top once per 5 minutes) is printed
apart.
"SDK floor" is the same number of data points from one observable gauge whose callback returns ready-made
observations: the SDK's share of the cycle, which no collector can avoid.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _child(metric_set: str, n: int, pause: float) -> dict[str, object]:
    os.environ["OTEL_AI_SYSTEM_METRICS"] = metric_set
    from opentelemetry.metrics import Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_ai.system import SystemMetricsInstrumentor

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrumentor = SystemMetricsInstrumentor()
    instrumentor.instrument(meter_provider=provider)
    for _ in range(5):  # first readings set baselines (CPU percentages), instruments' aggregations
        reader.get_metrics_data()
        time.sleep(pause)

    from opentelemetry.instrumentation import system_metrics

    def forget() -> None:
        """What one collection shares with the next one only when they are less than 0.1 s apart."""
        getattr(system_metrics.psutil, "_readings", {}).clear()
        for collector in (instrumentor._filesystem, instrumentor._gpu):
            if collector is not None:
                collector._taken = -1.0e9

    cycles = []
    points = 0
    for _ in range(n):
        time.sleep(pause)
        forget()
        start = time.thread_time()
        data = reader.get_metrics_data()
        cycles.append(time.thread_time() - start)
    metrics: dict[str, int] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                metrics[metric.name] = len(metric.data.data_points)
    points = sum(metrics.values())
    instrumentor.uninstrument()
    provider.shutdown()

    # The SDK's own share: the same number of points, with no reading at all.
    floor_reader = InMemoryMetricReader()
    floor_provider = MeterProvider(metric_readers=[floor_reader])
    ready = [Observation(float(i), {"device": f"d{i % 10}", "state": f"s{i}"}) for i in range(points)]
    floor_provider.get_meter("floor").create_observable_gauge("floor", callbacks=[lambda options: ready])
    floor = []
    for _ in range(n):
        time.sleep(pause)
        start = time.thread_time()
        floor_reader.get_metrics_data()
        floor.append(time.thread_time() - start)
    floor_provider.shutdown()

    import psutil

    mounts = []
    for _ in range(n):
        time.sleep(pause)
        start = time.thread_time()
        psutil.disk_partitions(all=True)
        mounts.append(time.thread_time() - start)

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median_us": round(statistics.median(ordered) * 1e6, 1),
            "p90_us": round(ordered[int(len(ordered) * 0.9)] * 1e6, 1),
            "mean_us": round(statistics.fmean(ordered) * 1e6, 1),
        }

    return {
        "set": metric_set,
        "collections": n,
        "instruments": len(metrics),
        "points": points,
        "cycle": summary(cycles),
        "sdk_floor": summary(floor),
        "mount_table": summary(mounts),
        "metrics": metrics,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100, help="timed collections per set")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between collections")
    parser.add_argument("--sets", nargs="+", default=["basic", "full"], choices=["basic", "full"])
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.n, args.pause)))
        return

    results = []
    for metric_set in args.sets:
        cmd = [sys.executable, __file__, "--child", metric_set, "-n", str(args.n), "--pause", str(args.pause)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        results.append(json.loads(out.stdout))
    print(f"{os.cpu_count()} CPUs, {args.n} collections per set, {args.pause * 1000:.0f} ms apart\n")
    print("| set | instruments | data points | CPU per collection, median | p90 | mean | SDK floor (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c, f = r["cycle"], r["sdk_floor"]
        print(
            f"| {r['set']} | {r['instruments']} | {r['points']} | {c['median_us'] / 1000:.2f} ms "
            f"| {c['p90_us'] / 1000:.2f} ms | {c['mean_us'] / 1000:.2f} ms | {f['median_us'] / 1000:.2f} ms |"
        )
    mounts = results[0]["mount_table"]["median_us"] / 1000
    print(f"\nplus, once per 5 minutes, the mount table (psutil.disk_partitions), median: {mounts:.2f} ms")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
