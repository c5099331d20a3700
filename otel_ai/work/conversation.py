"""`otel_ai.conversation(id=..., user=...)`: every GenAI call and unit of work inside belongs to it.

A decorator (plain and coroutine functions) and a `with` / `async with` block. Inside, every GenAI span
and every unit span gets `gen_ai.conversation.id` and `user.id` (`user.hash` with `OTEL_AI_USER_ID_HASH`),
budgets scoped to a user or a conversation count the call against that value, and the local store
groups the calls into conversations. Nested blocks inherit what they do not set: an inner
`conversation(user="bob")` keeps the outer id. Without an id anywhere, entering one makes a new id
(a UUID), so a decorated request handler starts a conversation per call unless the caller gives one.

Bad arguments (an id that is not a string or an integer) print one warning and are ignored: the code
inside runs as it would without the block.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar, cast

from opentelemetry import context as otel_context

from otel_ai import agent_warnings
from otel_ai.genai import conversation as conv
from otel_ai.guard import report
from otel_ai.work import threads

__all__ = ["ConversationScope", "conversation", "current_conversation"]

F = TypeVar("F", bound=Callable[..., Any])


def _text(name: str, value: object) -> str | None:
    """`value` as an id: a string or an integer (not a bool); anything else is one warning and None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    agent_warnings.warn("work.bad_argument", f"conversation.{name}",
                        f"otel_ai.conversation({name}=...) takes a string or an integer, not "
                        f"{type(value).__name__}; ignored")
    return None


class ConversationScope:
    """What `conversation()` returns: enter it (`with`, `async with`) or decorate a function with it."""

    __slots__ = ("_id", "_tokens", "_user")

    def __init__(self, conversation_id: str | None, user: str | None) -> None:
        self._id = conversation_id
        self._user = user
        self._tokens: list[object] = []

    def _open(self) -> conv.Conversation | None:
        try:
            threads.install()  # threads started inside belong to the conversation too
            outer = conv.current()
            cid = self._id or (outer.id if outer is not None else None) or uuid.uuid4().hex
            inherited = outer.user if self._user is None and outer is not None else None
            value = conv.make(cid, self._user, exported_user=inherited)
            self._tokens.append(otel_context.attach(otel_context.set_value(conv.KEY, value)))
            return value
        except Exception as exc:
            report("conversation.enter", exc)
            self._tokens.append(None)
            return None

    def _close(self) -> None:
        try:
            token = self._tokens.pop() if self._tokens else None
            if token is not None:
                otel_context.detach(token)  # type: ignore[arg-type]
        except Exception as exc:
            report("conversation.exit", exc)

    def __enter__(self) -> conv.Conversation | None:
        return self._open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._close()

    async def __aenter__(self) -> conv.Conversation | None:
        return self._open()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._close()

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):
            async_fn = cast(Callable[..., Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                scope = ConversationScope(self._id, self._user)  # one per call: calls may overlap
                scope._open()
                try:
                    return await async_fn(*args, **kwargs)
                finally:
                    scope._close()

            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            scope = ConversationScope(self._id, self._user)
            scope._open()
            try:
                return fn(*args, **kwargs)
            finally:
                scope._close()

        return cast(F, run)


def conversation(id: object = None, user: object = None) -> ConversationScope:
    """The conversation (and the user it is with) of the calls inside; see the module docstring."""
    return ConversationScope(_text("id", id), _text("user", user))


def current_conversation() -> conv.Conversation | None:
    """The conversation open where this is called (its `id`, the exported `user`), or None."""
    return conv.current()
