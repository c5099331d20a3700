"""Offline token counts for `OTEL_AI_STREAM_USAGE=estimate`: tiktoken, with encodings that need no network.

tiktoken downloads its BPE files on first use; an agent must not (and often cannot). The files come
from a PyPI package instead: `bpe-openai` ships `o200k_base` and `cl100k_base` byte for byte
(gzipped), which `pip install otel-ai[estimate]` installs with tiktoken. Each file is checked
against the SHA-256 that tiktoken itself expects for that encoding before it is used, and the
encoding is built by tiktoken's own constructor (its split pattern and special tokens), so the
counts are tiktoken's. The package is located without importing it (its native library is not
loaded). Nothing is registered in tiktoken: the app's own `tiktoken.get_encoding` is unchanged.

Models tiktoken does not map to one of these two encodings get no estimate. Nothing here raises.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import threading
import types
from pathlib import Path
from typing import Any

from otel_ai import agent_warnings
from otel_ai.guard import report
from otel_ai.instrumentation.openai.content import get

__all__ = ["available", "count_input", "count_output", "encoding_for", "warm"]

ENCODINGS = ("o200k_base", "cl100k_base")
PACKAGE = "bpe_openai"  # ships the encodings as data/<name>.tiktoken.gz
# Chat format overhead (OpenAI's published counting recipe for the gpt-4 and gpt-4o families): each
# message costs 3 tokens around its fields, a `name` one more, and the reply is primed with 3.
PER_MESSAGE, PER_NAME, REPLY_PRIMING = 3, 1, 3

_lock = threading.Lock()  # the bookkeeping below, held for no time
_build_lock = threading.Lock()
_MISSING = object()
_loaded: dict[str, Any] = {}  # encoding name -> tiktoken.Encoding, or None when it could not be built
_warming: set[str] = set()


def _data_folder() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)  # a top-level package: found, not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _ranks_from_package(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
    """Stands in for tiktoken's `load_tiktoken_bpe(url, expected_hash)`: the same file, from the package."""
    folder = _data_folder()
    if folder is None:
        raise FileNotFoundError(f"the {PACKAGE} package is not installed (pip install 'otel-ai[estimate]')")
    data = gzip.decompress((folder / (url.rsplit("/", 1)[-1] + ".gz")).read_bytes())
    if expected_hash is None or hashlib.sha256(data).hexdigest() != expected_hash:
        raise ValueError(f"{url.rsplit('/', 1)[-1]} in {PACKAGE} is not the file tiktoken expects")
    return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}


def _build(name: str) -> Any:
    import tiktoken
    from tiktoken_ext import openai_public  # type: ignore[import-untyped]

    constructor = getattr(openai_public, name)
    # tiktoken's own constructor, with its file loader pointed at the package (a copy: tiktoken's
    # module is left as it is, for the app).
    offline = types.FunctionType(
        constructor.__code__, {**constructor.__globals__, "load_tiktoken_bpe": _ranks_from_package}, name,
        constructor.__defaults__, constructor.__closure__,
    )
    return tiktoken.Encoding(**offline())


def _encoding(name: str) -> Any:
    encoding = _loaded.get(name, _MISSING)
    if encoding is not _MISSING:
        return encoding
    with _build_lock:  # about a second, once per encoding; `warm` never waits for it
        if name in _loaded:
            return _loaded[name]
        try:
            encoding = _build(name)
        except Exception as exc:
            encoding = None
            agent_warnings.warn(
                "stream_usage.estimate_unavailable", name,
                f"OTEL_AI_STREAM_USAGE=estimate: no offline {name} encoding ({type(exc).__name__}: {exc}); "
                "streams without usage get no estimate. Install otel-ai[estimate].",
            )
        _loaded[name] = encoding
        return encoding


def encoding_for(model: str | None) -> str | None:
    """The encoding tiktoken uses for `model`, if it is one shipped offline; None otherwise."""
    if not model:
        return None
    try:
        from tiktoken.model import encoding_name_for_model
    except ImportError:
        agent_warnings.warn(
            "stream_usage.estimate_unavailable", "tiktoken",
            "OTEL_AI_STREAM_USAGE=estimate: tiktoken is not installed; streams without usage get no estimate. "
            "Install otel-ai[estimate].",
        )
        return None
    try:
        name = encoding_name_for_model(model)
    except KeyError:
        return None
    return name if name in ENCODINGS else None


def available() -> str:
    """What `otel-ai check` says about the estimate: which of its two parts are installed."""
    missing = [pkg for pkg, module in (("tiktoken", "tiktoken"), ("bpe-openai", PACKAGE))
               if importlib.util.find_spec(module) is None]
    return "ready (tiktoken, encodings from bpe-openai)" if not missing else (
        f"unavailable: {', '.join(missing)} not installed (pip install 'otel-ai[estimate]')")


def warm(name: str) -> None:
    """Build `name` on a daemon thread (about a second, once), so the first estimate does not wait long."""
    with _lock:
        if name in _loaded or name in _warming:
            return
        _warming.add(name)
    threading.Thread(target=_encoding, args=(name,), name="otel-ai-tiktoken", daemon=True).start()


def _text(encoding: Any, value: Any) -> int:
    return len(encoding.encode_ordinary(value)) if isinstance(value, str) and value else 0


def _content(encoding: Any, content: Any) -> int | None:
    """Tokens of a message's content: a string or text parts; None when it holds anything else."""
    if content is None or isinstance(content, str):
        return _text(encoding, content)
    if not isinstance(content, (list, tuple)):
        return None
    total = 0
    for part in content:
        kind = get(part, "type")
        text = get(part, "text") if kind in ("text", "input_text") else None
        if kind == "refusal":
            text = get(part, "refusal")
        if not isinstance(text, str):
            return None  # an image, audio or file: its tokens cannot be counted from here
        total += _text(encoding, text)
    return total


def count_input(name: str, messages: Any, tools: Any) -> int | None:
    """Prompt tokens of a Chat Completions request by OpenAI's counting recipe; None if it cannot be counted.

    Tool definitions are counted as the tokens of their JSON (the server's own rendering of them is
    not published): close, not exact.
    """
    encoding = _encoding(name)
    if encoding is None or not isinstance(messages, (list, tuple)):
        return None
    total = REPLY_PRIMING
    for message in messages:
        total += PER_MESSAGE + _text(encoding, get(message, "role"))
        counted = _content(encoding, get(message, "content"))
        if counted is None:
            return None
        total += counted
        name_ = get(message, "name")
        if isinstance(name_, str):
            total += PER_NAME + _text(encoding, name_)
        total += _text(encoding, get(message, "tool_call_id"))
        for call in get(message, "tool_calls") or ():
            function = get(call, "function")
            total += _text(encoding, get(function, "name")) + _text(encoding, get(function, "arguments"))
    if isinstance(tools, (list, tuple)) and tools:
        try:
            total += _text(encoding, json.dumps([_plain(tool) for tool in tools], separators=(",", ":")))
        except (TypeError, ValueError):
            return None
    return total


def _plain(tool: Any) -> Any:
    dump = getattr(tool, "model_dump", None)
    return dump() if callable(dump) else tool


def count_output(name: str, texts: list[str]) -> int | None:
    """Completion tokens of what the stream delivered (its text, refusals, tool names and arguments)."""
    encoding = _encoding(name)
    if encoding is None:
        return None
    try:
        return sum(_text(encoding, text) for text in texts)
    except Exception as exc:
        report("openai.estimate", exc)
        return None
