"""Peak memory of `otel-ai serve` under many concurrent large OTLP exports (HTTP or gRPC).

    .venv/bin/python bench/bench_receiver_memory.py --senders 64 --transport http
    .venv/bin/python bench/bench_receiver_memory.py --senders 250 --transport http
    .venv/bin/python bench/bench_receiver_memory.py --senders 100 --transport grpc

Each sender posts one ExportMetricsServiceRequest of `--mib` MiB (one data point with one long
attribute) at the same time as the others, to a fresh `otel-ai serve` on SQLite. Metrics are decoded
and counted, not stored, so the growth measured is the receiver's. Printed: the server's RSS at rest,
its peak (sampled every 10 ms), and the answers (200 / 503 + Retry-After; gRPC OK /
RESOURCE_EXHAUSTED). The documented bound is about 8 x 3 x 16 MiB over the resting RSS.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import psutil
import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

BIN = Path(sys.executable).parent
MiB = 1024 * 1024
METRICS = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


def big_metrics(size: int) -> bytes:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="big")
    point = metric.gauge.data_points.add(as_int=1)
    point.attributes.add(key="blob").value.string_value = "x" * size
    return bytes(request.SerializeToString())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=64)
    parser.add_argument("--transport", choices=["http", "grpc"], default="http")
    parser.add_argument("--mib", type=int, default=15)
    args = parser.parse_args()
    body = big_metrics(args.mib * MiB)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with tempfile.TemporaryDirectory(prefix="bench-rx-memory-") as tmp:
        proc = subprocess.Popen(
            [str(BIN / "otel-ai"), "serve", "--port", "0", "--otlp-http-port", "0", "--otlp-grpc-port", "0",
             "--db", str(Path(tmp) / "otel-ai.db")], stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        match = re.search(r"OTLP/HTTP (http://\S+)\s+OTLP/gRPC http://(\S+)", proc.stdout.readline())
        if match is None:
            proc.kill()
            raise SystemExit("otel-ai serve did not start")
        http_url, grpc_target = match.groups()
        try:
            server = psutil.Process(proc.pid)
            time.sleep(1.0)
            base = peak = server.memory_info().rss
            done = threading.Event()

            def watch() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, server.memory_info().rss)
                    time.sleep(0.01)

            results: list[Any] = []

            def send_http() -> None:
                try:
                    response = requests.post(http_url + "/v1/metrics", data=body, timeout=120,
                                             headers={"Content-Type": "application/x-protobuf"})
                    retry = response.headers.get("Retry-After")
                    results.append(f"{response.status_code}" + (f" Retry-After {retry}" if retry else ""))
                except requests.RequestException as exc:
                    results.append(type(exc).__name__)

            def send_grpc() -> None:
                try:
                    options = [("grpc.max_send_message_length", 64 * MiB)]
                    with grpc.insecure_channel(grpc_target, options=options) as channel:
                        channel.unary_unary(METRICS)(body, timeout=120)
                    results.append("OK")
                except grpc.RpcError as exc:
                    results.append(exc.code().name)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            started = time.monotonic()
            target = send_http if args.transport == "http" else send_grpc
            threads = [threading.Thread(target=target) for _ in range(args.senders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            time.sleep(0.5)
            done.set()
            watcher.join()
        finally:
            proc.terminate()
            proc.wait(20)
    print(f"{args.transport}: {args.senders} x {args.mib} MiB in {elapsed:.1f} s; RSS at rest {base / MiB:.0f} MiB, "
          f"peak {peak / MiB:.0f} MiB (+{(peak - base) / MiB:.0f} MiB); answers {dict(Counter(results))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
