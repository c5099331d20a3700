"""Budgets scoped to users and conversations: `"*"` gives each user (conversation) its own limit, with no
budget entry per user; a named user is one budget; blocking stops that user only, before sending."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

import otel_ai
import otel_ai.budgets as B
from otel_ai.budgets.config import parse_budgets
from otel_ai.errors import BudgetExceeded
from otel_ai.notify import notification as notify
from otel_ai.runtime import state as _state
from tests.conftest import Telemetry

MESSAGES = [{"role": "user", "content": "Say hello to the budget."}]


def install(telemetry: Telemetry, *declared: B.Budget) -> B.BudgetTracker:
    tracker = B.install(B.BudgetConfig(declared), meter_provider=telemetry.providers["meter_provider"],
                        tracer_provider=telemetry.providers["tracer_provider"])
    assert tracker is not None
    return tracker


def chat(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def sent(sim: Any) -> int:
    return len(sim.requests_for("/chat/completions"))


def test_each_user_gets_the_limit_and_only_the_spent_one_is_blocked(
    client: Any, sim: Any, telemetry: Telemetry, notices: list[notify.Notification],
) -> None:
    tracker = install(telemetry, B.Budget("per-user", 1e-9, scope={"user": "*"}, warn_at=(), action="block"))
    sim.clear()
    with otel_ai.conversation(user="alice"):
        chat(client)  # under the limit: sent, and spends alice's whole limit
        with pytest.raises(BudgetExceeded) as caught:
            chat(client)
    assert caught.value.budget == "per-user (user alice)" and sent(sim) == 1
    with otel_ai.conversation(user="bob"):
        chat(client)  # bob's own limit: untouched by alice's spend
    chat(client)  # no user: outside a per-user budget
    assert sent(sim) == 3
    assert [(n.name, n.severity) for n in notices] == [("per-user", "critical"), ("per-user", "critical")]
    assert "for user 'alice'" in notices[0].message and "for user 'bob'" in notices[1].message
    [status] = tracker.statuses()
    assert status.value in ("alice", "bob") and status.spent_usd > 0


def test_a_conversation_budget_counts_each_conversation_apart(
    client: Any, sim: Any, telemetry: Telemetry, notices: list[notify.Notification],
) -> None:
    tracker = install(telemetry, B.Budget("per-conversation", 1.0, scope={"conversation": "*"}))
    for cid, calls in (("c1", 3), ("c2", 1)):
        with otel_ai.conversation(id=cid):
            for _ in range(calls):
                chat(client)
    [status] = tracker.statuses()
    one_call = telemetry.genai_spans()[0].attributes["otel_ai.cost.usd"]
    assert status.value == "c1" and status.spent_usd == pytest.approx(3 * one_call)


def test_a_named_user_is_one_budget_and_matches_the_hashed_id_too(
    client: Any, sim: Any, telemetry: Telemetry, notices: list[notify.Notification],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_AI_USER_ID_HASH", "true")
    _state.reset()
    telemetry.reinstrument()
    tracker = install(telemetry, B.Budget("carol", 1.0, scope={"user": "carol"}))
    with otel_ai.conversation(user="carol") as conv:
        chat(client)
    assert conv is not None and conv.user == hashlib.sha256(b"carol").hexdigest()[:32]
    with otel_ai.conversation(user="dave"):
        chat(client)
    [status] = tracker.statuses()
    assert status.value is None
    assert status.spent_usd == pytest.approx(telemetry.genai_spans()[0].attributes["otel_ai.cost.usd"])


def test_the_scope_grammar() -> None:
    budgets, problems = parse_budgets('[{"name": "u", "limit_usd": 1, "scope": {"user": "*", "provider": "openai"}}]')
    assert problems == [] and budgets[0].per_value == "user"
    for scope, message in (
        ('{"model": "*"}', "scope 'model' cannot be \"*\""),
        ('{"user": "*", "conversation": "*"}', "only one of user and conversation can be \"*\""),
    ):
        budgets, problems = parse_budgets(f'[{{"name": "b", "limit_usd": 1, "scope": {scope}}}]')
        assert budgets == [] and len(problems) == 1 and message in problems[0], problems
