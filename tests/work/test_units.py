"""Units of work: every decorator and context-manager form, errors, cancellation, early close, helpers."""

from __future__ import annotations

import asyncio
import threading
import types
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import otel_ai
from otel_ai.genai import hooks as calls
from otel_ai.work import units
from otel_ai.work.units import current_unit
from tests.work.units_support import by_name, children, use_global_providers

ROLLUP = (
    "otel_ai.task.cost.usd", "otel_ai.task.usage.input_tokens", "otel_ai.task.usage.output_tokens",
    "otel_ai.task.usage.characters", "otel_ai.task.calls", "otel_ai.task.calls.failed",
)


@pytest.fixture
def otel(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    return use_global_providers(telemetry, monkeypatch)


def _kinds() -> list[tuple[Any, str, dict[str, Any]]]:
    """(constructor, expected span name for name "x", expected identifying attributes)."""
    return [
        (otel_ai.workflow, "invoke_workflow x",
         {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "x", "otel_ai.task.type": "x"}),
        (otel_ai.agent, "invoke_agent x", {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "x"}),
        (otel_ai.tool, "execute_tool x", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "x"}),
        (otel_ai.task, "task x", {"otel_ai.task.type": "x", "otel_ai.task.name": "x"}),
    ]


KINDS = pytest.mark.parametrize(("make", "span_name", "identity"), _kinds(), ids=["workflow", "agent", "tool", "task"])


def _check(span: Any, identity: dict[str, Any], *, error: str | None = None) -> None:
    attrs = dict(span.attributes)
    assert span.kind is SpanKind.INTERNAL
    for key, value in identity.items():
        assert attrs[key] == value, key
    for key in ROLLUP:
        assert key in attrs, key
    if error is None:
        assert span.status.status_code is StatusCode.UNSET
        assert "error.type" not in attrs
    else:
        assert span.status.status_code is StatusCode.ERROR
        assert attrs["error.type"] == error
    if "otel_ai.task.name" in identity:  # tasks are not GenAI operations: nothing counts them as calls
        assert "gen_ai.operation.name" not in attrs


# -- decorators -----------------------------------------------------------------------------------


@KINDS
def test_sync_function(otel: Any, make: Any, span_name: str, identity: dict[str, Any]) -> None:
    @make("x")
    def work(a: int, *, b: int) -> int:
        """Doc."""
        assert current_unit() is not None and current_unit().name == "x"  # type: ignore[union-attr]
        return a + b

    assert work(1, b=2) == 3
    assert work.__name__ == "work" and work.__doc__ == "Doc."
    assert current_unit() is None
    _check(by_name(otel, span_name), identity)


@KINDS
async def test_async_function(otel: Any, make: Any, span_name: str, identity: dict[str, Any]) -> None:
    @make("x")
    async def work(a: int) -> int:
        await asyncio.sleep(0)
        assert current_unit() is not None
        return a * 2

    assert await work(4) == 8
    assert current_unit() is None
    _check(by_name(otel, span_name), identity)


@KINDS
def test_generator_function(otel: Any, make: Any, span_name: str, identity: dict[str, Any]) -> None:
    seen: list[Any] = []

    @make("x")
    def numbers(n: int) -> Any:
        for i in range(n):
            seen.append(current_unit())
            received = yield i
            if received is not None:
                seen.append(received)
        return "done"

    gen = numbers(3)
    assert otel.spans() == []  # nothing runs (and no span starts) before the first next
    assert next(gen) == 0
    assert current_unit() is None  # the unit is current only while the body runs
    assert gen.send("hello") == 1
    assert next(gen) == 2
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"
    assert seen[0] is not None and seen[0].name == "x" and "hello" in seen
    _check(by_name(otel, span_name), identity)


@KINDS
async def test_async_generator_function(otel: Any, make: Any, span_name: str, identity: dict[str, Any]) -> None:
    @make("x")
    async def numbers(n: int) -> Any:
        for i in range(n):
            await asyncio.sleep(0)
            assert current_unit() is not None
            yield i

    assert [i async for i in numbers(3)] == [0, 1, 2]
    assert current_unit() is None
    _check(by_name(otel, span_name), identity)


def test_bare_decorators_take_the_function_name(otel: Any) -> None:
    @otel_ai.workflow
    def pipeline() -> str:
        return step()

    @otel_ai.task
    def step() -> str:
        return "ok"

    assert pipeline() == "ok"
    wf = by_name(otel, "invoke_workflow pipeline")
    step_span = by_name(otel, "task step")
    assert step_span.parent is not None and step_span.parent.span_id == wf.context.span_id
    assert step_span.attributes["otel_ai.task.type"] == "step"


def test_decorated_without_name_uses_the_function_name_and_keeps_options(otel: Any) -> None:
    @otel_ai.tool(type="function", description="adds")
    def add(a: int, b: int) -> int:
        return a + b

    assert add(1, 2) == 3
    attrs = by_name(otel, "execute_tool add").attributes
    assert attrs["gen_ai.tool.name"] == "add"
    assert attrs["gen_ai.tool.type"] == "function"
    assert attrs["gen_ai.tool.description"] == "adds"


# -- context managers -------------------------------------------------------------------------------


@KINDS
def test_sync_context_manager(otel: Any, make: Any, span_name: str, identity: dict[str, Any]) -> None:
    with make("x") as unit:
        assert current_unit() is unit
        assert trace.get_current_span() is unit.span
        unit.set_attribute("app.user_tier", "gold")
        unit.set_attributes({"app.items": 3})
    assert current_unit() is None
    span = by_name(otel, span_name)
    _check(span, identity)
    assert span.attributes["app.user_tier"] == "gold" and span.attributes["app.items"] == 3


@KINDS
async def test_async_context_manager(otel: Any, make: Any, span_name: str, identity: dict[str, Any]) -> None:
    async with make("x") as unit:
        await asyncio.sleep(0)
        assert current_unit() is unit
    assert current_unit() is None
    _check(by_name(otel, span_name), identity)


def test_task_id_and_custom_attributes(otel: Any) -> None:
    with otel_ai.task("ingest", name="load_csv", id="job-17", attributes={"app.source": "s3"}):
        pass
    attrs = by_name(otel, "task load_csv").attributes
    assert attrs["otel_ai.task.type"] == "ingest"
    assert attrs["otel_ai.task.name"] == "load_csv"
    assert attrs["otel_ai.task.id"] == "job-17"
    assert attrs["app.source"] == "s3"


def test_one_spec_entered_from_several_threads_ends_each_unit(otel: Any) -> None:
    shared = otel_ai.task("shared")
    barrier = threading.Barrier(4)

    def worker() -> None:
        with shared as unit:
            barrier.wait()
            assert current_unit() is unit

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spans = [s for s in otel.spans() if s.name == "task shared"]
    assert len(spans) == 4 and len({s.context.span_id for s in spans}) == 4


# -- errors, cancellation, early close ----------------------------------------------------------------


class AppError(Exception):
    pass


@KINDS
def test_exception_marks_the_span_and_is_re_raised_unchanged(
    otel: Any, make: Any, span_name: str, identity: dict[str, Any]
) -> None:
    boom = AppError("boom")

    @make("x")
    def work() -> None:
        raise boom

    with pytest.raises(AppError) as caught:
        work()
    assert caught.value is boom
    span = by_name(otel, span_name)
    _check(span, identity, error=f"{__name__}.AppError")
    [event] = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == span.attributes["error.type"]
    assert current_unit() is None


@KINDS
def test_exception_in_context_manager(otel: Any, make: Any, span_name: str, identity: dict[str, Any]) -> None:
    with pytest.raises(KeyError), make("x"):
        raise KeyError("k")
    _check(by_name(otel, span_name), identity, error="KeyError")


async def test_exception_in_async_function_and_async_generator(otel: Any) -> None:
    @otel_ai.task("afail")
    async def afail() -> None:
        raise ValueError("no")

    @otel_ai.task("agenfail")
    async def agenfail() -> Any:
        yield 1
        raise ValueError("later")

    with pytest.raises(ValueError, match="no"):
        await afail()
    with pytest.raises(ValueError, match="later"):
        async for _ in agenfail():
            pass
    for name in ("task afail", "task agenfail"):
        span = by_name(otel, name)
        assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "ValueError"


@pytest.mark.parametrize("make", [otel_ai.workflow, otel_ai.task], ids=["workflow", "task"])
async def test_cancellation_ends_the_span_once(otel: Any, make: Any) -> None:
    started = asyncio.Event()

    @make("slow")
    async def slow() -> None:
        started.set()
        await asyncio.sleep(30)

    job = asyncio.ensure_future(slow())
    await started.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    [span] = [s for s in otel.spans() if s.name.endswith(" slow")]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "asyncio.exceptions.CancelledError"
    assert current_unit() is None


async def test_cancelled_async_context_manager(otel: Any) -> None:
    async def body() -> None:
        async with otel_ai.agent("waiting"):
            await asyncio.sleep(30)

    job = asyncio.ensure_future(body())
    await asyncio.sleep(0.01)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    span = by_name(otel, "invoke_agent waiting")
    assert span.attributes["error.type"] == "asyncio.exceptions.CancelledError"


def test_generator_closed_early_ends_the_span_once_without_error(otel: Any) -> None:
    cleaned: list[Any] = []

    @otel_ai.task("stream")
    def stream() -> Any:
        try:
            yield from range(100)
        finally:
            cleaned.append(current_unit())  # cleanup runs inside the unit

    for i in stream():
        if i == 2:
            break  # the for loop drops the generator: CPython closes it now
    gen = stream()
    next(gen)
    gen.close()
    gen.close()  # a second close is a no-op
    spans = [s for s in otel.spans() if s.name == "task stream"]
    assert len(spans) == 2
    assert all(s.status.status_code is StatusCode.UNSET for s in spans)
    assert len(cleaned) == 2 and all(u is not None and u.name == "stream" for u in cleaned)
    assert current_unit() is None


def test_generator_throw_reaches_the_body(otel: Any) -> None:
    @otel_ai.task("catcher")
    def catcher() -> Any:
        try:
            yield 1
        except AppError:
            yield "caught"

    gen = catcher()
    assert next(gen) == 1
    assert gen.throw(AppError("x")) == "caught"
    with pytest.raises(StopIteration):
        next(gen)
    assert by_name(otel, "task catcher").status.status_code is StatusCode.UNSET


async def test_async_generator_closed_early(otel: Any) -> None:
    @otel_ai.tool("pages")
    async def pages() -> Any:
        for i in range(100):
            yield i

    agen = pages()
    assert await agen.__anext__() == 0
    await agen.aclose()
    span = by_name(otel, "execute_tool pages")
    assert span.status.status_code is StatusCode.UNSET and span.end_time is not None


async def test_async_generator_cancelled_while_suspended_in_body(otel: Any) -> None:
    @otel_ai.task("ticker")
    async def ticker() -> Any:
        while True:
            await asyncio.sleep(30)
            yield 1

    async def consume() -> None:
        async for _ in ticker():
            pass

    job = asyncio.ensure_future(consume())
    await asyncio.sleep(0.01)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    span = by_name(otel, "task ticker")
    assert span.attributes["error.type"] == "asyncio.exceptions.CancelledError"


def test_end_is_idempotent(otel: Any) -> None:
    spec = otel_ai.task("once")
    unit = spec._begin()
    unit._end(None)
    unit._end(ValueError("late"))
    [span] = [s for s in otel.spans() if s.name == "task once"]
    assert span.status.status_code is StatusCode.UNSET and unit.ended


# -- nesting, task type -----------------------------------------------------------------------------


def test_nesting_parents_and_innermost_task_type(otel: Any) -> None:
    seen: dict[str, str | None] = {}
    with otel_ai.workflow("wf") as wf:
        seen["workflow"] = calls.task_type()
        with otel_ai.agent("planner"):
            seen["agent"] = calls.task_type()
            with otel_ai.tool("search"), otel_ai.task("summarize"):
                seen["task"] = calls.task_type()
        assert current_unit() is wf
    seen["outside"] = calls.task_type()
    assert seen == {"workflow": "wf", "agent": "wf", "task": "summarize", "outside": None}
    wf_span = by_name(otel, "invoke_workflow wf")
    agent_span = by_name(otel, "invoke_agent planner")
    tool_span = by_name(otel, "execute_tool search")
    assert children(otel, wf_span) == [agent_span]
    assert children(otel, agent_span) == [tool_span]
    assert tool_span.attributes["gen_ai.agent.name"] == "planner"  # the enclosing agent's name


def test_workflow_task_type_can_be_set(otel: Any) -> None:
    with otel_ai.workflow("nightly-run", task_type="report"):
        assert calls.task_type() == "report"
    assert by_name(otel, "invoke_workflow nightly-run").attributes["otel_ai.task.type"] == "report"


def test_task_type_source_and_listener_are_registered_on_import(otel: Any) -> None:
    assert calls.SEAM.task_type_of is units._task_type
    assert units._on_call in calls.SEAM.listeners


# -- never break the app ------------------------------------------------------------------------------


def test_a_failing_tracer_never_reaches_the_app(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("tracer down")

    monkeypatch.setattr(units, "_telemetry", lambda: (Broken(), None))

    @otel_ai.task("resilient")
    def work() -> str:
        return "fine"

    assert work() == "fine"
    with otel_ai.workflow("also") as unit:
        unit.set_cost(0.5, input_tokens=3)
        unit.set_attribute("k", "v")
    assert unit.totals.cost_usd == 0.5 and unit.totals.calls == 1


# -- instrument_methods -------------------------------------------------------------------------------


class NewsService:
    def __init__(self) -> None:
        self.prefix = "news"

    def fetch(self, n: int) -> list[str]:
        return [f"{self.prefix}-{i}" for i in range(n)]

    async def summarize(self, text: str) -> str:
        return text.upper()

    @staticmethod
    def version() -> str:
        return "1"

    @classmethod
    def kind(cls) -> str:
        return cls.__name__


async def test_instrument_methods_on_an_instance(otel: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    service = NewsService()
    other = NewsService()
    assert otel_ai.instrument_methods(service, "news_service", methods=["fetch", "summarize", "missing"]) is service
    otel_ai.instrument_methods(service, "news_service", methods=["fetch"])  # already wrapped: left alone
    assert service.fetch(2) == ["news-0", "news-1"]
    assert await service.summarize("hi") == "HI"
    assert other.fetch(1) == ["news-0"]  # other instances are untouched
    fetch = by_name(otel, "task news_service.fetch")
    assert fetch.attributes["otel_ai.task.type"] == "news_service"
    by_name(otel, "task news_service.summarize")
    # The agent's own warning reaches stderr (once), not only a log record the OTLP handler drops.
    assert "NewsService object has no method 'missing' to instrument" in capsys.readouterr().err
    assert agent_warnings.counts() == {"work.missing_method": 1}


def test_instrument_methods_on_a_class_and_a_module(otel: Any) -> None:
    cls = type("Svc", (NewsService,), {})
    cls.version = staticmethod(NewsService.version)  # type: ignore[attr-defined]
    cls.kind = classmethod(NewsService.kind.__func__)  # type: ignore[attr-defined]
    otel_ai.instrument_methods(cls, "svc", methods=["fetch", "version", "kind"], kind="tool")
    assert cls().fetch(1) == ["news-0"]
    assert cls.version() == "1"
    assert cls.kind() == "Svc"
    module = types.ModuleType("helpers")
    module.double = lambda x: x * 2  # type: ignore[attr-defined]
    otel_ai.instrument_methods(module, "helpers", methods=["double"])
    assert module.double(3) == 6  # type: ignore[attr-defined]
    names = {s.name for s in otel.spans()}
    assert {"execute_tool svc.fetch", "execute_tool svc.version", "execute_tool svc.kind",
            "task helpers.double"} <= names


# -- batches -------------------------------------------------------------------------------------------


def test_map_batches_one_span_per_batch_with_counts(otel: Any) -> None:
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("three")
        return i * 10

    result = otel_ai.map_batches(work, range(7), batch_size=3, name="embed")
    assert result.batches == 3
    assert result.results == [0, 10, 20, 40, 50, 60]
    assert [type(e) for e in result.errors] == [ValueError]
    assert isinstance(result.outcomes[3], ValueError)
    assert (result.succeeded, result.failed) == (6, 1)
    spans = sorted(
        (s for s in otel.spans() if s.name == "task embed"), key=lambda s: s.attributes["otel_ai.batch.index"]
    )
    counts = [(s.attributes["otel_ai.batch.items"], s.attributes["otel_ai.batch.succeeded"],
               s.attributes["otel_ai.batch.failed"]) for s in spans]
    assert counts == [(3, 3, 0), (3, 2, 1), (1, 1, 0)]
    assert spans[1].status.status_code is StatusCode.ERROR and spans[1].attributes["error.type"] == "ValueError"
    assert spans[0].status.status_code is StatusCode.UNSET
    assert all(s.attributes["otel_ai.task.type"] == "embed" for s in spans)


async def test_amap_batches_runs_a_batch_concurrently(otel: Any) -> None:
    running = 0
    peak = 0

    async def work(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        assert current_unit() is not None and current_unit().name == "fetch"  # type: ignore[union-attr]
        if i == 0:
            raise KeyError(i)
        return i

    result = await otel_ai.amap_batches(work, range(5), batch_size=4, name="fetch", task_type="crawl")
    assert peak == 4
    assert result.results == [1, 2, 3, 4] and result.failed == 1
    spans = [s for s in otel.spans() if s.name == "task fetch"]
    assert len(spans) == 2 and all(s.attributes["otel_ai.task.type"] == "crawl" for s in spans)


def test_map_batches_rejects_a_bad_batch_size(otel: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        otel_ai.map_batches(str, [1], batch_size=0)


def test_an_app_without_units_loads_and_patches_nothing() -> None:
    import subprocess
    import sys

    code = (
        "import sys, threading, concurrent.futures as cf\n"
        "import otel_ai\n"
        "from otel_ai.instrumentation.openai import OpenAIInstrumentor\n"
        "OpenAIInstrumentor().instrument()\n"
        "assert 'otel_ai.work.units' not in sys.modules, 'units imported'\n"
        "assert not hasattr(threading.Thread.start, '__wrapped__')\n"
        "assert not hasattr(cf.ThreadPoolExecutor.submit, '__wrapped__')\n"
        "from otel_ai.genai import hooks as calls\n"
        "assert calls.SEAM.task_type_of is None and not calls.SEAM.listeners\n"
        "otel_ai.task\n"  # first use: now registered and patched
        "assert calls.SEAM.task_type_of is not None and hasattr(threading.Thread.start, '__wrapped__')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
