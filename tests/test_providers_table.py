"""The README's providers table names every provider instrumentor the package registers, and its docs exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import tomllib

from otel_ai.instrumentation.base import ProviderInstrumentor

ROOT = Path(__file__).resolve().parent.parent


def _table_rows() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- providers-table -->", 1)[1].strip().split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()]
    return rows[2:]  # after the header and the rule


def _instrumentors() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    points: dict[str, str] = project["entry-points"]["opentelemetry_instrumentor"]
    # frameworks (LangChain, ...) are not providers: docs/langchain.md, not the providers table
    return {name: target for name, target in points.items() if name not in ("otel_ai_system", "otel_ai_langchain")}


def test_every_provider_instrumentor_has_a_row_naming_its_library() -> None:
    libraries = {row[1] for row in _table_rows()}
    assert _instrumentors(), "no provider entry point found"
    for name, target in _instrumentors().items():
        module, _, attr = target.partition(":")
        instrumentor = getattr(importlib.import_module(module), attr)
        if not issubclass(instrumentor, ProviderInstrumentor):
            continue  # a framework integration (docs/openai-agents.md, docs/mcp.md), not a provider
        for requirement in instrumentor.instruments:
            library = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
            assert any(f"`{library}`" in cell for cell in libraries), (name, library)


def test_every_docs_link_of_the_table_exists() -> None:
    links = [link for row in _table_rows() for link in re.findall(r"\]\((docs/[^)]+)\)", row[3])]
    assert len(links) >= 4, links
    for link in links:
        assert (ROOT / link).is_file(), link
