"""`/api/v1/conversations` (conversations with their totals), `/api/v1/conversations/{id}` (its turns in
order) and `/api/v1/users` (spend and calls per user)."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from otel_ai.serve.models import ConversationDetail, ConversationPage, Problem, UserPage
from otel_ai.serve.routers.deps import (
    API_PREFIX,
    MAX_OFFSET,
    MAX_TEXT,
    RESPONSES_422,
    StoreDep,
    service_q,
    since_q,
    text,
    to_range,
    until_q,
)

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["conversations"])
Sort = Literal["recent", "cost", "calls", "errors", "tokens", "latency"]  # store/conversations.py SORTS
_SORT_HELP = ("highest first: recent (last activity), cost, calls, errors, tokens (input + output) or latency "
              "(mean)")


@router.get("/conversations", response_model=ConversationPage, responses=RESPONSES_422)
def conversations(
    store: StoreDep,
    user: Annotated[str | None, Query(description="only this user's (user.id, or user.hash)",
                                      max_length=MAX_TEXT)] = None,
    service: Annotated[str | None, service_q] = None,
    since: Annotated[str | None, since_q] = None,
    until: Annotated[str | None, until_q] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="conversations to skip")] = 0,
    sort: Annotated[Sort, Query(description=_SORT_HELP)] = "recent",
) -> ConversationPage:
    """Conversations (`gen_ai.conversation.id`), the most recently active first; the totals count the calls
    in the window only."""
    lo, hi = to_range(since, until)
    page = store.conversations(user=text(user), service=text(service), since=lo, until=hi, limit=limit,
                               offset=offset, sort=sort)
    return ConversationPage.model_validate(page)


@router.get(
    "/conversations/{conversation_id:path}", response_model=ConversationDetail,
    responses={404: {"model": Problem, "description": "no call of this conversation is stored"}, **RESPONSES_422},
)
def conversation(
    store: StoreDep,
    conversation_id: Annotated[str, Path(min_length=1, max_length=256)],
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="turns to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="turns per page")] = 200,
) -> ConversationDetail:
    found = store.conversation(conversation_id, limit=limit, offset=offset)
    if found is None:
        raise HTTPException(status_code=404, detail="no call of this conversation is stored")
    return ConversationDetail.model_validate(found)


@router.get("/users", response_model=UserPage, responses=RESPONSES_422)
def users(
    store: StoreDep,
    service: Annotated[str | None, service_q] = None,
    since: Annotated[str | None, since_q] = None,
    until: Annotated[str | None, until_q] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="users to skip")] = 0,
    sort: Annotated[Sort, Query(description=_SORT_HELP + "; default cost")] = "cost",
) -> UserPage:
    """Users (`user.id`, or `user.hash`), the highest spend first, with their calls and conversations."""
    lo, hi = to_range(since, until)
    return UserPage.model_validate(store.users(service=text(service), since=lo, until=hi, limit=limit,
                                               offset=offset, sort=sort))
