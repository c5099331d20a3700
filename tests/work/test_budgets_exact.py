"""A block budget stops exactly at the call that reaches its limit: spend is counted in integer units.

With float sums, ten calls of 0.000003 USD add up to 2.9999999999999997e-05, below a 3e-05 limit,
and an eleventh call went out. Here every limit of 1 to 100 calls is checked to the call for
several per-call prices (decimal ones, costs computed as the pricing computes them, with float
noise, and thirds that no decimal holds), the limit's notice comes once and on that same call,
and with eight threads the calls already past the gate when the limit is crossed are bounded.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.genai import hooks as calls
from otel_ai.notify import notification as notify

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc).timestamp()
CHAT = calls.CallScope("openai", "chat", "gpt-4o-mini", None)
# Prices as a user writes them (decimal strings) and as the limit is written: price x calls.
DECIMAL_PRICES = ("0.000003", "0.1", "0.333333", "0.000000333333", "0.00000015", "1.7", "0.07", "0.000045", "12.5")


@pytest.fixture(autouse=True)
def _clean_seam() -> Iterator[None]:
    yield
    B.uninstall()
    calls.SEAM.gates = ()
    calls.SEAM.listeners = ()
    notify.set_dispatcher(None)


def tracker(limit_usd: float, warn_at: tuple[float, ...] = (0.5,)) -> B.BudgetTracker:
    budget = B.Budget("exact", limit_usd, warn_at=warn_at, action="block")
    return B.BudgetTracker([budget], clock=lambda: T0)


def calls_sent(t: B.BudgetTracker, cost: float, most: int = 1000) -> int:
    """Calls that pass the gate, one after the other, each charged `cost` once it returns."""
    for sent in range(most):
        try:
            t.gate(CHAT)
        except BudgetExceeded:
            return sent
        t.on_call(calls.CallFacts(CHAT, cost, 10, 10, 0, False))
    return most


def test_the_reported_case_ten_calls_of_three_millionths_reach_a_limit_of_three_hundred_thousandths() -> None:
    assert sum([0.000003] * 10) < 3e-05  # the float sum that let an eleventh call through
    assert calls_sent(tracker(3e-05), 0.000003) == 10


@pytest.mark.parametrize("price", DECIMAL_PRICES)
def test_every_limit_of_1_to_100_calls_at_a_decimal_price_stops_at_that_call(price: str) -> None:
    for n in range(1, 101):
        limit = float(Decimal(price) * n)
        assert calls_sent(tracker(limit), float(price)) == n, (price, n, limit)


@pytest.mark.parametrize(("tokens", "per_million"), [(20, 0.15), (7, 0.075), (1234, 2.5), (3, 0.6), (333, 1.1)])
def test_costs_computed_as_the_pricing_computes_them_stop_at_the_call(tokens: int, per_million: float) -> None:
    cost = tokens * per_million / 1e6  # otel_ai.pricing.cost: float noise in the last digit
    exact = Decimal(tokens) * Decimal(str(per_million)) / Decimal(10**6)
    for n in range(1, 101):
        assert calls_sent(tracker(float(exact * n)), cost) == n, (tokens, per_million, n)


@pytest.mark.parametrize("price", [1 / 3, 2 / 3, 0.1 / 3, 1e-5 / 3, 7 / 3, 1e-6 / 7])
def test_prices_no_decimal_holds_stop_at_the_call_with_the_limit_written_as_calls_times_price(price: float) -> None:
    for n in range(1, 101):
        assert calls_sent(tracker(n * price), price) == n, (price, n)


@settings(max_examples=300, deadline=None)
@given(digits=st.integers(1, 999_999), exponent=st.integers(-9, 1), n=st.integers(1, 100))
def test_any_price_of_up_to_six_significant_digits_stops_at_the_call(digits: int, exponent: int, n: int) -> None:
    price = Decimal(digits).scaleb(exponent - 5)  # 1e-14 .. 10 USD a call
    if price < Decimal("1e-9"):  # below a thousandth of a micro-dollar no call costs anything real
        price += Decimal("1e-9")
    assert calls_sent(tracker(float(price * n)), float(price)) == n


def test_the_limit_notice_comes_once_on_the_call_that_reaches_the_limit() -> None:
    seen: list[notify.Notification] = []
    notify.set_dispatcher(seen.append)
    t = tracker(3e-05, warn_at=(0.5, 0.8))
    for number in range(1, 11):
        t.gate(CHAT)
        t.on_call(calls.CallFacts(CHAT, 0.000003, 10, 10, 0, False))
        expected = [0.5] * (number >= 5) + [0.8] * (number >= 8) + [1.0] * (number >= 10)
        assert [n.threshold for n in seen] == expected, number
    with pytest.raises(BudgetExceeded) as caught:
        t.gate(CHAT)
    assert caught.value.spent_usd == 3e-05 and caught.value.limit_usd == 3e-05
    status = t.statuses()[0]
    assert status.spent_usd == 3e-05 and status.fraction == 1.0
    for _ in range(3):  # blocked calls are never charged, and nothing is notified twice
        with pytest.raises(BudgetExceeded):
            t.gate(CHAT)
    assert len(seen) == 3


def test_fleet_spend_is_compared_in_units_too() -> None:
    t = tracker(3e-05)
    ((_, start, local),) = t.local_snapshot()
    t.apply_fleet("exact", start, sum([0.000003] * 9), local)  # the server's float sum of nine calls
    t.gate(CHAT)  # nine spent: the tenth may go
    t.on_call(calls.CallFacts(CHAT, 0.000003, 10, 10, 0, False))
    with pytest.raises(BudgetExceeded):
        t.gate(CHAT)
    t.forget_fleet()  # the server went away: this process's own spend only, under the limit again
    t.gate(CHAT)


def test_units_are_exact_for_twelve_decimals_at_any_size() -> None:
    assert B.to_units(0.000003) == 3_000_000
    assert B.to_units(0.1) * 3 == B.to_units(0.3)
    assert B.to_units(999.999999999999) == 999_999_999_999_999
    assert B.to_units(1_000_000.000001) == 1_000_000_000_001_000_000
    assert B.to_units(123456789.123456) == 123_456_789_123_456_000_000


# -- eight threads ----------------------------------------------------------------------------------------


def overshoot_once(threads: int, limit_calls: int, rng: random.Random) -> int:
    """Threads call through the real seam (gate, a call of 0-2 ms, publish) until blocked; returns the
    calls sent beyond the `limit_calls` that reach the limit."""
    t = tracker(float(Decimal("0.000003") * limit_calls))
    calls.add_gate(t.checker)
    calls.subscribe(t.listener)
    sent = 0
    lock = threading.Lock()
    start = threading.Barrier(threads)
    delays = [[rng.random() * 0.002 for _ in range(limit_calls + threads)] for _ in range(threads)]

    def worker(mine: list[float]) -> None:
        nonlocal sent
        start.wait()
        for delay in mine:
            try:
                calls.gate(CHAT)
            except BudgetExceeded:
                return
            with lock:
                sent += 1
            time.sleep(delay)  # the request in flight
            calls.publish(calls.CallFacts(CHAT, 0.000003, 10, 10, 0, False))

    workers = [threading.Thread(target=worker, args=(delays[i],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    calls.remove_gate(t.checker)
    calls.unsubscribe(t.listener)
    assert sent >= limit_calls  # never blocked early
    return sent - limit_calls


def test_with_eight_threads_at_most_seven_calls_in_flight_finish_past_the_limit() -> None:
    """Calls that passed the gate before the limit was crossed are not stopped (their cost is not
    known until they return): at most one per other thread, threads - 1 in all."""
    rng = random.Random(15)
    over = [overshoot_once(8, rng.randint(1, 60), rng) for _ in range(60)]
    assert max(over) <= 7, over
