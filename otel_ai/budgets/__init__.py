"""Budgets: spend tracked in-process per calendar period, threshold notices, gauges, and blocking.

`OTEL_AI_BUDGETS` declares them (inline JSON, or the path of a YAML/JSON file)::

    [{"name": "daily-gpt", "scope": {"provider": "openai", "model": "gpt-4o-mini"},
      "period": "day", "limit_usd": 20, "warn_at": [0.5, 0.8], "action": "block", "timezone": "UTC"}]

The recorder hands every finished call to `BudgetTracker.on_call` (through `otel_ai.genai.hooks`),
which adds its cost to each budget whose scope matches and notifies (`otel_ai.notify.notification`) on each
threshold crossed, once per budget, threshold and period. A budget with `action: block` also
registers `BudgetTracker.gate`, which raises `BudgetExceeded` before the request is sent once the
period's spend has reached the limit.

Spend is counted per process: each process of a fleet sees its own calls only. With
`OTEL_AI_BUDGET_SERVER` naming an `otel-ai serve`, `otel_ai.budgets.fleet` refreshes the fleet's
spend in the background and the tracker adds the local spend since (see `apply_fleet`); the
call path never waits on the network. With `OTEL_AI_BUDGET_SERVER=prometheus+http(s)://…`,
`otel_ai.budgets.prometheus` does the same with PromQL (`otel_ai.budgets.promql`) over the cost counter
in a Prometheus-compatible store.

Spend is counted in whole units of 1e-12 USD (`UNITS_PER_USD`), as Python integers: each call's
cost, the limit and every threshold are rounded to the unit once, then only added and compared, so
ten calls of 0.000003 USD reach a 0.00003 USD limit exactly at the tenth (float sums fall short
of it and let an eleventh through). Any amount with up to twelve decimals is held exactly; for
costs that are not (1/3 USD), a threshold counts as reached within half a unit per call counted,
the most the per-call rounding can have lost.

Severity of a notice: the limit (1.0) is critical, the highest `warn_at` below it warning, any
lower one info. A bad entry is one problem line naming `OTEL_AI_BUDGETS` and the entry, and is
skipped; nothing here raises into the app except `BudgetExceeded` from the gate.

Modules: `config` (the `Budget` spec, spend units, parsing the variables), `periods` (calendar
periods), `tracker` (spend, thresholds, notices, the gate), `gauges`, `installation` (install and
uninstall on the recorder's seam), `fleet` (the fleet-wide refresh), `promql` and `prometheus` (the same
from Prometheus). This module re-exports their
public names.
"""

from __future__ import annotations

from otel_ai.budgets.config import (
    BUDGET_SERVER_TOKEN_VAR,
    BUDGET_SERVER_TTL_VAR,
    BUDGET_SERVER_VAR,
    BUDGETS_VAR,
    PERIODS,
    SCOPE_KEYS,
    UNITS_PER_USD,
    Budget,
    BudgetConfig,
    parse_budget_config,
    parse_budgets,
    to_units,
)
from otel_ai.budgets.installation import _service_name as _service_name  # tests read it here
from otel_ai.budgets.installation import active, install, refresher, uninstall
from otel_ai.budgets.periods import period_bounds
from otel_ai.budgets.tracker import BudgetStatus, BudgetTracker, severity

__all__ = [
    "BUDGETS_VAR",
    "BUDGET_SERVER_TOKEN_VAR",
    "BUDGET_SERVER_TTL_VAR",
    "BUDGET_SERVER_VAR",
    "PERIODS",
    "SCOPE_KEYS",
    "UNITS_PER_USD",
    "Budget",
    "BudgetConfig",
    "BudgetStatus",
    "BudgetTracker",
    "active",
    "install",
    "parse_budget_config",
    "parse_budgets",
    "period_bounds",
    "refresher",
    "severity",
    "to_units",
    "uninstall",
]
