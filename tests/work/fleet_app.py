"""One instrumented process of the fleet test (tests/work/test_fleet.py): `python fleet_app.py BASE_URL CALLS`.

It sets up otel-ai from the environment (OTEL_AI_BUDGETS, OTEL_AI_BUDGET_SERVER, the OTLP endpoint of a
real `otel-ai serve`), waits for the first fleet refresh, makes CALLS chat calls against the simulator at
BASE_URL, flushes its spans (the server acknowledges once stored) and prints one JSON line: what each
call did, the notices it sent, and its budget's numbers.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    base_url, count = sys.argv[1], int(sys.argv[2])
    import openai
    from opentelemetry import trace

    import otel_ai
    from otel_ai import budgets
    from otel_ai import notify as notifiers
    from otel_ai.errors import BudgetExceeded
    from otel_ai.notify import notification as notify

    notices: list[dict[str, object]] = []
    # The notices go to this list, as to a configured notifier: set-up installs the notifiers, then the
    # budgets (whose first fleet refresh may already find a threshold crossed).
    notifiers.install = lambda config=None, **_: notify.set_dispatcher(lambda n: notices.append(n.as_json()))
    otel_ai.configure()
    refresher = budgets.refresher()
    assert refresher is not None and refresher.wait_for_refresh(1, 20), "no fleet refresh"
    tracker = budgets.active()
    assert tracker is not None
    client = openai.OpenAI(base_url=base_url, api_key="sk-fleet-0123456789abcdefghijklmnop", max_retries=0)
    outcomes = []
    for _ in range(count):
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "fleet call"}])
            outcomes.append("sent")
        except BudgetExceeded:
            outcomes.append("blocked")
    provider = trace.get_tracer_provider()
    flush = getattr(provider, "force_flush", None)
    if flush is not None:
        flush()  # the server acknowledges once stored
    # Its own last calls reach the fleet figure with the next refresh that starts after the flush.
    assert refresher.wait_for_refresh(refresher.refreshes + 2, 20), "no fleet refresh after the flush"
    (status,) = tracker.statuses()
    print(json.dumps({"outcomes": outcomes, "notices": notices, "spent_usd": status.spent_usd,
                      "local_usd": status.local_usd, "fleet": status.fleet}), flush=True)


if __name__ == "__main__":
    main()
