"""Markdown tables for docs/benchmarks.md from one run's pyperf JSON files, with PASS/FAIL against the targets.

    python bench/report.py bench/results/calls.json bench/results/probes.json
"""

import math
import sys

import pyperf

MODES = ("baseline", "otel_ai", "official", "sdk_floor")
GC_COLUMNS = ("p50", "p99", "max", "CPU p99", "CPU max", "gc gen-0/1/2 runs", "longest gen-2", "gc in slowest call",
              "one full gc (CPU, min of 5)", "gc objects", "spans exported")


def main(paths) -> None:
    B = {b.get_name(): b for path in paths for b in pyperf.BenchmarkSuite.load(path)}
    out, verdicts = [], []

    def table(title, columns, rows):
        out.extend([f"\n{title}\n", f"| {' | '.join(columns)} |", "|---|" + "---:|" * (len(columns) - 1)])
        out.extend(f"| {' | '.join(map(str, row))} |" for row in rows)

    def verdict(target, margin, value, noise=0.0):  # PASS when margin >= 0; noise: standard error of the margin
        doubt = " (within 2 standard errors)" if abs(margin) < 2 * noise else ""
        verdicts.append((target, value, f"**{'PASS' if margin >= 0 else 'FAIL'}**{doubt}"))

    def us(b):
        return f"{b.mean() * 1e6:.1f} ± {b.stdev() * 1e6:.1f}"

    def se2(*benches_weights):  # variance of a weighted sum of means, µs²
        return sum((w * b.stdev() * 1e6) ** 2 / len(b.get_values()) for b, w in benches_weights)

    def by_mode(prefix):
        return {m: B[f"{prefix}.{m}"] for m in MODES if f"{prefix}.{m}" in B}

    first = next(iter(B.values()))
    meta = first.get_runs()[-1].get_metadata()
    out.append(f"Python {meta.get('python_version')} | {meta.get('cpu_model_name')} ({meta.get('cpu_count')} cores) | "
               + ", ".join(f"{k[4:]} {v}" for k, v in sorted(meta.items()) if k.startswith("pkg_"))
               + f" | {first.get_dates()[0]:%Y-%m-%d %H:%M} | load avg {meta.get('load_avg_1min')}")

    calls = by_mode("call")
    if "baseline" in calls:
        base = calls["baseline"]
        added = {m: (b.mean() - base.mean()) * 1e6 for m, b in calls.items()}

        rows = [("baseline", us(base), "—", "—", "—", "—", len(base.get_values()))]
        for m, b in list(calls.items())[1:]:
            ratios = [f"{added[m] / added[k]:.2f}x" if added.get(k, 0) > 0 else "—" for k in ("official", "sdk_floor")]
            rows.append((m, us(b), f"{added[m]:.1f} ± {math.hypot(b.stdev(), base.stdev()) * 1e6:.1f}",
                         f"{(b.median() - base.median()) * 1e6:.1f}", *ratios, len(b.get_values())))
        table("**Plain call**, µs per `chat.completions.create` (pyperf: mean ± stdev of all values of all worker "
              "processes; added = mode - baseline, stdevs combined; medians beside)",
              ("mode", "per call", "added", "added (medians)", "/ official's added", "/ sdk_floor's added", "values"),
              rows)
        if {"otel_ai", "official", "sdk_floor"} <= set(added):
            a, o, f = added["otel_ai"], added["official"], added["sdk_floor"]
            for k, name, other in ((0.5, "official", o), (1.3, "sdk_floor", f)):
                noise = se2((calls["otel_ai"], 1), (calls[name], k), (base, 1 - k)) ** 0.5
                verdict(f"plain call: added ≤ {k} x {name}'s", k * other - a,
                        f"{a:.1f} µs vs {k} x {other:.1f} µs", noise)

    s20, s200, rows = by_mode("stream20"), by_mode("stream200"), []
    for m in s200 if "baseline" in s200 else ():
        a20, a200 = ((s[m].mean() - s["baseline"].mean()) * 1e6 for s in (s20, s200))
        sd = math.sqrt(sum(s[k].stdev() ** 2 for s in (s20, s200) for k in {m, "baseline"})) * 1e6 / 180
        noise = se2(*((s[k], 1 / 180) for s in (s20, s200) for k in {m, "baseline"})) ** 0.5
        slope = (a200 - a20) / 180
        rows.append((m, us(s20[m]), us(s200[m]), f"{a20:.1f}", f"{a200:.1f}", f"**{slope:.2f}** ± {sd:.2f}",
                     f"{a20 - 20 * slope:.1f}") if m != "baseline" else (m, us(s20[m]), us(s200[m]), *"————"))
        if m == "otel_ai":
            verdict("stream: added per chunk ≤ 2 µs", 2.0 - slope, f"{slope:.2f} ± {sd:.2f} µs", noise)
    if rows:
        table("**Streams**, µs per fully iterated stream of 20 or 200 content chunks (+ role, finish and usage "
              "chunks; pre-parsed). Per chunk: (added@200 - added@20) / 180; per stream: the intercept",
              ("mode", "20 chunks", "200 chunks", "added @20", "added @200", "**added per chunk**", "per stream"), rows)

    def gc_row(name, b):
        m = b.get_metadata()
        return (name, f"{b.median() * 1e3:.2f}", f"{b.percentile(99) * 1e3:.2f}", f"{max(b.get_values()) * 1e3:.1f}",
                f"{m['cpu_p99_ms']:.2f}", f"{m['cpu_max_ms']:.1f}", "{gc0_count}/{gc1_count}/{gc2_count}".format(**m),
                f"{m['gc2_max_ms']:.1f}", f"{m['worst_call_gc_ms']:.1f}", f"{m['full_collect_ms']:.1f}",
                f"{m['gc_objects_end']:,}", m.get("spans_exported", "—"))

    tails = by_mode("tail")
    if tails:
        n = len(next(iter(tails.values())).get_values())
        table(f"**Tail latency**, {n:,} plain calls per mode after 1,000 warm-up calls, content capture on, ms per "
              "call (wall; CPU = the calling thread's CPU time: gc included, preemption by other processes not)",
              ("mode", *GC_COLUMNS), [gc_row(m, b) for m, b in tails.items()])
        if {"baseline", "otel_ai", "sdk_floor"} <= set(tails):
            stall = {m: (max(b.get_values()) - max(tails["baseline"].get_values())) * 1e3 for m, b in tails.items()}
            verdict("tail: added max stall < 10 ms, or ≤ 1.5 x sdk_floor's",
                    max(10 - stall["otel_ai"], 1.5 * stall["sdk_floor"] - stall["otel_ai"]),
                    f"{stall['otel_ai']:.1f} ms (sdk_floor {stall['sdk_floor']:.1f} ms)")
    study = [gc_row(k[6:], b) for k, b in sorted(B.items()) if k.startswith("study.")]
    if study:
        table("**GC study**: the same tail run under other span-processor / gc settings", ("run", *GC_COLUMNS), study)

    objs = by_mode("objects")
    if objs:
        table("**What one queued span keeps alive** (spans held in the BatchSpanProcessor queue, content capture on; "
              "census after gc.collect())", ("mode", "gc-tracked objects per span", "memory blocks per span",
                                             "by type, per span", "held by", "left after flush, all calls"),
              [(m, f"{b.get_values()[0]:.1f}", f"{x['per_span_blocks']:.1f}", x["per_span_top"], x["span_held_by"],
                x["retained_after_flush"]) for m, b in objs.items() for x in [b.get_metadata()]])

    mem, growth, rows = by_mode("memory"), {}, []
    for m, b in mem.items():
        x, rss = b.get_metadata(), [v / 2**20 for v in b.get_values()]
        obj, blk = ([int(v) for v in x[k].split(",")] for k in ("gc_objects", "blocks"))
        growth[m] = (rss[-1] - rss[1], obj[-1] - obj[1], blk[-1] - blk[1])
        rows.append((m, " → ".join(f"{v:.1f}" for v in rss), " → ".join(map(str, obj)), " → ".join(map(str, blk)),
                     "{:+.2f} / {:+d} / {:+d}".format(*growth[m])))
    if rows:
        table(f"**Memory** at {x['marks']} calls after 1,000 warm-up calls (span queue flushed, gc.collect() and "
              "malloc_trim(0) before each mark)", ("mode", "RSS MiB", "gc objects", "memory blocks",
                                                     "growth 2nd → last mark: RSS MiB / objects / blocks"), rows)
    if {"baseline", "otel_ai"} <= set(growth):
        d = [a - b for a, b in zip(growth["otel_ai"], growth["baseline"], strict=True)]
        verdict("memory flat: growth vs baseline's ≤ 2 MiB RSS, 100 gc objects, 1,000 blocks",
                min(2 - d[0], 100 - d[1], 1000 - d[2]), f"{d[0]:+.2f} MiB, {d[1]:+d} objects, {d[2]:+d} blocks")

    if tails:
        out.append("\nProof of telemetry (last exported span of each tail run): " + ", ".join(
            f"{m} {b.get_metadata()['span_attributes']} attributes" for m, b in tails.items() if m != "baseline")
            + "; otel_ai's swallowed failures: " + tails.get("otel_ai", first).get_metadata().get(
                "otel_ai_guard_failures", "—"))
    table("**Targets**", ("target", "this run", "verdict"), verdicts)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
