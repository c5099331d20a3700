"""The JSON API's routers, one per resource: health, reports, traces, export, budgets.

Each module holds an `APIRouter` named ``router``; `otel_ai.serve.api.create_app` includes them in
that order (the order of the paths in `/openapi.json`). What they share (the store, the time range
and filter parameters, the paging bounds) is in `deps`.
"""
