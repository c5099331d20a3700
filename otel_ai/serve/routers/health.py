"""`/api/v1/health`: liveness, the store's state and the OTLP receiver's counters."""

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from otel_ai.serve.models import Health, ReceiverCounters, StorageState
from otel_ai.serve.routers.deps import API_PREFIX, AuthenticatedDep, StatsDep, StoreDep
from otel_ai.version import __version__

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)


@router.get("/health", response_model=Health, tags=["meta"])
def health(store: StoreDep, stats: StatsDep, authenticated: AuthenticatedDep) -> Any:
    """Liveness and the receiver's counters. With a token set and none sent, only ``{"status": …}``
    (open for probes, nothing else revealed)."""
    state = "ok"
    try:
        store.traces(limit=1)
    except Exception as exc:  # the answer is the report: any failure means "degraded"
        state = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    if not authenticated:
        return JSONResponse({"status": "ok" if state == "ok" else "degraded"})
    receiver = ReceiverCounters.model_validate(dict(stats())) if stats is not None else None
    storage = None
    if state == "ok" and callable(getattr(store, "storage", None)):
        try:
            storage = StorageState.model_validate(store.storage())
        except Exception:  # an optional part of the answer: health still answers without it
            logging.getLogger("otel_ai.serve").warning("reading the store's storage state failed", exc_info=True)
    return Health(status="ok" if state == "ok" else "degraded", version=__version__, store=state,
                  store_url=getattr(store, "url", None), receiver=receiver, storage=storage)
