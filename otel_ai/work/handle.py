"""The handle of one running unit of work: its span, its roll-up, and what the app may add (`set_cost`).

A `Unit` ends exactly once, whoever ends it first (the decorator, the context manager, a generator
closed early), with its totals on the span and its duration on the conventions' histogram.
"""

from __future__ import annotations

import math
import threading
import timeit
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal

from opentelemetry.context import Context, attach, detach
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_ai.genai import hooks as calls
from otel_ai.genai import semconv as sc
from otel_ai.genai.classify import error_type
from otel_ai.genai.conversation import current as current_conversation
from otel_ai.guard import report
from otel_ai.privacy.cut import truncate
from otel_ai.work.rollup import Attributes, Totals, ensure_registered
from otel_ai.work.telemetry import telemetry

if TYPE_CHECKING:
    from otel_ai.work.units import UnitOfWork

__all__ = ["EXTERNAL_OPERATION", "Kind", "Unit"]

# The `CallScope.operation` of spend recorded with `Unit.set_cost` (what budgets can match on).
EXTERNAL_OPERATION: Final = "external"
# The provider `set_cost` records when it is not told one: not a provider an agent span can name.
UNKNOWN_PROVIDER: Final = "unknown"

Kind = Literal["workflow", "agent", "tool", "task"]


class Unit:
    """One running workflow, agent, tool or task: its span, its roll-up, and what the app may add."""

    __slots__ = (
        "_calls", "_characters", "_claim", "_context", "_cost", "_failed", "_input", "_lock", "_output", "_provider",
        "_start", "_token", "_unpriced", "agent_name", "kind", "name", "parent", "span", "spec", "task_type",
    )

    def __init__(self, spec: UnitOfWork, parent: Unit | None, span: Span, agent_name: str | None) -> None:
        self.spec = spec
        self.kind: Kind = spec.kind
        self.name = spec.name
        self.parent = parent
        self.span = span
        # The innermost task type: this unit's own, else the enclosing unit's.
        inherited = parent.task_type if parent is not None else None
        self.task_type: str | None = spec.task_type if spec.task_type is not None else inherited
        self.agent_name = agent_name
        self._lock = threading.Lock()
        self._cost = 0.0
        self._input = self._output = self._characters = self._calls = self._failed = self._unpriced = 0
        self._claim = [True]  # list.pop is atomic: the one caller that pops it ends the unit
        self._context: Context | None = None
        self._token: object = None
        self._start = timeit.default_timer()
        # An agent's `gen_ai.provider.name`: the one it was given, else that of the first call under it.
        provider = spec.start_attributes.get(sc.PROVIDER) if spec.kind == "agent" else None
        self._provider: str | None = provider if isinstance(provider, str) else None

    # -- public ---------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return not self._claim

    @property
    def totals(self) -> Totals:
        """The roll-up so far: every call under this unit, threads and asyncio tasks included."""
        with self._lock:
            return Totals(self._cost, self._input, self._output, self._characters, self._calls, self._failed,
                          self._unpriced)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        try:
            self.span.set_attribute(key, value)
        except Exception as exc:
            report("work.set_attribute", exc)

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        try:
            self.span.set_attributes(attributes)
        except Exception as exc:
            report("work.set_attribute", exc)

    def set_cost(
        self,
        usd: float,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        characters: int = 0,
        model: str | None = None,
        provider: str = UNKNOWN_PROVIDER,
        failed: bool = False,
    ) -> None:
        """Record spend the agent cannot see (a library it does not instrument, a local model).

        Each call counts as one call in this unit's roll-up and in every unit above it, and is
        published like a finished GenAI call (operation `external`), so budgets count it too.
        """
        try:
            cost = float(usd)
            conversation = current_conversation()
            facts = calls.CallFacts(
                calls.CallScope(provider, EXTERNAL_OPERATION, model, self.task_type,
                                conversation.id if conversation else None, conversation.user if conversation else None),
                cost if math.isfinite(cost) and cost > 0 else 0.0,
                max(0, int(input_tokens)), max(0, int(output_tokens)), max(0, int(characters)), bool(failed),
            )
            ensure_registered()
            context = self._context
            if context is None:  # the unit could not start its span: count it here only
                self._add(facts)
                return
            # Published in this unit's context: the roll-up listener adds it here and above.
            token = attach(context)
            try:
                calls.publish(facts)
            finally:
                detach(token)
        except Exception as exc:
            report("work.set_cost", exc)

    # -- internal -------------------------------------------------------------------------------

    def _add(self, facts: calls.CallFacts) -> None:
        if self.kind == "agent" and self._provider is None:
            self._learn_provider(facts.scope.provider)
        with self._lock:
            self._cost += facts.cost_usd
            self._input += facts.input_tokens
            self._output += facts.output_tokens
            self._characters += facts.characters
            self._calls += 1
            if facts.failed:
                self._failed += 1
            if facts.unpriced:
                self._unpriced += 1

    def _learn_provider(self, provider: str) -> None:
        """The conventions require `gen_ai.provider.name` on `invoke_agent`: the first known provider of a call."""
        if not provider or provider == UNKNOWN_PROVIDER:
            return
        with self._lock:
            if self._provider is not None:
                return
            self._provider = provider
        if not self.ended and self.span.is_recording():
            self.span.set_attribute(sc.PROVIDER, provider)

    def _activate(self) -> object:
        """Make this unit (and its span) current; returns the token for `_deactivate`."""
        if self._context is None:
            return None
        try:
            return attach(self._context)
        except Exception as exc:
            report("work.attach", exc)
            return None

    @staticmethod
    def _deactivate(token: object) -> None:
        if token is None:
            return
        try:
            detach(token)  # type: ignore[arg-type]
        except Exception as exc:
            report("work.detach", exc)

    def _end(self, exc: BaseException | None) -> None:
        """End the span with the roll-up, exactly once; a generator closed early is not an error."""
        try:
            self._claim.pop()
        except IndexError:
            return
        try:
            duration = max(timeit.default_timer() - self._start, 0.0)
            spec, span = self.spec, self.span
            attributes: Attributes = dict(spec.end_attributes)
            if self.kind == "tool" and self.agent_name is not None:
                attributes[sc.AGENT_NAME] = self.agent_name
            metric_attributes: Attributes | None = None
            failure = None if isinstance(exc, GeneratorExit) else exc
            if self.kind != "task":
                metric_attributes = dict(spec.metric_attributes)
                if self.kind == "tool" and self.agent_name is not None:
                    metric_attributes[sc.AGENT_NAME] = self.agent_name
            if failure is not None:
                etype = error_type(failure)
                attributes[sc.ERROR_TYPE] = etype
                if metric_attributes is not None:
                    metric_attributes[sc.ERROR_TYPE] = etype
                span.set_status(Status(StatusCode.ERROR, truncate(str(failure), 512)))
                span.record_exception(failure, escaped=True)
            attributes.update(self.totals.attributes())
            if span.is_recording():
                span.set_attributes(attributes)
            span.end()
            if metric_attributes is not None:
                _, instruments = telemetry()
                histogram = getattr(instruments, self.kind)
                histogram.record(duration, metric_attributes, context=self._context)
        except Exception as inner:
            report("work.end", inner)
            try:
                self.span.end()
            except Exception as last:
                report("work.end_span", last)
