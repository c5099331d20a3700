"""`/api/v1/export`: the GenAI calls in a range, streamed as CSV or a JSON array (never held in memory)."""

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from otel_ai.serve.models import CallStatus, ExportFormat
from otel_ai.serve.routers.deps import API_PREFIX, MAX_TEXT, RESPONSES_422, Dimensions, StoreDep, Window, text

__all__ = ["EXPORT_COLUMNS", "csv_cell", "router"]

# The columns of a CSV export, in order; a JSON export's objects carry the same keys.
EXPORT_COLUMNS: Final = (
    "time",
    "trace_id",
    "span_id",
    "service",
    "provider",
    "operation",
    "model",
    "task_type",
    "input_tokens",
    "output_tokens",
    "characters",
    "cost_usd",
    "duration_ms",
    "outcome",
    "error_category",
    "error_type",
    "error_code",
    "response_model",  # the model that answered; `model` is the one the app asked for
)
_EXPORT_CHUNK: Final = 500  # rows per chunk written to the response

router = APIRouter(prefix=API_PREFIX, tags=["export"])


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the GenAI calls, oldest first: CSV with a header row, or a JSON array of objects; "
            f"columns/keys: {', '.join(EXPORT_COLUMNS)}",
            "content": {"text/csv": {}, "application/json": {}},
        },
        **RESPONSES_422,
    },
)
def export(
    store: StoreDep,
    window: Window,
    dims: Dimensions,
    format: Annotated[ExportFormat, Query(description="csv or json")] = ExportFormat.json,
    status: Annotated[CallStatus | None, Query(description="ok or error calls only")] = None,
    error_category: Annotated[str | None, Query(description="failed calls of this category only",
                                                max_length=MAX_TEXT)] = None,
) -> StreamingResponse:
    lo, hi = window
    rows = store.export_calls(
        lo, hi, **dims,
        outcome=status.value if status else None, error_category=text(error_category),
    )
    if format is ExportFormat.csv:
        return StreamingResponse(_csv_chunks(rows), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="otel-ai-calls.csv"'})
    return StreamingResponse(_json_chunks(rows), media_type="application/json",
                             headers={"Content-Disposition": 'attachment; filename="otel-ai-calls.json"'})


# -- export encodings ----------------------------------------------------------------------------------------


# A spreadsheet opening the CSV runs a cell that starts with one of these as a formula (=HYPERLINK(…),
# =cmd|…): OWASP's "CSV injection" advice is to prefix such a text cell with a single quote.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell a spreadsheet shows as text: text starting like a formula gets a leading ``'``.

    Numbers are left alone (a negative number is a number, not a formula); the csv module quotes any
    cell holding a comma, a quote or a line break, so no cell can spill into the next.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_chunks(rows: Iterator[Mapping[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    try:
        for i, row in enumerate(rows, 1):
            writer.writerow({key: csv_cell(value) for key, value in row.items()})
            if i % _EXPORT_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        _close(rows)


def _json_chunks(rows: Iterator[Mapping[str, Any]]) -> Iterator[str]:
    parts = ["["]
    separator = "\n"
    try:
        for row in rows:
            parts.append(separator + json.dumps({k: row.get(k) for k in EXPORT_COLUMNS}, ensure_ascii=False))
            separator = ",\n"
            if len(parts) >= _EXPORT_CHUNK:
                yield "".join(parts)
                parts = []
        parts.append("\n]\n" if separator == ",\n" else "]\n")
        yield "".join(parts)
    finally:
        _close(rows)


def _close(rows: Iterable[Any]) -> None:
    """End the store's read transaction now, also when the client went away mid-export."""
    close = getattr(rows, "close", None)
    if callable(close):
        close()
