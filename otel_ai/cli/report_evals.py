"""`otel-ai report evals`: evaluation scores per evaluation, model and task type (or conversation), with the
cost per good answer.

Kept apart from report.py (its size limit); it reads the same store through `Store.evaluation_summary`
(otel_ai/serve/store/evaluations.py), the answer of `/api/v1/evaluations/summary`.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_ai.serve.store import Store

__all__ = ["GOOD_LABELS", "add_arguments", "render"]

GOOD_LABELS = ("pass", "correct", "good", "thumbs_up")
_MEASURES = ["evaluations", "mean_score", "good", "cost_usd", "cost_per_good_answer_usd"]
_GROUPS = ("model", "task_type", "conversation")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=argparse.SUPPRESS, metavar="NAME", help="only this evaluation name")
    parser.add_argument("--conversation", default=argparse.SUPPRESS, metavar="ID",
                        help="only evaluations in this conversation (gen_ai.conversation.id)")
    parser.add_argument("--group-by", action="append", dest="group_by", choices=_GROUPS, metavar="KEY",
                        help="group by the evaluation name and these (repeatable: model, task_type, "
                             "conversation; default: model and task_type)")
    parser.add_argument("--threshold", type=float, default=0.7,
                        help="a score at or above it is a good answer (default: 0.7)")
    parser.add_argument("--good-label", action="append", dest="good_label", metavar="LABEL",
                        help=f"a label that is a good answer (repeatable; default: {', '.join(GOOD_LABELS)})")


class _Model:
    """What report.py's json format dumps (the API's answer, as is)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return self.answer


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def render(store: Store, args: argparse.Namespace, since: datetime | None, until: datetime | None,
           where: str) -> tuple[Any, Any, Any]:
    """(model for json, table(), rows()) as report.py's `_render` takes them."""
    answer = store.evaluation_summary(
        name=getattr(args, "name", None), model=getattr(args, "model", None),
        task_type=getattr(args, "task_type", None), conversation=getattr(args, "conversation", None),
        since=since, until=until, threshold=args.threshold, good_labels=tuple(args.good_label or GOOD_LABELS),
        group_by=tuple(getattr(args, "group_by", None) or ("model", "task_type")),
    )
    keys = answer["group_by"]
    fields = {"name": "name", "model": "model", "task_type": "task_type", "conversation": "conversation_id"}
    header = ["evaluation" if k == "name" else k for k in keys] + _MEASURES
    data = [[g[fields[k]] or "(none)" for k in keys] + [g[m] for m in _MEASURES] for g in answer["groups"]]

    def table() -> str:
        if not data:
            return f"No evaluations {where}.\n"
        cells = [header] + [[_cell(v) for v in row] for row in data]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        lines = [f"Evaluations {where} (good: score >= {answer['threshold']:g} or label in "
                 f"{', '.join(answer['good_labels'])})"]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
        return "\n".join(lines) + "\n"

    return _Model(answer), table, lambda: (header, data)
