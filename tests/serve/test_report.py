"""`otel-ai report` in a subprocess against a real store filled with the real agent's spans.

The data set is the API tests' (`test_api.build_dataset`): every number printed is checked against
sums over the exported spans, and `--format json` against what the API answers.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
from fastapi.testclient import TestClient

from otel_ai.cli.report import format_usd
from otel_ai.genai.advice import CODE_ACTIONS
from otel_ai.serve.api import create_app
from otel_ai.serve.store import ERROR_ACTIONS, open_store
from tests.serve.test_api import (
    Dataset,
    assert_totals,
    build_dataset_with_default_settings,
    by,
    iso,
    postgres_copy,
    totals,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return build_dataset_with_default_settings(tmp_path_factory.mktemp("serve-report"))


def reports(*calls: tuple[str, ...]) -> list[str]:
    """Several `otel-ai report` runs at once (each exit 0); their outputs, in order."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return [done.stdout for done in pool.map(lambda args: report(*args), calls)]


def report(*args: str, env: dict[str, str] | None = None, expect: int = 0) -> subprocess.CompletedProcess[str]:
    """`otel-ai report ARGS` in a fresh interpreter."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_AI_SERVE_")}
    environment.update({"COLUMNS": "110", **(env or {})})
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from otel_ai.cli import main; sys.exit(main())", "report", *args],
        capture_output=True, text=True, cwd=ROOT, env=environment, timeout=60, check=False,
    )
    assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
    return done


@pytest.fixture(scope="module")
def api(dataset: Dataset) -> Any:
    with open_store(dataset.url) as store, TestClient(create_app(store), base_url="http://127.0.0.1") as client:
        yield client


def column_ends(lines: list[str]) -> set[int]:
    """Where each right-aligned number ends, per line."""
    return {m.end() for line in lines for m in re.finditer(r"\$?[\d,.]+(?= |$)", line)}


# -- tables -------------------------------------------------------------------------------------------------


def test_summary_table(dataset: Dataset) -> None:
    out = report("summary", "--db", str(dataset.db_path)).stdout
    lines = out.splitlines()
    assert lines[0] == "GenAI calls, all time"
    values = {line[:18].strip(): line[18:].strip() for line in lines[2:]}
    expected = totals(dataset.calls)
    assert values["calls"] == f"{expected['calls']:,}"
    assert values["errors"] == f"{expected['errors']:,} ({expected['errors'] / expected['calls'] * 100:.2f}%)"
    assert values["input tokens"] == f"{expected['input_tokens']:,}"
    assert values["output tokens"] == f"{expected['output_tokens']:,}"
    cost = float(values["cost"].lstrip("$").replace(",", ""))
    assert cost == pytest.approx(expected["cost_usd"], rel=5e-3)  # three significant digits at least
    assert re.fullmatch(r"\$0\.\d{5,}", values["cost"])  # sub-cent amounts keep their digits
    assert re.fullmatch(r"[\d.,]+ ms", values["latency p50"])
    assert len({len(line) for line in lines[2:]}) == 1  # values right-aligned in one column


def test_costs_table_per_model_with_totals(dataset: Dataset) -> None:
    out = report("costs", "--db", str(dataset.db_path), "--group-by", "model").stdout
    lines = out.splitlines()
    assert lines[0] == "Cost by model, all time"
    header, rule, *rows = lines[2:]
    assert header.split() == ["model", "calls", "errors", "input", "tokens", "output", "tokens", "characters",
                              "cost", "(USD)"]
    assert set(rule) <= {"-", " "} and rows[-2] == rule
    total, rows = rows[-1], rows[:-2]
    expected = by(dataset.calls, "model")
    seen = {}
    for row in rows:
        model, calls, errors, tokens_in, tokens_out, _characters, cost = row.split()
        seen[model] = (int(calls), int(errors), int(tokens_in), int(tokens_out), cost)
    assert seen == {
        model: (len(calls), sum(c.error for c in calls), sum(c.input_tokens for c in calls),
                sum(c.output_tokens for c in calls), format_usd(math.fsum(c.cost_usd for c in calls)))
        for model, calls in expected.items()
    }
    t = totals(dataset.calls)
    assert total.split() == ["total", str(t["calls"]), str(t["errors"]), str(t["input_tokens"]),
                             str(t["output_tokens"]), "0", format_usd(t["cost_usd"])]
    assert len({len(line) for line in [header, *rows, total]}) == 1  # the last column right-aligned
    assert column_ends([*rows, total]) == column_ends([total])  # every number column aligned


def test_costs_table_per_day_in_a_range(dataset: Dataset) -> None:
    out = report("costs", "--db", str(dataset.db_path), "--group-by", "day", "--since", "2d").stdout
    assert out.startswith("Cost by day, last 2d (since ")
    rows = out.splitlines()[4:-2]
    days = by(dataset.today(), "day")
    assert [row.split()[0] for row in rows] == sorted(days)
    assert sum(int(row.split()[1]) for row in rows) == len(dataset.today())


def test_errors_table_with_codes_and_advice(dataset: Dataset) -> None:
    out = report("errors", "--db", str(dataset.db_path)).stdout
    failed = [c for c in dataset.calls if c.error]
    lines = out.splitlines()
    assert lines[0] == (f"Errors, all time: {len(failed)} of {len(dataset.calls)} calls failed "
                        f"({len(failed) / len(dataset.calls) * 100:.2f}%)")
    counts = Counter(c.category for c in failed)
    listed = {line.split()[0]: int(line.split()[1]) for line in lines[4:] if line[:1].strip()}
    assert listed == dict(counts)
    text = " ".join(" ".join(line.split()) for line in lines)
    for category in counts:
        assert " ".join(ERROR_ACTIONS[category].split()) in text  # wrapped, but whole
    codes = Counter((c.category, c.error_code) for c in failed)
    rows = {line.split()[0]: line for line in lines[4:] if line[:1].strip()}
    for (category, code), count in codes.items():  # the codes column: "insufficient_quota 2"
        assert f"{code or '-'} {count:,}" in rows[category]
        if code in CODE_ACTIONS:  # and the code's own advice, after its category's
            assert f"{code}: " + " ".join(CODE_ACTIONS[code].split()) in text
    assert {"insufficient_quota", "invalid_api_key", "rate_limit_exceeded"} <= {code for _, code in codes}
    assert max(len(line) for line in lines) <= 110


def test_forecast_table(dataset: Dataset) -> None:
    out = report("forecast", "--db", str(dataset.db_path)).stdout
    assert out.startswith("Cost forecast for ")
    assert re.search(r"^method\s+(month-to-date run rate|linear trend of the last \d+ days)$", out, re.M)
    assert re.search(r"^forecast month end\s+\$\d", out, re.M)


# -- json and csv -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "path", "params"),
    [
        (["summary"], "summary", {}),
        (["costs", "--group-by", "provider"], "costs", {"group_by": "provider"}),
        (["costs", "--group-by", "day", "--service", "chatbot"], "costs", {"group_by": "day", "service": "chatbot"}),
        (["errors", "--model", "gpt-4o"], "errors", {"model": "gpt-4o"}),
    ],
)
def test_json_is_what_the_api_answers(
    api: TestClient, dataset: Dataset, args: list[str], path: str, params: dict[str, str],
) -> None:
    printed = json.loads(report(*args, "--db", str(dataset.db_path), "--format", "json").stdout)
    answered = api.get(f"/api/v1/{path}", params=params).json()
    if path == "summary":  # cost_today/this_month are "now"-relative; the same unless midnight passed
        assert printed.pop("cost_today") == pytest.approx(answered.pop("cost_today"))
    assert printed == answered


def test_json_with_since_as_an_iso_time(api: TestClient, dataset: Dataset) -> None:
    since = iso(dataset.between)
    printed = json.loads(report("costs", "--db", dataset.url, "--since", since, "--format", "json").stdout)
    assert printed == api.get("/api/v1/costs", params={"since": since}).json()
    assert_totals(printed["total"], dataset.select(service="search"))


def test_forecast_json(api: TestClient, dataset: Dataset) -> None:
    printed = json.loads(report("forecast", "--db", str(dataset.db_path), "--format", "json").stdout)
    answered = api.get("/api/v1/forecast").json()
    assert printed["method"] == answered["method"]
    assert printed["daily"] == answered["daily"]
    assert printed["month_to_date"] == pytest.approx(
        math.fsum(c.cost_usd for c in dataset.calls if c.day.startswith(printed["month"])))


def test_csv(dataset: Dataset) -> None:
    db = str(dataset.db_path)
    costs, errors, summary, forecast = reports(
        ("costs", "--db", db, "--group-by", "service", "--format", "csv"),
        ("errors", "--db", db, "--since", "2d", "--format", "csv"),
        ("summary", "--db", db, "--format", "csv"),
        ("forecast", "--db", db, "--format", "csv"),
    )
    rows = list(csv.DictReader(io.StringIO(costs)))
    assert list(rows[0]) == ["service", "calls", "errors", "input_tokens", "output_tokens", "characters", "cost_usd"]
    expected = by(dataset.calls, "service")
    assert {r["service"]: int(r["calls"]) for r in rows} == {k: len(v) for k, v in expected.items()}
    for row in rows:
        assert float(row["cost_usd"]) == pytest.approx(math.fsum(c.cost_usd for c in expected[row["service"]]))

    rows = list(csv.DictReader(io.StringIO(errors)))
    assert {r["category"]: int(r["count"]) for r in rows} == dict(Counter(c.category for c in dataset.today()
                                                                          if c.error))
    assert all(r["action"] == ERROR_ACTIONS[r["category"]] for r in rows)
    today = Counter((c.category, c.error_code) for c in dataset.today() if c.error)
    assert {(r["category"], r["code"]): int(r["code_count"]) for r in rows} == dict(today)
    assert all(r["code_action"] == CODE_ACTIONS.get(r["code"], "") for r in rows)

    [row] = list(csv.DictReader(io.StringIO(summary)))
    assert int(row["calls"]) == len(dataset.calls)
    assert float(row["cost_usd"]) == pytest.approx(totals(dataset.calls)["cost_usd"])

    rows = list(csv.DictReader(io.StringIO(forecast)))
    assert {r["kind"] for r in rows} <= {"actual", "projected"}
    assert sum(int(r["calls"]) for r in rows if r["kind"] == "actual") == len(
        [c for c in dataset.calls if c.day.startswith(rows[0]["day"][:7])])


# -- which store --------------------------------------------------------------------------------------------


def test_the_default_store_is_serves(dataset: Dataset, tmp_path: Path) -> None:
    done = report("summary", "--format", "json", env={"OTEL_AI_SERVE_DB": str(dataset.db_path)})
    assert json.loads(done.stdout)["calls"] == len(dataset.calls)
    done = report("summary", env={"XDG_DATA_HOME": str(tmp_path)})
    missing = tmp_path / "otel-ai" / "otel-ai.db"
    assert done.stdout == f"No store at {missing} yet: nothing recorded (start `otel-ai serve`, or pass --db)\n"
    assert not missing.exists()  # a report creates nothing


def test_a_missing_store_says_so(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.db"
    done = report("costs", "--db", str(path), "--format", "json")
    assert json.loads(done.stdout)["groups"] == []
    assert f"no store at {path} yet" in done.stderr
    assert not path.exists()


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    path = str(tmp_path / "empty.db")
    open_store(path).close()
    summary, costs, errors, forecast, as_json, as_csv = reports(
        ("summary", "--db", path, "--since", "7d"), ("costs", "--db", path), ("errors", "--db", path),
        ("forecast", "--db", path), ("summary", "--db", path, "--format", "json"),
        ("errors", "--db", path, "--format", "csv"),
    )
    for out in (summary, costs, errors):
        assert out.startswith("No GenAI calls recorded in this range.\n"), out
    assert forecast.startswith("No GenAI calls recorded this month.\n")
    assert json.loads(as_json)["calls"] == 0
    assert as_csv == "category,count,share,rate,action,code,code_count,code_action\n"


def test_an_unreadable_store_is_exit_2_with_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    done = report("summary", "--db", str(garbage), expect=2)
    assert done.stdout == ""
    assert done.stderr == f"otel-ai report: cannot read the store at {garbage}: file is not a database\n"

    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text)")
    connection.close()
    done = report("costs", "--db", str(other), expect=2)
    assert "not an otel-ai store" in done.stderr and len(done.stderr.splitlines()) == 1
    with sqlite3.connect(other) as connection:  # untouched
        assert [r[0] for r in connection.execute("SELECT name FROM sqlite_master")] == ["notes"]
    connection.close()

    done = report("summary", "--db", "postgresql://otel:s3cret@127.0.0.1:1/otel", expect=2)
    assert done.stderr.startswith("otel-ai report: cannot read the store at postgresql://otel:***@127.0.0.1:1/otel: ")
    assert "s3cret" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_bad_options_are_exit_2(dataset: Dataset) -> None:
    done = report("summary", "--db", str(dataset.db_path), "--since", "last tuesday", expect=2)
    assert done.stderr.startswith("otel-ai report: --since: 'last tuesday' is neither an ISO-8601 time")
    done = report("costs", "--db", str(dataset.db_path), "--since", "1d", "--until", "2d", expect=2)
    assert "must be before until" in done.stderr
    report("costs", "--db", str(dataset.db_path), "--group-by", "colour", expect=2)
    report("summary", "--db", "mysql://localhost/x", expect=2)
    report("forecast", "--db", str(dataset.db_path), "--since", "7d", expect=2)


# -- number formats -----------------------------------------------------------------------------------------


def test_usd_formats() -> None:
    assert format_usd(0.00000285) == "$0.00000285"
    assert format_usd(0.0123) == "$0.0123"
    assert format_usd(0.000550000) == "$0.00055" and format_usd(0.00006825) == "$0.00006825"  # one rule
    assert format_usd(12.5) == "$12.50"
    assert format_usd(1234.5) == "$1,234.50"
    assert format_usd(0.0) == "$0.00"
    assert format_usd(None) == "-"


def test_a_postgresql_store(request: pytest.FixtureRequest, api: TestClient, dataset: Dataset) -> None:
    with postgres_copy(request, dataset) as url:
        printed = json.loads(report("costs", "--db", url, "--format", "json").stdout)
        assert printed == api.get("/api/v1/costs").json() | {"total": printed["total"], "groups": printed["groups"]}
        assert_totals(printed["total"], dataset.calls)
        for group in printed["groups"]:
            assert_totals(group, by(dataset.calls, "model")[group["key"]])
        table = report("errors", "--db", url).stdout
        assert table.startswith(f"Errors, all time: {sum(c.error for c in dataset.calls)} of ")
