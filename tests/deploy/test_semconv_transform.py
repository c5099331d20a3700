"""The collector's `transform/semconv` processor: previous -> current names in flight (docs/conventions.md).

No collector runs here. The statements are parsed by a small OTTL grammar (an editor call with its
arguments, optionally `where` and comparisons joined by `and`/`or`; paths of the block's context), and each
rename docs/conventions.md lists must have its statements: a metric renamed by name, a unit set where the
old unit is, an attribute copied to today's name (unless already there) and the old key deleted, on spans
and on log records (the details event repeats the call's attributes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import COLLECTOR_CONFIG, load_yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_yaml(COLLECTOR_CONFIG)
PROCESSOR = CONFIG["processors"]["transform/semconv"]
BLOCKS = {"trace_statements": "span", "log_statements": "log", "metric_statements": "metric"}

# --- a small OTTL parser: enough to reject what the collector would reject for these statements ----------

_TOKEN = re.compile(r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|<|>)
                        |(?P<punct>[()\[\],.])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))""", re.VERBOSE)
EDITORS = {"set": 2, "delete_key": 2}  # the editors these statements may use, with their argument counts
KEYWORDS = {"where", "and", "or", "not", "nil", "true", "false"}


@dataclass(frozen=True)
class Path_:
    parts: tuple[str, ...]  # ("span", "attributes")
    key: str | None  # the map key, without quotes


Value = Path_ | str | float | None  # a path, a string literal, a number, nil


@dataclass(frozen=True)
class Statement:
    editor: str
    args: tuple[Value, ...]
    conditions: tuple[tuple[Value, str, Value], ...]  # comparisons; `and`/`or` between them
    joins: tuple[str, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        assert match is not None and match.end() > position, f"cannot read {text[position:]!r}"
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        assert token is not None and token[0] == kind and (value is None or token[1] == value), (
            f"expected {value or kind} at token {self.at}, got {token}")
        self.at += 1
        return token[1]

    def value(self) -> Value:
        token = self.peek()
        assert token is not None, "a value is missing"
        kind, text = token
        if kind == "string":
            self.at += 1
            return text[1:-1]
        if kind == "number":
            self.at += 1
            return float(text)
        if text == "nil":
            self.at += 1
            return None
        assert kind == "word" and text not in KEYWORDS, f"not a value: {text}"
        parts = [self.take("word")]
        while self.peek() == ("punct", "."):
            self.at += 1
            parts.append(self.take("word"))
        key = None
        if self.peek() == ("punct", "["):
            self.at += 1
            key = self.take("string")[1:-1]
            self.take("punct", "]")
        return Path_(tuple(parts), key)

    def statement(self) -> Statement:
        editor = self.take("word")
        self.take("punct", "(")
        args = [self.value()]
        while self.peek() == ("punct", ","):
            self.at += 1
            args.append(self.value())
        self.take("punct", ")")
        conditions: list[tuple[Value, str, Value]] = []
        joins: list[str] = []
        if self.peek() == ("word", "where"):
            self.at += 1
            while True:
                left = self.value()
                op = self.take("op")
                conditions.append((left, op, self.value()))
                token = self.peek()
                if token is None:
                    break
                assert token in (("word", "and"), ("word", "or")), f"unexpected {token}"
                joins.append(token[1])
                self.at += 1
        assert self.peek() is None, f"left over: {self.tokens[self.at:]}"
        return Statement(editor, tuple(args), tuple(conditions), tuple(joins))


def parse(text: str, context: str) -> Statement:
    statement = _Parser(text).statement()
    assert statement.editor in EDITORS and len(statement.args) == EDITORS[statement.editor], text
    values = list(statement.args) + [v for left, _, right in statement.conditions for v in (left, right)]
    for value in values:
        if isinstance(value, Path_):
            assert value.parts[0] == context, f"{text}: path {value} is not of the {context} context"
    target = statement.args[0]
    assert isinstance(target, Path_), f"{text}: the editor's first argument must be a path"
    if statement.editor == "delete_key":
        assert target.key is None and isinstance(statement.args[1], str), text
    return statement


def statements(block: str) -> list[Statement]:
    context = BLOCKS[block]
    found = []
    for group in PROCESSOR.get(block, []):
        assert group["context"] == context, group
        found.extend(parse(text, context) for text in group["statements"])
    return found


# --- the grammar itself, on statements it must take and refuse --------------------------------------------


@pytest.mark.parametrize("text", [
    'set(metric.name, "a.b") where metric.name == "c.d"',
    'set(span.attributes["x.y"], span.attributes["z"]) where span.attributes["z"] != nil'
    ' and span.attributes["x.y"] == nil',
    'delete_key(span.attributes, "z")',
])
def test_the_grammar_takes_well_formed_statements(text: str) -> None:
    parse(text, text.split("(", 1)[1].split(".", 1)[0])


@pytest.mark.parametrize("text", [
    'set(metric.name, "a.b" where metric.name == "c.d"',  # unclosed call
    'set(metric.name, "a.b") where metric.name = "c.d"',  # `=` is no comparison
    'set(metric.name, "a.b) where metric.name == "c.d"',  # unclosed string
    'rename(metric.name, "a.b")',  # no such editor
    'set(span.name, "a.b")',  # another context's path
    'set(metric.name, "a") where metric.name == "b" and',  # dangling `and`
    'delete_key(metric.name["x"], "y")',
])
def test_the_grammar_refuses_broken_ones(text: str) -> None:
    with pytest.raises(AssertionError):
        parse(text, "metric")


# --- the shipped processor ----------------------------------------------------------------------------------


def test_the_processor_is_in_every_pipeline_before_redaction_and_batch() -> None:
    assert PROCESSOR["error_mode"] == "ignore"  # a statement that fails on one item never drops data
    for name, pipeline in CONFIG["service"]["pipelines"].items():
        processors = pipeline["processors"]
        assert processors.index("transform/semconv") == 1, name  # right after memory_limiter
        if "redaction" in processors:
            assert processors.index("transform/semconv") < processors.index("redaction"), name


def test_every_statement_parses() -> None:
    counts = {block: len(statements(block)) for block in BLOCKS}
    assert counts == {"trace_statements": 6, "log_statements": 6, "metric_statements": 4}


def _renames() -> list[tuple[str, str, str]]:
    """(signal cell, previous, current) of docs/conventions.md's renames table."""
    doc = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Renames\n"):]
    section = section[:section.index("\n## ")]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]  # the header skipped
    found = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        found.append((cells[0], re.findall(r"`([^`]*)`", cells[1])[0], re.findall(r"`([^`]*)`", cells[2])[0]))
    assert len(found) >= 6
    return found


def _literal(value: str) -> str:
    return "" if value == '""' else value


def _attribute_renamed(block: str, previous: str, current: str) -> bool:
    context = BLOCKS[block]
    old, new = Path_((context, "attributes"), previous), Path_((context, "attributes"), current)
    copied = any(s.editor == "set" and s.args == (new, old) and (old, "!=", None) in s.conditions
                 and (new, "==", None) in s.conditions and s.joins == ("and",) for s in statements(block))
    deleted = any(s.editor == "delete_key" and s.args == (Path_((context, "attributes"), None), previous)
                  for s in statements(block))
    return copied and deleted


@pytest.mark.parametrize(("signal", "previous", "current"), _renames())
def test_every_documented_rename_has_its_statements(signal: str, previous: str, current: str) -> None:
    metric = statements("metric_statements")
    name, unit = Path_(("metric", "name"), None), Path_(("metric", "unit"), None)
    if signal.startswith("metric unit of "):
        metric_name = re.findall(r"`([^`]*)`", signal)[0]
        assert any(s.args == (unit, current) and (name, "==", metric_name) in s.conditions
                   and (unit, "==", _literal(previous)) in s.conditions for s in metric), signal
    elif signal.startswith("metric"):
        index = next(i for i, s in enumerate(metric)
                     if s.args == (name, current) and s.conditions == ((name, "==", previous),))
        assert index > 0 and metric[index - 1].conditions == ((name, "==", previous),)  # its unit is set first
    else:
        assert signal.startswith("span attribute"), signal
        for block in ("trace_statements", "log_statements"):
            assert _attribute_renamed(block, previous, current), (block, previous)
