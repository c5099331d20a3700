"""OTLP/HTTP transport: otel-ai's own receiver against the same ingest core served by uvicorn (h11).

    .venv/bin/python bench/bench_receiver_transport.py                  # SQLite store, 4 senders, 2 rounds
    .venv/bin/python bench/bench_receiver_transport.py --store null     # no store: transport and decoding only
    .venv/bin/python bench/bench_receiver_transport.py --spans 61560 --senders 8 --rounds 3

Issue 15 asked whether to harden the hand-written OTLP/HTTP server or to serve OTLP/HTTP from
uvicorn/h11, as the API is, "if it keeps the ingest figures". Both servers here run the same
`OTLPIngest` (decode, check, store) over the same store in a child process of their own; only the
HTTP layer differs. The uvicorn app reads the body, then runs the ingest in anyio's thread pool
(the store call blocks), as a FastAPI route would. The batches and the senders are
bench_ingest.py's (513 realistic spans a request, keep-alive connections). Rounds alternate the
servers, each on a fresh SQLite file; acknowledged = stored for both (the 200 comes after commit).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_ingest import TRACES_PER_REQUEST, cpu_s, send_all
from bench_store import realistic_batches


class NullStore:
    """Counts spans and keeps nothing: what is left is the transport and the decoding."""

    def ingest_traces(self, request: Any) -> int:
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)

    def ingest_logs(self, request: Any) -> int:
        return 0

    def close(self) -> None:
        pass


def open_store(kind: str, db: str) -> Any:
    if kind == "null":
        return NullStore()
    from otel_ai.serve.store import open_store as open_real

    store = open_real(db)
    if (os.cpu_count() or 1) >= 2:  # what `otel-ai serve --ingest-processes auto` does
        store.convert_in_processes(1)
    return store


def serve_own(ingest: Any) -> None:
    from otel_ai.serve.http_receiver import OTLPHttpReceiver

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # for sigwait, in every thread
    receiver = OTLPHttpReceiver(ingest, "127.0.0.1", 0).start()
    print(f"URL {receiver.url}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    receiver.stop()


def serve_uvicorn(ingest: Any) -> None:
    import socket

    import anyio.to_thread
    import uvicorn

    from otel_ai.serve.otlp import ReceiverError

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            response = await anyio.to_thread.run_sync(
                lambda: ingest.process("traces", bytes(body), encoding="protobuf", transport="http")
            )
            data, status = response.SerializeToString(), 200
        except ReceiverError as exc:
            data, status = b"", int(exc.http_status)
        headers = [(b"content-type", b"application/x-protobuf"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app, http="h11", log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    print(f"URL http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


def child(server: str, store_kind: str, db: str) -> int:
    from otel_ai.serve.otlp_ingest import OTLPIngest

    store = open_store(store_kind, db)
    ingest = OTLPIngest(store)
    try:
        (serve_own if server == "own" else serve_uvicorn)(ingest)
    finally:
        store.close()
    return 0


def run(server: str, store_kind: str, db: Path, bodies: list[bytes], senders: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", server, "--store", store_kind, "--db", str(db)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    match = re.search(r"URL (\S+)", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise SystemExit(f"{server} did not start")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        send_all(match.group(1), bodies[:1], 1)  # warm-up, not counted
        cpu_before = cpu_s(proc.pid)
        elapsed, statuses = send_all(match.group(1), bodies[1:], senders)
        cpu = cpu_s(proc.pid) - cpu_before
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    spans = (len(bodies) - 1) * TRACES_PER_REQUEST * 3
    return {"server": server, "ok": statuses.count(200), "requests": len(statuses),
            "spans_per_s": round(spans / elapsed), "cpu_us_per_span": round(cpu / spans * 1e6, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=30_780)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--store", choices=["sqlite", "null"], default="sqlite")
    parser.add_argument("--child", choices=["own", "uvicorn"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.store, args.db)

    requests = max(1, args.spans // (TRACES_PER_REQUEST * 3))
    print(f"{requests} requests x {TRACES_PER_REQUEST * 3} spans, {args.senders} senders, store {args.store}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    results: dict[str, list[dict[str, Any]]] = {"own": [], "uvicorn": []}
    with tempfile.TemporaryDirectory(prefix="bench-transport-") as tmp:
        for round_ in range(args.rounds):
            for server in ("own", "uvicorn") if round_ % 2 == 0 else ("uvicorn", "own"):
                seed = time.time_ns()  # fresh ids: nothing deduplicated
                bodies = [b.SerializeToString() for b in
                          realistic_batches(requests + 1, TRACES_PER_REQUEST, time.time_ns(), seed=seed)]
                result = run(server, args.store, Path(tmp) / f"{server}-{round_}.db", bodies, args.senders)
                results[server].append(result)
                print(f"  round {round_ + 1} {server:<8} {result['spans_per_s']:>7} spans/s  "
                      f"{result['cpu_us_per_span']:>6} µs CPU/span  {result['ok']}/{result['requests']} ok")
    for server, rows in results.items():
        rates = sorted(r["spans_per_s"] for r in rows)
        print(f"{server:<8} median {rates[len(rates) // 2]} spans/s (runs: {rates})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
