"""docs/conventions.md stays honest: every GenAI name the code spells is in its table, every rename the code
makes is in its renames table, and the table's version and status columns use the documented forms."""

from __future__ import annotations

import re
from pathlib import Path

from otel_ai.genai import names as genai_names
from otel_ai.genai import semconv as sc
from otel_ai.system.renamed import RENAMED

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
GEN_AI_LITERAL = re.compile(r"[\"'](gen_ai\.[a-z0-9_.]+)[\"']")


def _section(title: str) -> str:
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end != -1 else len(DOC)]


def _rows(title: str) -> list[list[str]]:
    """The cells of the section's table rows (the header skipped; the `|---|` rule does not start with `| `)."""
    lines = [line for line in _section(title).splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[1:]]


def _first_code(cell: str) -> str:
    return re.findall(r"`([^`]*)`", cell)[0]


def _names_table() -> dict[str, list[str]]:
    return {_first_code(row[0]): row for row in _rows("Every GenAI name otel-ai emits")}


def _spelled_by_the_code() -> set[str]:
    """`gen_ai.*` names in semconv.py's constants and in every string literal of otel_ai/ (the instrumentations
    of agents, MCP and LangChain keep a few of their own)."""
    names = {value for value in vars(sc).values() if isinstance(value, str) and value.startswith("gen_ai.")}
    for path in (ROOT / "otel_ai").rglob("*.py"):
        names.update(GEN_AI_LITERAL.findall(path.read_text(encoding="utf-8")))
    return names


# Read, never written: the serve store accepts spans of older instrumentations under this name.
READ_ONLY = {"gen_ai.system"}


def test_every_gen_ai_name_of_the_code_is_in_the_table() -> None:
    table = _names_table()
    assert "gen_ai.usage.cache_write.input_tokens" in _spelled_by_the_code()  # the scan sees semconv.py
    missing = sorted(_spelled_by_the_code() - set(table) - READ_ONLY)
    assert missing == [], f"add these to docs/conventions.md, 'Every GenAI name otel-ai emits': {missing}"
    stale = sorted(set(table) - _spelled_by_the_code())
    assert stale == [], f"the code no longer spells these: {stale}"


def test_each_row_says_where_it_comes_from_and_its_status() -> None:
    for name, (_, where, origin, status) in _names_table().items():
        assert re.fullmatch(r"(S|EA|E|M|MA)\b.*", where), name
        released = re.fullmatch(r"1\.\d+\.0", origin) is not None
        foreign = origin.startswith("not a convention: ")  # another tool's name (OpenLIT's gen_ai.usage.cost)
        assert released or origin == "semantic-conventions-genai (after the move)" \
            or origin.startswith("open proposal ") or foreign, (name, origin)
        assert status.split(maxsplit=1)[0].rstrip(":;,") in {"development", "deprecated", "proposal", "foreign"}, \
            (name, status)
        assert status.startswith("foreign") == foreign, name
        assert status.startswith("proposal") == origin.startswith("open proposal "), name


def test_every_proposal_metric_is_a_proposal_row() -> None:
    table = _names_table()
    proposed = {value for key, value in vars(sc).items() if key.startswith("METRIC_")
                and value.startswith("gen_ai.client.inference.")}
    assert len(proposed) == 8
    assert {name: table[name][3] for name in proposed} == dict.fromkeys(proposed, "proposal")


def test_every_rename_the_code_makes_is_in_the_renames_table() -> None:
    rows = _rows("Renames")
    pairs = {(_first_code(row[1]), _first_code(row[2])) for row in rows}
    units = {(_first_code(row[0]), _first_code(row[1]), _first_code(row[2])) for row in rows
             if row[0].startswith("metric unit of ")}
    for current, previous in genai_names.RENAMED_ATTRIBUTES.items():
        assert (previous, current) in pairs
    for contrib, (name, unit, _) in RENAMED.items():
        if contrib != name:
            assert (contrib, name) in pairs
        else:
            assert any(metric == name and new == unit for metric, _, new in units), name
