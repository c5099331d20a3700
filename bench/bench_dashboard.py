"""The dashboard at a million stored calls: overview load time in Chromium, API latency over HTTP, server RSS.

    .venv/bin/python bench/bench_store.py --db /tmp/otel-ai-1m.db --keep     # load 1,000,000 calls once
    .venv/bin/python bench/bench_dashboard.py --db /tmp/otel-ai-1m.db

Starts `otel-ai serve` on that store (its own process, free ports), loads the overview page in
Debian's Chromium (headless, through Playwright) until the page marks itself rendered
(`<body data-ready>`: every number filled and every chart drawn), and reports the median and
worst of the loads; then times the report endpoints over HTTP and reads the server's RSS.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

BIN = Path(sys.executable).parent
BANNER = re.compile(r"API (http://\S+)")
CHROMIUM = "/usr/bin/chromium"


def start_serve(db: str) -> tuple[subprocess.Popen[str], str]:
    command = [str(BIN / "otel-ai"), "serve", "--port", "0", "--otlp-http-port", "0", "--otlp-grpc-port", "0",
               "--db", db]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = BANNER.search(line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise SystemExit("otel-ai serve did not start")


def page_loads(url: str, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for _ in range(runs):
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-ready]", timeout=60_000)
            times.append(time.perf_counter() - started)
            assert page.evaluate("document.body.dataset.ready") == "1", "the page reported an error"
            page.close()
        browser.close()
    return times


def api_latency(api: str, path: str, runs: int) -> list[float]:
    session = requests.Session()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = session.get(api + path, timeout=60)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a store loaded by bench/bench_store.py --keep")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    proc, api = start_serve(args.db)
    try:
        calls = requests.get(api + "/api/v1/summary", timeout=60).json()["calls"]
        loads = page_loads(api + "/", args.runs)
        rows = [(path, api_latency(api, path, args.runs * 2)) for path in (
            "/api/v1/summary", "/api/v1/costs?group_by=model", "/api/v1/costs?group_by=day",
            "/api/v1/errors", "/api/v1/forecast", "/api/v1/traces?limit=50",
        )]
        rss = psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"{calls:,} GenAI calls stored; {args.runs} overview loads in Chromium\n")
    print("| measure | median | worst |")
    print("|---|---:|---:|")
    print(f"| overview page, rendered | {statistics.median(loads) * 1000:.0f} ms | {max(loads) * 1000:.0f} ms |")
    for path, times in rows:
        print(f"| GET {path} (HTTP) | {statistics.median(times) * 1000:.1f} ms | {max(times) * 1000:.1f} ms |")
    print(f"| server RSS after the loads | {rss / 2**20:.0f} MiB | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
