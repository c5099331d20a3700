"""Issue 16, serve side: what a newcomer sees from `otel-ai serve` and its reports."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

OTEL_AI = Path(sys.executable).with_name("otel-ai")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_taken_grpc_port_gives_exactly_the_clear_line(tmp_path: Path, host: str) -> None:
    """grpc's own `E… add_port.cc` line must not come before serve's one clear message."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(OTEL_AI), "serve", "--host", host, "--port", "0", "--otlp-http-port", "0",
             "--otlp-grpc-port", str(port), "--db", str(tmp_path / "x.db")],
            capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"otel-ai serve: cannot listen for OTLP/gRPC on {host}:{port}: Address already in use"
    ], done.stderr
