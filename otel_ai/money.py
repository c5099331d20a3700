"""One rule for money, in every surface (CLI, notices, the serve log; the dashboard's `usd()` in
web/static/js/lib.js is the same rule in JavaScript).

Shown: `$` and two decimals at $1 and above (`$1,234.50`); below $1, four significant digits with
trailing zeros dropped down to two decimals (`$0.50`, `$0.0006187`, `$0.00006825`), so a small
amount never reads `0.0000`; zero is `$0.00`. In JSON: a float rounded to 10 significant digits, so
sums carry no float noise (`0.0006187300000000001` is `0.00061873`).
"""

from __future__ import annotations

import math

__all__ = ["SIGNIFICANT_DIGITS_JSON", "format_usd", "json_usd"]

SIGNIFICANT_DIGITS_JSON = 10


def format_usd(value: float | None) -> str:
    """`value` USD as shown to people (see the module's rule); "-" for None, the text of a non-finite."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size == 0:
        return "$0.00"
    if size < 1:
        decimals = min(20, max(2, 3 - math.floor(math.log10(size))))
        text = f"{size:.{decimals}f}"
        if float(text) < 1:
            whole, _, fraction = text.partition(".")
            fraction = fraction.rstrip("0").ljust(2, "0")
            return f"{sign}${whole}.{fraction}"
    return f"{sign}${size:,.2f}"


def json_usd(value: float | None) -> float | None:
    """`value` rounded to 10 significant digits, for JSON (None and non-finite values unchanged)."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{SIGNIFICANT_DIGITS_JSON}g}")
