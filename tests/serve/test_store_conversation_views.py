"""The store's per-value views on SQLite and PostgreSQL: conversations and users sorted by each column, a `"*"`
budget's top spenders, each against a brute-force sum of the same calls; and the evaluation row parser
(`evaluation_rows.py`) under `hypothesis`."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_ai.serve.store import Store
from otel_ai.serve.store.budgets import top_spenders
from otel_ai.serve.store.evaluation_rows import evaluation_row
from tests.serve.test_store import _kvs, call, synthetic_request

SINCE = datetime(2026, 1, 1, tzinfo=timezone.utc)
BASE = int(datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp()) * 10**9


def _calls(count: int, seed: int = 3) -> list[dict[str, Any]]:
    """Calls of 5 users in 12 conversations, some with neither, some failed, some unpriced."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        item = call(start=BASE + i * 10**9, duration_ms=rng.uniform(5, 900),
                    cost=rng.choice([None, round(rng.random() / 100, 6)]), input_tokens=rng.randrange(0, 500),
                    output_tokens=rng.randrange(0, 200), provider=rng.choice(["openai", "anthropic"]),
                    category=rng.choice([None, None, None, "rate_limit"]))
        user = rng.choice(["", "u1", "u2", "u3", "u4", "u5"])
        conversation = rng.choice(["", *(f"c{n:02d}" for n in range(12))])
        item["span"].attributes.extend(_kvs({"user.id": user or None, "gen_ai.conversation.id": conversation or None}))
        item["who"] = {"user": user, "conversation": conversation}
        items.append(item)
    return items


def _brute(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for item in items:
        value = item["who"][key]
        if not value:
            continue
        span = item["span"]
        attrs = {kv.key: kv.value for kv in span.attributes}
        row = out[value]
        row["calls"] += 1
        row["cost"] += attrs["otel_ai.cost.usd"].double_value if "otel_ai.cost.usd" in attrs else 0.0
        row["errors"] += span.status.code == span.status.STATUS_CODE_ERROR
        row["tokens"] += attrs["gen_ai.usage.input_tokens"].int_value + attrs["gen_ai.usage.output_tokens"].int_value
        row["duration"] += span.end_time_unix_nano - span.start_time_unix_nano
        row["last"] = max(row["last"], span.end_time_unix_nano)
    return out


def _measure(row: dict[str, float], sort: str) -> float:
    return {"cost": row["cost"], "calls": row["calls"], "errors": row["errors"], "tokens": row["tokens"],
            "latency": row["duration"] / row["calls"], "recent": row["last"]}[sort]


@pytest.mark.parametrize("sort", ["recent", "cost", "calls", "errors", "tokens", "latency"])
def test_conversations_and_users_sort_by_each_column(store: Store, sort: str) -> None:
    items = _calls(300)
    store.ingest_traces(synthetic_request(items))
    for key, listing in (("conversation", store.conversations), ("user", store.users)):
        brute = _brute(items, key)
        id_field = "conversation_id" if key == "conversation" else "user"
        pages = [listing(sort=sort, limit=5, offset=o)["items"] for o in range(0, 15, 5)]
        got = [item[id_field] for page in pages for item in page]
        assert sorted(got) == sorted(brute)
        measures = [_measure(brute[v], sort) for v in got]
        for before, after in itertools.pairwise(measures):  # highest first (ties: by id)
            assert before >= after or math.isclose(before, after, rel_tol=1e-9)
        first = next(item for page in pages for item in page)
        assert first["cost_usd"] == pytest.approx(brute[first[id_field]]["cost"])
    with pytest.raises(ValueError, match="unknown sort"):
        store.conversations(sort="nope")


def test_top_spenders_per_user_and_per_conversation(store: Store) -> None:
    items = _calls(400, seed=11)
    store.ingest_traces(synthetic_request(items))
    for key in ("user", "conversation"):
        brute = _brute(items, key)
        ranked = sorted(brute, key=lambda v: (-brute[v]["cost"], v))
        limit = brute[ranked[2]]["cost"] * (1 - 1e-9)  # the first three are over it (sums in another order)
        found = top_spenders(store, SINCE, scope={key: "*"}, limit=4, at_least=limit)
        assert [item["values"] for item in found["items"]] == [{key: v} for v in ranked[:4]]
        assert [item["spent_usd"] for item in found["items"]] == pytest.approx([brute[v]["cost"] for v in ranked[:4]])
        assert [item["calls"] for item in found["items"]] == [brute[v]["calls"] for v in ranked[:4]]
        assert found["values"] == len(brute)
        assert found["at_least"] == sum(b["cost"] >= limit for b in brute.values()) >= 3
    # another key narrows the calls; both "*": each (user, conversation) pair
    narrowed = top_spenders(store, SINCE, scope={"user": "*", "provider": "anthropic"}, limit=100)
    anthropic = [i for i in items if any(kv.key == "gen_ai.provider.name" and kv.value.string_value == "anthropic"
                                         for kv in i["span"].attributes)]
    assert {v["values"]["user"]: v["calls"] for v in narrowed["items"]} == {
        u: int(r["calls"]) for u, r in _brute(anthropic, "user").items()}
    pairs = top_spenders(store, SINCE, scope={"user": "*", "conversation": "*"}, limit=1000)
    expected = {(i["who"]["user"], i["who"]["conversation"]) for i in items
                if i["who"]["user"] and i["who"]["conversation"]}
    assert {(v["values"]["user"], v["values"]["conversation"]) for v in pairs["items"]} == expected
    with pytest.raises(ValueError, match="'\\*'"):
        top_spenders(store, SINCE, scope={"user": "u1"})
    assert top_spenders(store, datetime(2030, 1, 1, tzinfo=timezone.utc), scope={"user": "*"}) == {
        "items": [], "values": 0, "at_least": None}


# -- the evaluation row parser ------------------------------------------------------------------------------------

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=300), st.lists(st.integers(), max_size=3))
_KEYS = st.sampled_from(["gen_ai.evaluation.name", "gen_ai.evaluation.score.value", "gen_ai.evaluation.score.label",
                         "gen_ai.evaluation.explanation", "gen_ai.response.id", "gen_ai.conversation.id", "other"])
_IDS = st.one_of(st.none(), st.text("0123456789abcdef", min_size=16, max_size=16))


@settings(max_examples=400, deadline=None)
@given(attributes=st.dictionaries(_KEYS, _VALUES, max_size=7), trace_id=_IDS, span_id=_IDS,
       time_ns=st.integers(0, 2**63 - 1), unique=st.text(max_size=20))
def test_the_evaluation_row_of_any_attributes(attributes: dict[str, Any], trace_id: str | None,
                                              span_id: str | None, time_ns: int, unique: str) -> None:
    row = evaluation_row(attributes, time_ns=time_ns, trace_id=trace_id, span_id=span_id, service=None,
                         source="log", unique=unique)
    name = attributes.get("gen_ai.evaluation.name")
    if not isinstance(name, str) or not name:
        assert row is None
        return
    assert row is not None
    assert row["name"] == name[:256] and len(row["evaluation_id"]) == 32
    score = row["score"]
    assert score is None or (isinstance(score, float) and math.isfinite(score))
    assert row["label"] is None or (isinstance(row["label"], str) and 0 < len(row["label"]) <= 256)
    assert (row["trace_id"] is None) == (row["span_id"] is None) == (not (trace_id and span_id))
    # the same result as a span event, another time, another record: the same identity when tied to a span
    # or a response id; a record tied to neither is its own
    other = evaluation_row(attributes, time_ns=0, trace_id=trace_id, span_id=span_id, service="x",
                           source="span_event", unique=unique + "'")
    assert other is not None
    response_id = attributes.get("gen_ai.response.id")
    tied = bool(trace_id and span_id) or (isinstance(response_id, str) and bool(response_id))
    assert (other["evaluation_id"] == row["evaluation_id"]) == tied


def test_a_conversation_id_with_slashes_and_spaces_has_its_page(store: Store) -> None:
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from otel_ai.serve.api import create_app

    odd = "team/7 ü?x=1#y"
    item = call(start=BASE)
    item["span"].attributes.extend(_kvs({"gen_ai.conversation.id": odd}))
    store.ingest_traces(synthetic_request([item]))
    with TestClient(create_app(store, budgets=([], [], None)), base_url="http://127.0.0.1") as http:
        answer = http.get("/api/v1/conversations/" + quote(odd, safe=""))
        assert answer.status_code == 200 and answer.json()["conversation_id"] == odd
        assert http.get("/conversations/" + quote(odd, safe="")).headers["content-type"].startswith("text/html")
        assert http.get("/api/v1/conversations/" + quote("team/other", safe="")).status_code == 404
