"""`otel-ai report conversations`: conversations (or one conversation's turns, or users) from the local store.

The same numbers as `/api/v1/conversations`, `/api/v1/conversations/{id}` and `/api/v1/users`; `--format
json` prints those answers. Kept apart from `report.py` (the cost reports), which calls `render`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from otel_ai.money import format_usd

if TYPE_CHECKING:
    import argparse

    from pydantic import BaseModel

    from otel_ai.serve.store import Store

__all__ = ["HELP", "add_arguments", "render"]

HELP = "conversations with their calls, cost, errors and latency; --conversation ID: its turns; --users: per user"
UNSUPPORTED = ("provider", "operation", "model", "task_type")
Rows = tuple[list[str], list[list[Any]]]


class Unsupported(ValueError):
    """A filter this report does not take."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="ID", help="only this user's conversations (user.id, or user.hash)")
    parser.add_argument("--conversation", metavar="ID", help="one conversation: its turns in order")
    parser.add_argument("--users", action="store_true", help="spend, calls and conversations per user")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="rows (default 50, at most 1000)")


def render(args: argparse.Namespace, store: Store, since: datetime | None, until: datetime | None,
           where: str, grid: Callable[..., list[str]]) -> tuple[BaseModel, Callable[[], str], Callable[[], Rows]]:
    """(the API's model, the table, the CSV rows) of the report `args` asks for."""
    from otel_ai.serve.models import ConversationDetail, ConversationPage, UserPage

    for name in UNSUPPORTED:
        if getattr(args, name, None) is not None:
            raise Unsupported(f"--{name.replace('_', '-')} is not a filter of `report conversations` "
                              "(it takes --service, --user, --since, --until)")
    limit = max(1, min(int(getattr(args, "limit", 50) or 50), 1000))
    service = getattr(args, "service", None)
    if getattr(args, "conversation", None):
        found = store.conversation(args.conversation, limit=limit)
        if found is None:
            raise Unsupported(f"no call of conversation {args.conversation!r} is stored")
        detail = ConversationDetail.model_validate(found)
        return detail, lambda: _detail_table(detail, grid), lambda: _turn_rows(detail)
    if getattr(args, "users", False):
        users = UserPage.model_validate(store.users(service=service, since=since, until=until, limit=limit))
        return users, lambda: _users_table(users, where, grid), lambda: _user_rows(users)
    page = ConversationPage.model_validate(store.conversations(
        user=getattr(args, "user", None), service=service, since=since, until=until, limit=limit))
    return page, lambda: _page_table(page, where, grid), lambda: _page_rows(page)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def _page_table(page: Any, where: str, grid: Callable[..., list[str]]) -> str:
    title = f"Conversations, {where}"
    if not page.items:
        return f"No conversations recorded in this range.\n{title}\n"
    headers = ("conversation", "user", "calls", "errors", "input tokens", "output tokens", "cost", "mean latency",
               "last activity")
    rows = [[c.conversation_id, c.user or ("-" if c.users <= 1 else f"{c.users} users"), f"{c.calls:,}",
             f"{c.errors:,}", f"{c.input_tokens:,}", f"{c.output_tokens:,}", format_usd(c.cost_usd),
             _ms(c.mean_latency_ms), _time(c.last_at)] for c in page.items]
    more = f"{page.total}{'+' if page.total_capped else ''} conversations" + (
        f", the {len(page.items)} most recently active shown" if page.has_more else "")
    return "\n".join([title, "", *grid(headers, rows, [False, False, *[True] * 6, False]), "", more]) + "\n"


def _page_rows(page: Any) -> Rows:
    header = ["conversation_id", "user", "users", "calls", "errors", "cost_usd", "unpriced_calls", "input_tokens",
              "output_tokens", "mean_latency_ms", "max_latency_ms", "first_at", "last_at"]
    return header, [[_cell(getattr(c, k)) for k in header] for c in page.items]


def _detail_table(detail: Any, grid: Callable[..., list[str]]) -> str:
    users = ", ".join(detail.users) or "-"
    title = (f"Conversation {detail.conversation_id}: {detail.calls:,} calls, {detail.errors:,} failed, "
             f"{format_usd(detail.cost_usd)}, users: {users}")
    headers = ("#", "started", "model", "user", "input tokens", "output tokens", "cost", "latency", "outcome")
    rows = [[str(detail.offset + i + 1), _time(t.started_at), t.model or "-", t.user or "-", f"{t.input_tokens:,}",
             f"{t.output_tokens:,}", _turn_cost(t),
             _ms(t.latency_ms), t.outcome if t.outcome == "ok" else f"error ({t.error_category or 'other'})"]
            for i, t in enumerate(detail.turns)]
    lines = [title, "", *grid(headers, rows, [True, False, False, False, True, True, True, True, False])]
    if detail.next_offset is not None:
        lines += ["", f"first {len(detail.turns)} turns shown (--limit)"]
    return "\n".join(lines) + "\n"


def _turn_cost(turn: Any) -> str:
    """The turn's cost; "unpriced" only for usage without a price (a call that failed before any has none)."""
    if turn.cost_usd is not None:
        return format_usd(turn.cost_usd)
    return "unpriced" if turn.input_tokens or turn.output_tokens else "-"


def _turn_rows(detail: Any) -> Rows:
    header = ["started_at", "trace_id", "span_id", "provider", "model", "user", "input_tokens", "output_tokens",
              "cost_usd", "latency_ms", "outcome", "error_category"]
    return header, [[_cell(getattr(t, k)) for k in header] for t in detail.turns]


def _users_table(users: Any, where: str, grid: Callable[..., list[str]]) -> str:
    title = f"Users, {where}"
    if not users.items:
        return f"No calls with a user recorded in this range.\n{title}\n"
    headers = ("user", "conversations", "calls", "errors", "cost", "mean latency")
    rows = [[u.user, f"{u.conversations:,}", f"{u.calls:,}", f"{u.errors:,}", format_usd(u.cost_usd),
             _ms(u.mean_latency_ms)] for u in users.items]
    return "\n".join([title, "", *grid(headers, rows, [False, True, True, True, True, True])]) + "\n"


def _user_rows(users: Any) -> Rows:
    header = ["user", "conversations", "calls", "errors", "cost_usd", "unpriced_calls", "input_tokens",
              "output_tokens", "mean_latency_ms", "first_at", "last_at"]
    return header, [[_cell(getattr(u, k)) for k in header] for u in users.items]


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else value
