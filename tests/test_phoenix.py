"""Arize Phoenix, the real server, reads our spans: model name, token counts and cost, read back through its API.

Phoenix runs from a virtual env of its own (scripts/phoenix.sh: `arize-phoenix` PHOENIX_VERSION, cached
under ~/.cache/otel-ai; OTEL_AI_PHOENIX_VENV names another). `phoenix serve` listens on free 127.0.0.1
ports (HTTP and gRPC) with a temporary working dir; a small app (tests/support/phoenix_app.py) runs the
real openai client against the simulator under `opentelemetry-instrument`, exporting OTLP/HTTP to it. The
test then reads the spans back through Phoenix's REST API (`/v1/projects/{project}/spans`) and its cost
through GraphQL (`Span.costSummary`), and compares both with what otel-ai computed.

What it shows (docs/backends.md): with `OTEL_AI_COST_ATTRIBUTES=openinference` Phoenix stores and shows
`llm.model_name`, `llm.token_count.*` and `llm.cost.*` as sent, but the cost it shows and sums is its
own: token counts times its price table. `llm.cost.*` is not read (a model only our pricing file prices
has no Phoenix cost). Phoenix also turns GenAI spans into LLM spans by itself.

Without the Phoenix env the test is skipped, unless OTEL_AI_REQUIRE_PHOENIX=1 (scripts/test.sh, CI):
then it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otel_ai.pricing.catalog import PricingCatalog
from otel_ai.testing.simulator import OpenAISimulator

PHOENIX_VERSION = "20.26.1"  # also in scripts/phoenix.sh
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ACME = {"input_per_mtok": 3.0, "output_per_mtok": 12.0}  # only our pricing file knows acme-internal-1
START_TIMEOUT = 240.0  # first start creates its SQLite schema: ~20 s on an idle 2-core machine, 60 s loaded


def _venv() -> Path:
    default = Path.home() / ".cache" / "otel-ai" / f"phoenix-{PHOENIX_VERSION}"
    venv = Path(os.environ.get("OTEL_AI_PHOENIX_VENV") or default)
    if not (venv / f".installed-{PHOENIX_VERSION}").exists() or not (venv / "bin" / "phoenix").exists():
        message = f"Arize Phoenix {PHOENIX_VERSION} not installed in {venv} (run scripts/phoenix.sh)"
        if os.environ.get("OTEL_AI_REQUIRE_PHOENIX") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return venv


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Phoenix:
    url: str
    log: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def graphql(self, query: str) -> Any:
        request = urllib.request.Request(self.url + "/graphql", data=json.dumps({"query": query}).encode(),
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert not answer.get("errors"), answer
        return answer["data"]

    def spans(self, project: str, count: int) -> list[dict[str, Any]]:
        """The project's chat spans, once `count` of them arrived (the exporter batches; ingestion is async)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                data = self.get(f"/v1/projects/{project}/spans?limit=100")["data"]
            except urllib.error.HTTPError as exc:  # the project appears with its first span
                if exc.code != 404:
                    raise
                data = []
            chats = [span for span in data if span["name"].startswith("chat ")]
            if len(chats) >= count or time.monotonic() > deadline:
                return chats
            time.sleep(0.25)


@pytest.fixture(scope="module")
def phoenix() -> Iterator[Phoenix]:
    venv = _venv()
    workdir = Path(tempfile.mkdtemp(prefix="otel-ai-phoenix-"))
    port, grpc_port = _free_port(), _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PHOENIX_"))}
    env.update(PHOENIX_WORKING_DIR=str(workdir), PHOENIX_HOST="127.0.0.1", PHOENIX_PORT=str(port),
               PHOENIX_GRPC_PORT=str(grpc_port), PHOENIX_TELEMETRY_ENABLED="false")
    log = workdir / "phoenix.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(venv / "bin" / "phoenix"), "serve"], cwd=workdir, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = Phoenix(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"phoenix serve exited {process.returncode}: {log.read_text()[-3000:]}"
            with contextlib.suppress(OSError), urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
            assert time.monotonic() < deadline, f"not up in {START_TIMEOUT:.0f} s: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        with urllib.request.urlopen(server.url + "/arize_phoenix_version", timeout=10) as response:
            assert response.read().decode().strip() == PHOENIX_VERSION
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _run_app(phoenix: Phoenix, sim: OpenAISimulator, project: str, shapes: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The app's calls (model and usage as the client got them), its spans exported to Phoenix's project."""
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"acme-internal-1": ACME}}))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PHOENIX_"))}
    env.update(
        OTEL_SERVICE_NAME="phoenix-app", OTEL_RESOURCE_ATTRIBUTES=f"openinference.project.name={project}",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{phoenix.url}/v1/traces", OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none", OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_AI_COST_ATTRIBUTES=shapes, OTEL_AI_PRICING_FILE=str(prices), OTEL_AI_SYSTEM_METRICS="off",
    )
    result = subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, "tests/support/phoenix_app.py",
                             sim.base_url], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _ours(model: str, prompt: int, completion: int) -> tuple[float, float]:
    """Input and output USD, computed here from the same prices the agent uses."""
    if model == "acme-internal-1":
        price_in, price_out = ACME["input_per_mtok"], ACME["output_per_mtok"]
    else:
        price, _ = PricingCatalog.load().lookup(model)  # type: ignore[misc]
        price_in, price_out = price.input_per_mtok, price.output_per_mtok
    return prompt * price_in / 1e6, completion * price_out / 1e6


def test_phoenix_reads_back_our_model_tokens_and_cost(phoenix, sim, tmp_path):
    calls = _run_app(phoenix, sim, "otel-ai-openinference", "gen_ai,openinference", tmp_path)
    assert [call["model"] for call in calls] == ["gpt-4o-mini", "acme-internal-1"]
    spans = {span["attributes"]["llm.model_name"]: span for span in phoenix.spans("otel-ai-openinference", 2)}
    assert sorted(spans) == ["acme-internal-1", "gpt-4o-mini"], phoenix.log.read_text()[-3000:]

    for call in calls:
        span = spans[call["model"]]
        attributes = span["attributes"]
        cost_in, cost_out = _ours(call["model"], call["prompt_tokens"], call["completion_tokens"])
        assert span["span_kind"] == "LLM"
        # what Phoenix stored is what otel-ai computed, under both names
        assert attributes["otel_ai.cost.usd"] == pytest.approx(cost_in + cost_out, rel=1e-12)
        assert {name: attributes[name] for name in (
            "llm.model_name", "llm.provider", "llm.system", "llm.token_count.prompt", "llm.token_count.completion",
            "llm.token_count.total", "llm.cost.prompt", "llm.cost.completion", "llm.cost.total")} == {
            "llm.model_name": call["model"], "llm.provider": "openai", "llm.system": "openai",
            "llm.token_count.prompt": call["prompt_tokens"], "llm.token_count.completion": call["completion_tokens"],
            "llm.token_count.total": call["prompt_tokens"] + call["completion_tokens"],
            "llm.cost.prompt": attributes["otel_ai.cost.input_usd"],
            "llm.cost.completion": attributes["otel_ai.cost.output_usd"],
            "llm.cost.total": attributes["otel_ai.cost.usd"],
        }
        assert attributes["gen_ai.usage.cost.amount"] == attributes["otel_ai.cost.usd"]

    # The cost Phoenix shows and sums (Span.costSummary) is its own: tokens times its price table.
    summary = "costSummary { prompt { tokens cost } completion { tokens cost } total { tokens cost } }"
    data = phoenix.graphql("query { " + " ".join(
        f'm{i}: node(id: "{span["id"]}") {{ ... on Span {{ name {summary} }} }}'
        for i, span in enumerate(spans.values())) + " }")
    costs = {node["name"].removeprefix("chat "): node["costSummary"] for node in data.values()}
    known = costs["gpt-4o-mini"]
    mini = spans["gpt-4o-mini"]["attributes"]
    assert known["prompt"]["tokens"] == mini["llm.token_count.prompt"]
    assert known["completion"]["tokens"] == mini["llm.token_count.completion"]
    # its price for gpt-4o-mini is ours, so the amounts agree
    assert known["prompt"]["cost"] == pytest.approx(mini["otel_ai.cost.input_usd"], rel=1e-9)
    assert known["completion"]["cost"] == pytest.approx(mini["otel_ai.cost.output_usd"], rel=1e-9)
    assert known["total"]["cost"] == pytest.approx(mini["otel_ai.cost.usd"], rel=1e-9)
    # A model its table lacks has no Phoenix cost, although the span says llm.cost.total: Phoenix does not
    # read llm.cost.* (docs/backends.md says so; if this fails, Phoenix changed: update the docs).
    acme = costs["acme-internal-1"]
    assert spans["acme-internal-1"]["attributes"]["llm.cost.total"] > 0
    assert acme is None or acme["total"]["cost"] is None, acme


def test_phoenix_turns_genai_spans_into_llm_spans_without_our_openinference_names(phoenix, sim, tmp_path):
    """Ours only: Phoenix maps the GenAI attributes itself (model, tokens, provider), but no llm.cost.* comes."""
    calls = _run_app(phoenix, sim, "otel-ai-genai", "otel_ai", tmp_path)
    spans = {span["attributes"].get("llm.model_name"): span for span in phoenix.spans("otel-ai-genai", 2)}
    for call in calls:
        span = spans[call["model"]]
        attributes = span["attributes"]
        assert span["span_kind"] == "LLM"
        assert attributes["llm.token_count.prompt"] == call["prompt_tokens"]
        assert attributes["llm.token_count.completion"] == call["completion_tokens"]
        assert not [name for name in attributes if name.startswith(("llm.cost", "gen_ai.usage.cost"))]
        assert attributes["otel_ai.cost.usd"] > 0
