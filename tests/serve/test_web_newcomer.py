"""Issue 16 items 3, 12, 13, 15 in Chromium (driven as in test_web.py): the trace page opens on the span
that matters, colours say the span's kind, the trace list counts failed calls, the overview names the
unpriced calls, and the dashboard's money rule is Python's."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_ai.money import format_usd
from otel_ai.serve.store import open_store
from tests.serve.test_store import _kvs, synthetic_request
from tests.serve.test_web import Site, Tab, _serve, browser, tab  # noqa: F401  (fixtures)

UNPRICED = "acme-unpriced-1"
T0 = 1_780_000_000 * 10**9
_rng = random.Random(16)


def _span(trace: bytes, name: str, start_ms: int, end_ms: int, *, parent: bytes = b"", error: bool = False,
          kind: int = Span.SPAN_KIND_INTERNAL, **attributes: Any) -> tuple[bytes, dict[str, Any]]:
    span_id = _rng.randbytes(8)
    span = Span(trace_id=trace, span_id=span_id, parent_span_id=parent, name=name, kind=kind,
                start_time_unix_nano=T0 + start_ms * 10**6, end_time_unix_nano=T0 + end_ms * 10**6,
                attributes=_kvs(attributes),
                status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_UNSET))
    return span_id, {"service": "web", "span": span}


def _chat(trace: bytes, parent: bytes, start_ms: int, *, error: bool = False) -> list[tuple[bytes, dict[str, Any]]]:
    chat_id, chat = _span(trace, "chat gpt-4o-mini", start_ms, start_ms + 30, parent=parent, error=error,
                          kind=Span.SPAN_KIND_CLIENT, **{
                              "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                              "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 0 if error else 9,
                              "otel_ai.cost.usd": None if error else 0.0000123,
                              "otel_ai.error.category": "rate_limit" if error else None,
                              "error.type": "openai.RateLimitError" if error else None})
    http = _span(trace, "POST", start_ms + 2, start_ms + 28, parent=chat_id, error=error, kind=Span.SPAN_KIND_CLIENT,
                 **{"http.request.method": "POST", "http.response.status_code": 429 if error else 200})
    return [(chat_id, chat), http]


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, dict[str, Any]]]:
    """Two traces under an HTTP server span: a workflow with a call in it, and a failed call (with its
    failed HTTP span); plus two calls with usage and no price and one with no task type."""
    db = tmp_path_factory.mktemp("web-newcomer") / "s.db"
    ids: dict[str, Any] = {}
    items = []
    ok_trace, failed_trace = _rng.randbytes(16), _rng.randbytes(16)
    root_id, root = _span(ok_trace, "GET /digest", 0, 100, kind=Span.SPAN_KIND_SERVER)
    workflow_id, workflow = _span(ok_trace, "invoke_workflow digest", 5, 90, parent=root_id, **{
        "gen_ai.operation.name": "invoke_workflow", "otel_ai.cost.usd": 0.0000123})
    chat = _chat(ok_trace, workflow_id, 10)
    items += [root, workflow, *(item for _, item in chat)]
    ids.update(ok=ok_trace.hex(), root=root_id.hex(), workflow=workflow_id.hex(), chat=chat[0][0].hex())
    froot_id, froot = _span(failed_trace, "GET /speak", 0, 100, kind=Span.SPAN_KIND_SERVER)
    failed = _chat(failed_trace, froot_id, 10, error=True)
    items += [froot, *(item for _, item in failed)]
    ids.update(failed=failed_trace.hex(), failed_chat=failed[0][0].hex())
    for i in range(2):
        _, unpriced = _span(_rng.randbytes(16), f"chat {UNPRICED}", 200 + i, 220 + i, kind=Span.SPAN_KIND_CLIENT, **{
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "acme", "gen_ai.request.model": UNPRICED,
            "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3, "otel_ai.pricing.source": "unknown"})
        items.append(unpriced)
    with open_store(str(db)) as store:
        store.ingest_traces(synthetic_request(items))
    for site in _serve(db):
        yield site, ids


def test_the_trace_page_opens_on_the_genai_call_and_colours_kinds_apart(tab: Tab, traces: Any) -> None:  # noqa: F811
    site, ids = traces
    page = tab.open(f"{site.url}/traces/{ids['ok']}")
    assert page.locator("#span-detail").get_attribute("data-span-id") == ids["chat"]  # not the root server span
    colour = {span_id: page.locator(f".wf-row.span[data-span-id='{span_id}']").get_attribute("data-colour")
              for span_id in (ids["root"], ids["workflow"], ids["chat"])}
    assert colour == {ids["root"]: "other", ids["workflow"]: "unit", ids["chat"]: "genai"}
    paint = {span_id: page.locator(f".wf-row.span[data-span-id='{span_id}'] .wf-bar").evaluate(
        "e => getComputedStyle(e).backgroundColor") for span_id in colour}
    assert len(set(paint.values())) == 3  # a workflow is not painted as a GenAI call
    legend = {page.locator("#legend .legend-item").nth(i).get_attribute("data-colour"): page.locator(
        "#legend .swatch").nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(4)}
    assert legend["genai"] == paint[ids["chat"]] and legend["unit"] == paint[ids["workflow"]]
    assert legend["other"] == paint[ids["root"]]
    tab.assert_clean()


def test_the_trace_page_opens_on_the_first_failed_span(tab: Tab, traces: Any) -> None:  # noqa: F811
    site, ids = traces
    page = tab.open(f"{site.url}/traces/{ids['failed']}")
    # not the root server span (which did not fail): the failed call, the first failed span
    assert page.locator("#span-detail").get_attribute("data-span-id") == ids["failed_chat"]
    assert page.locator(".wf-row.span[data-colour='error']").first.get_attribute("data-span-id") == ids["failed_chat"]
    tab.assert_clean()


def test_the_trace_list_counts_failed_calls_not_failed_spans(tab: Tab, traces: Any) -> None:  # noqa: F811
    site, ids = traces
    page = tab.open(f"{site.url}/traces")
    badge = page.locator(f"tr.trace[data-trace-id='{ids['failed']}'] .status")
    assert badge.inner_text() == "1 failed call"  # two spans failed: the call's and its HTTP span
    assert badge.get_attribute("title") == ("1 failed call of 1 GenAI call; 2 failed spans "
                                            "(HTTP spans beneath a call included)")
    assert page.locator(f"tr.trace[data-trace-id='{ids['ok']}'] .status").inner_text() == "ok"
    tab.assert_clean()


def test_the_overview_names_the_unpriced_calls(tab: Tab, traces: Any) -> None:  # noqa: F811
    site, _ = traces
    assert site.api("/summary")["unpriced_calls"] == [{"model": UNPRICED, "calls": 2}]
    page = tab.open(f"{site.url}/?since=")
    row = page.locator(f"#unpriced-calls tr[data-model='{UNPRICED}']")
    assert row.locator(".model").inner_text() == UNPRICED and row.locator(".calls").inner_text() == "2"
    assert "add a price with OTEL_AI_PRICING_FILE" in page.locator("#unpriced").inner_text()
    assert page.locator("#by-task_type tbody tr").first.locator("td").first.inner_text() == "(none)"
    tab.assert_clean()


def test_the_dashboard_formats_money_as_python_does(tab: Tab, traces: Any) -> None:  # noqa: F811
    site, _ = traces
    page = tab.open(f"{site.url}/")
    values = [0.0, 0.5, 0.0002, 0.00005, 0.00055, 0.00006825, 0.0006187300000000001, 0.99996, 0.999949, 1.0,
              1234.5, 1_234_567.891, -0.0002, -12.345, 1e-15, 0.012345678]
    values += [random.Random(3).uniform(0, 10) ** random.Random(i).choice([1, -3, -6]) for i in range(40)]
    shown = page.evaluate(
        "async (values) => { const m = await import('/static/js/lib.js'); return values.map(m.usd); }", values)
    assert shown == [format_usd(v) for v in values]
