"""One instrumented process of the Prometheus fleet test (tests/work/test_budgets_prometheus.py).

`python prom_fleet_app.py BASE_URL CALLS SEEN_USD GAP_S`: sets up otel-ai from the environment (OTEL_AI_BUDGETS,
OTEL_AI_BUDGET_SERVER=prometheus+http://..., OTEL_METRICS_EXPORTER=prometheus on its own port, which the
test's Prometheus scrapes), waits for the first fleet refresh, makes CALLS chat calls against the simulator
GAP_S seconds apart (longer than the lag, so that each call is in the fleet reading before the next),
then stays up until its refresher reads a fleet spend of at least SEEN_USD from Prometheus (its own calls
scraped, so it can exit), and prints one JSON line: what each call did, the notices, its budget's numbers and
the lag from its last call to the reading that included it.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    base_url, count, seen_usd, gap_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    import openai

    import otel_ai
    from otel_ai import budgets
    from otel_ai import notify as notifiers
    from otel_ai.budgets.prometheus import PrometheusRefresher
    from otel_ai.errors import BudgetExceeded
    from otel_ai.notify import notification as notify

    notices: list[dict[str, object]] = []
    notifiers.install = lambda config=None, **_: notify.set_dispatcher(lambda n: notices.append(n.as_json()))
    otel_ai.configure()
    refresher = budgets.refresher()
    assert isinstance(refresher, PrometheusRefresher), refresher
    assert refresher.wait_for_refresh(1, 20), "no fleet refresh"
    first_reading = refresher.readings.get("fleet")
    tracker = budgets.active()
    assert tracker is not None
    client = openai.OpenAI(base_url=base_url, api_key="sk-fleet-0123456789abcdefghijklmnop", max_retries=0)
    outcomes = []
    for i in range(count):
        if i:
            time.sleep(gap_s)
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "fleet call"}])
            outcomes.append("sent")
        except BudgetExceeded:
            outcomes.append("blocked")
    last_call = time.monotonic()
    deadline = last_call + 30
    while refresher.readings.get("fleet", 0.0) < seen_usd * (1 - 1e-9) and time.monotonic() < deadline:
        time.sleep(0.01)
    lag_s = time.monotonic() - last_call
    (status,) = tracker.statuses()
    print(json.dumps({"outcomes": outcomes, "notices": notices, "spent_usd": status.spent_usd,
                      "local_usd": status.local_usd, "fleet": status.fleet, "first_reading": first_reading,
                      "reading": refresher.readings.get("fleet"), "lag_s": lag_s,
                      "query": refresher.queries.get("fleet")}), flush=True)


if __name__ == "__main__":
    main()
