"""What budgets add to a call: one pyperf benchmark per mode, all in one run (these machines are noisy).

    call.none      the otel_ai mode of harness.py (a real openai client over a mock transport), no budgets
    call.budgets5  the same with 5 budgets installed: 4 alert budgets (every call, the provider, the model, the
                   service) and 1 block budget on the model, so every call runs the gate and adds to all 5
    seam.none      the budget work alone, no budgets: `calls.gate(scope)` + `calls.publish(facts)`
    seam.budgets5  the same with the 5 budgets (what call.budgets5 adds, without the call's noise)

The limits are never reached, so nothing blocks and no notice is sent. The clock is the calling thread's CPU time,
as in bench_calls.py.
    python bench/bench_budgets.py -o budgets.json; python -m pyperf compare_to budgets.json --table
"""

import time

import harness
import pyperf

MODES = ("none", "budgets5")
CLOCK = time.thread_time
_state = None


def budgets5():
    from otel_ai.budgets import Budget

    big = 1e12
    return (
        Budget("all", big),
        Budget("openai", big, scope={"provider": "openai"}, period="week"),
        Budget("mini", big, scope={"model": harness.MODEL}, period="month"),
        Budget("service", big, scope={"service": "bench"}, timezone="Europe/Paris"),
        Budget("mini-hard", big, scope={"provider": "openai", "model": harness.MODEL}, action="block"),
    )


def setup(workload, mode):
    from opentelemetry.sdk.metrics import MeterProvider

    from otel_ai import budgets
    from otel_ai.genai import hooks as calls

    declared = budgets5() if mode == "budgets5" else ()
    tracker = budgets.install(budgets.BudgetConfig(declared), meter_provider=MeterProvider(), service="bench")
    assert (tracker is not None) == bool(declared)
    assert bool(calls.SEAM.gates) == bool(declared)
    if workload == "call":
        return harness.Bench("otel_ai").op
    scope = calls.CallScope("openai", "chat", harness.MODEL, None)
    facts = calls.CallFacts(scope, 4.38e-05, 48, 61, 0, False)
    gate, publish = calls.gate, calls.publish

    def op():
        gate(scope)
        publish(facts)

    return op


def timed(loops, workload, mode):
    global _state
    if _state is None:  # first call in this worker: set the mode up (untimed) and warm its caches
        _state = setup(workload, mode)
        for _ in range(20):
            _state()
    op, clock = _state, CLOCK
    t0 = clock()
    for _ in range(loops):
        op()
    return clock() - t0


def main():
    runner = pyperf.Runner(processes=8, values=5, metadata=harness.versions(),
                           add_cmdline_args=lambda cmd, a: cmd.extend(("--workloads", a.workloads)))
    runner.argparser.add_argument("--workloads", default="call,seam")
    args = runner.parse_args()
    runner.metadata["clock"] = "cpu"
    for workload in args.workloads.split(","):
        for mode in MODES:
            runner.bench_time_func(f"{workload}.{mode}", timed, workload, mode)


if __name__ == "__main__":
    main()
