"""The code blocks of README.md and docs/*.md, and the `docs-check` marker in front of each.

tests/test_docs_snippets.py runs the blocks marked runnable and fails on any block without a marker,
so a documented command cannot rot unnoticed. A marker is an HTML comment (invisible on GitHub) on the
last non-blank line before the block (CONTRIBUTING.md, "Docs that run"):

    <!-- docs-check: run -->                     shell (or Python: ```python) run as written
    <!-- docs-check: run timeout=120 -->         with its own limit in seconds (default 60)
    <!-- docs-check: run expect="^calls +1$" --> and its output (stdout and stderr) must match each regex
    <!-- docs-check: skip (why it cannot run) --> never run; the reason is required

Blocks are fenced (``` or ~~~, any indentation) or indented by four spaces after a blank line
outside a list (CommonMark's indented code blocks). `python -m tests.support.docs_blocks` lists them.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^\s*<!--\s*docs-check:\s*(?P<body>.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s+\S")
SHELL = frozenset({"", "sh", "bash", "shell", "console"})
PYTHON = frozenset({"python", "py", "python3"})
DATA = frozenset({"json", "yaml", "yml"})
DEFAULT_TIMEOUT_S = 60.0


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the block's first line (the fence, or the first indented line)
    info: str  # the fence's language ("" for none or an indented block)
    text: str  # the code, indentation removed
    marker: str | None  # the marker's body ("run ...", "skip (...)"), None when unmarked
    marker_line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def language(self) -> str:
        lang = self.info.split()[0].lower() if self.info.split() else ""
        if lang in PYTHON:
            return "python"
        if lang in DATA:
            return "yaml" if lang in ("yaml", "yml") else "json"
        return "shell" if lang in SHELL else lang

    @property
    def action(self) -> str | None:
        """"run", "skip", or None (unmarked or not understood)."""
        if self.marker is None:
            return None
        word = self.marker.split(None, 1)[0] if self.marker.split() else ""
        return word if word in ("run", "skip") else None

    @property
    def skip_reason(self) -> str:
        found = re.fullmatch(r"skip\s*\((?P<why>.+)\)", self.marker or "", re.DOTALL)
        return found.group("why").strip() if found else ""

    @property
    def timeout_s(self) -> float:
        found = re.search(r"\btimeout=(\d+(?:\.\d+)?)", self.marker or "")
        return float(found.group(1)) if found else DEFAULT_TIMEOUT_S

    @property
    def expect(self) -> list[str]:
        """The `expect="REGEX"` options: each must be found (re.MULTILINE) in what the block printed."""
        return re.findall(r'\bexpect="((?:[^"\\]|\\.)*)"', self.marker or "")

    @property
    def options(self) -> list[str]:
        """The marker's bare words after "run" (serve, serving, venv)."""
        bare = re.sub(r'\b\w+="(?:[^"\\]|\\.)*"|\b\w+=\S+', " ", self.marker or "")
        return bare.split()[1:]

    def problem(self) -> str | None:
        """Why this block's marking is not acceptable (None when it is)."""
        if self.marker is None:
            return "no docs-check marker"
        if self.action is None:
            return f"marker not understood: {self.marker!r}"
        if self.action == "skip" and not self.skip_reason:
            return "skip without a reason: <!-- docs-check: skip (why) -->"
        if self.action == "run" and self.language not in ("shell", "python", "json", "yaml"):
            return f"cannot run a {self.language!r} block"
        unknown = set(self.options) - {"serve", "serving", "venv"} if self.action == "run" else set()
        if unknown:
            return f"unknown run option(s) {sorted(unknown)}: serve, serving, venv, timeout=S, expect=\"REGEX\""
        return None


@dataclass
class Document:
    path: Path
    blocks: list[Block] = field(default_factory=list)
    dangling: list[int] = field(default_factory=list)  # markers with no block after them


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def parse(path: Path) -> Document:
    lines = path.read_text(encoding="utf-8").splitlines()
    doc = Document(path)
    pending: tuple[str, int] | None = None  # the last marker, until the next non-blank line
    in_list = False
    previous_blank = True
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            indent, mark, info = len(fence["indent"]), fence["fence"], fence["info"].strip()
            body: list[str] = []
            j = i + 1
            while j < len(lines):
                close = _FENCE.match(lines[j])
                if close and close["fence"][0] == mark[0] and len(close["fence"]) >= len(mark) \
                        and not close["info"].strip():
                    break
                body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j].lstrip())
                j += 1
            doc.blocks.append(_block(path, i + 1, info, "\n".join(body), pending))
            pending, previous_blank = None, False
            i = j + 1
            continue
        if line.startswith("    ") and line.strip() and previous_blank and not in_list:
            j = i
            body = []
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                body.append(lines[j][4:])
                j += 1
            while body and not body[-1].strip():
                body.pop()
            doc.blocks.append(_block(path, i + 1, "", "\n".join(body), pending))
            pending, previous_blank = None, False
            i = i + len(body)
            continue
        marker = MARKER.match(line)
        if marker:
            if pending is not None:
                doc.dangling.append(pending[1])
            pending = (marker["body"], i + 1)
        elif line.strip():
            if pending is not None:
                doc.dangling.append(pending[1])
                pending = None
            if _LIST_ITEM.match(line):
                in_list = True
            elif not line.startswith(" "):
                in_list = False
        previous_blank = not line.strip()
        i += 1
    if pending is not None:
        doc.dangling.append(pending[1])
    return doc


def _block(path: Path, line: int, info: str, text: str, pending: tuple[str, int] | None) -> Block:
    return Block(path, line, info, text + "\n", pending[0] if pending else None, pending[1] if pending else None)


def all_blocks() -> list[Block]:
    return [block for path in documents() for block in parse(path).blocks]


def main() -> int:
    blocks = all_blocks()
    for block in blocks:
        first = block.text.strip().splitlines()[0] if block.text.strip() else ""
        state = block.problem() or (f"skip: {block.skip_reason}" if block.action == "skip" else block.marker)
        print(f"{block.where:<28} {block.language:<7} {state}\n    {first[:100]}")
    runs = sum(1 for b in blocks if b.action == "run")
    skips = sum(1 for b in blocks if b.action == "skip")
    print(f"\n{len(blocks)} blocks: {runs} run, {skips} skipped, {len(blocks) - runs - skips} unmarked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
