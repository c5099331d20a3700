"""The public error types: bad settings (start-up only) and a budget that blocks a call."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting or data file is invalid; the message names the variable or file and the problem."""


class BudgetExceeded(Exception):
    """A budget with `action: block` has no money left: the request was not sent.

    Raised by the instrumented client call before anything reaches the provider, so a caller can
    catch it, fall back (a cheaper model, a cached answer) or report it.
    """

    def __init__(self, budget: str, spent_usd: float, limit_usd: float, period: str) -> None:
        super().__init__(
            f"otel-ai budget {budget!r} is exhausted: {spent_usd:.4f} of {limit_usd:.4f} USD spent this {period}; "
            "the request was not sent"
        )
        self.budget = budget
        self.spent_usd = spent_usd
        self.limit_usd = limit_usd
        self.period = period

    def __reduce__(self) -> tuple[type[BudgetExceeded], tuple[str, float, float, str]]:
        return (type(self), (self.budget, self.spent_usd, self.limit_usd, self.period))
