"""An unmodified LangChain app under `opentelemetry-instrument`: the `otel_ai_langchain` entry point
loads, and the OTLP export holds the workflow span with the OpenAI chat span under it, one trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.otlp_receiver import OTLPReceiver, attrs_to_dict

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
APP = """
import os
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["SIM_URL"], api_key="sk-e2e-0123456789abcdef0123")
chain = (ChatPromptTemplate.from_messages([("user", "hello {who}")]) | model).with_config(run_name="hello")
print("ANSWER", bool(chain.invoke({"who": "world"}).content))
"""


def test_entry_point_loads_and_the_run_exports_one_trace(sim: Any, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    with OTLPReceiver() as receiver:
        env.update({
            "OTEL_SERVICE_NAME": "lc-e2e", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "SIM_URL": sim.base_url,
        })
        result = subprocess.run(
            [str(BIN / "opentelemetry-instrument"), sys.executable, str(app)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "ANSWER True" in result.stdout
        assert receiver.wait_for(lambda: bool(receiver.spans("invoke_workflow hello")))
        [workflow] = receiver.spans("invoke_workflow hello")
        [chat] = receiver.spans("chat gpt-4o-mini")
    assert chat.trace_id == workflow.trace_id and chat.parent_span_id == workflow.span_id
    attributes = attrs_to_dict(workflow.attributes)
    assert attributes["gen_ai.workflow.name"] == "hello"
    assert attributes["otel_ai.task.calls"] == 1 and attributes["otel_ai.task.cost.usd"] > 0
