"""The package layout of docs/design.md, kept: layers import only downwards, no import cycle, small modules.

Imports are read from the source (an AST walk), so a lazy import inside a function counts as much as
one at the top: a cycle hidden in a function body is still a cycle in the design. Imports under
`if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "otel_ai"

# Top to bottom; a package may import its own modules, its layer's other members and any layer below,
# never one above (the cycle tests keep members of one layer from importing each other both ways).
LAYERS: list[set[str]] = [
    {"otel_ai"},  # the public surface (__init__.py)
    {"cli"},
    {"serve"},
    {"instrumentation"},
    {"runtime"},
    {"work"},
    {"budgets"},
    {"notify"},
    {"genai"},
    {"system"},
    {"pricing", "privacy"},
    {"errors", "guard", "agent_warnings", "money", "_net", "version", "variables", "conventions"},
]
# The simulators are test support: they may use the bottom layer only, and nothing imports them.
TESTING = "testing"
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def _known(name: str) -> str | None:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES else None


def imports_of(module: str) -> Iterator[str]:
    """The `otel_ai` modules that `module` imports (a `from package import module` names the module)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            target = _known(name) if name.startswith("otel_ai") else None
            if target is not None and target != module:
                yield target


GRAPH = {module: set(imports_of(module)) for module in MODULES}


def part(module: str) -> str:
    """The package (or bottom-level module) a module belongs to: `otel_ai.serve.store.x` -> `serve`."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "otel_ai"


def layer(name: str) -> int:
    for index, members in enumerate(LAYERS):
        if name in members:
            return index
    raise AssertionError(f"otel_ai.{name} is in no layer of tests/test_architecture.py (and docs/design.md)")


def test_every_package_has_a_layer() -> None:
    for module in MODULES:
        if part(module) != TESTING:
            layer(part(module))


def test_layers_import_only_downwards() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        source = part(module)
        for target in targets:
            goal = part(target)
            if goal == source:
                continue
            if source == TESTING:
                ok = layer(goal) == len(LAYERS) - 1
            elif goal == TESTING:
                ok = False
            else:
                ok = layer(goal) >= layer(source)
            if not ok:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(GRAPH) == []


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        packages.setdefault(part(module), set()).update(part(t) for t in targets if part(t) != part(module))
    assert _cycles(packages) == []


def test_the_cycle_finder_finds_cycles() -> None:
    # The checks above pass on an empty answer: make sure the finder can say anything else.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_walk_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    # runtime.settings imports the budgets' parser at the top; cli.serve imports runtime.state in a function.
    assert "otel_ai.runtime.state" in GRAPH["otel_ai.cli.serve"]
    assert "otel_ai.genai.hooks" in GRAPH["otel_ai.budgets"] or any(
        "otel_ai.genai.hooks" in GRAPH[m] for m in GRAPH if m.startswith("otel_ai.budgets.")
    )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if part(m) != TESTING))
def test_no_module_over_the_line_limit(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT.parent)} has {lines} lines (limit {MAX_LINES})"
