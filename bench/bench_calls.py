"""Time per call: one pyperf benchmark per workload and mode, `call.<mode>`, `stream20.<mode>`, `stream200.<mode>`.

pyperf runs each benchmark in fresh worker processes, so each process holds one mode; gc stays enabled, as in an app.
The clock is the calling thread's CPU time (`time.thread_time`): what the call costs the thread that makes it, gc
included, without the time other processes on this shared machine take the core away (--clock wall for wall time).
    python bench/bench_calls.py -o calls.json [--modes baseline,otel_ai]; python -m pyperf stats calls.json
"""

import time

import harness
import pyperf

WORKLOADS = {"call": None, "stream20": 20, "stream200": 200}
CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}
CLOCK = time.thread_time
_bench = None


def timed(loops: int, mode: str, chunks: int | None) -> float:
    global _bench
    if _bench is None:  # first call in this worker: set the mode up (untimed) and warm its caches
        _bench = harness.Bench(mode, chunks)
        for _ in range(20):
            _bench.op()
    op, clock = _bench.op, CLOCK
    t0 = clock()
    for _ in range(loops):
        op()
    return clock() - t0


def main() -> None:
    global CLOCK
    runner = pyperf.Runner(processes=12, values=5,  # bench/run.sh: 3 rounds of -p 4 instead
                           metadata=harness.versions(),
                           add_cmdline_args=lambda cmd, a: cmd.extend(("--modes", a.modes, "--clock", a.clock)))
    runner.argparser.add_argument("--modes", default=",".join(harness.MODES))
    runner.argparser.add_argument("--clock", choices=CLOCKS, default="cpu")
    args = runner.parse_args()
    CLOCK = CLOCKS[args.clock]
    runner.metadata["clock"] = args.clock
    for workload, chunks in WORKLOADS.items():
        for mode in args.modes.split(","):
            runner.bench_time_func(f"{workload}.{mode}", timed, mode, chunks)


if __name__ == "__main__":
    main()
