"""The docs check: every code block of README.md and docs/*.md is run, or skipped with a written reason.

A block is marked by the HTML comment before it (tests/support/docs_blocks.py; CONTRIBUTING.md, "Docs
that run"). Blocks marked `run` run as written, in a copy of the repository (so what they write stays
there), against what they need on this machine:

* the OpenAI-compatible and ElevenLabs simulators (`OPENAI_BASE_URL`, `OPENAI_API_KEY`,
  `ELEVENLABS_BASE_URL`, `ELEVENLABS_API_KEY` point at them), and an `app.py` that makes one chat call;
* free ports instead of the documented defaults, so the check never meets another server:
  `otel-ai serve` gets them from `OTEL_AI_SERVE_PORT` / `_OTLP_HTTP_PORT` / `_OTLP_GRPC_PORT`, the agent
  from `OTEL_EXPORTER_OTLP_ENDPOINT`, and a documented 8200, 4318, 4317, 8301 or 8302 in the block's
  text is replaced by its free port;
* a command started in the background (`... &`) is waited for (its ports accept connections) before
  the next line, and stopped when the block ends;
* `run serve`: an `otel-ai serve` is started for the block; `run serving`: the block is a server that
  must come up (its API answers), then gets SIGINT; `run venv`: a fresh virtual env (it sees this
  environment's packages, so nothing is downloaded but the build backend) whose `pip install .`
  installs this checkout;
* JSON and YAML blocks marked `run` must parse; `expect="REGEX"` options must match the output;
* `OTEL_PYTHON_DISTRO` / `OTEL_PYTHON_CONFIGURATOR` are `otel_ai`: the test environment also has
  opentelemetry-distro installed (README, "With opentelemetry-distro also installed").

Shell blocks run under `bash -e -o pipefail`: any failing command fails the block.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from otel_ai.testing.elevenlabs_simulator import ElevenLabsSimulator
from otel_ai.testing.simulator import OpenAISimulator
from tests.support.docs_blocks import ROOT, Block, all_blocks, documents, parse

BLOCKS = all_blocks()
RUN = [block for block in BLOCKS if block.action == "run"]
DOCUMENTED_PORTS = (8200, 4318, 4317, 8301, 8302)

APP = '''\
"""The app.py of the docs: one chat call (the check points OPENAI_BASE_URL at the simulator)."""
import openai

client = openai.OpenAI()
answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}])
print("app.py:", answer.choices[0].message.content)
'''


def test_every_block_is_marked() -> None:
    problems = []
    for path in documents():
        doc = parse(path)
        problems += [f"{block.where}: {block.problem()}" for block in doc.blocks if block.problem()]
        problems += [f"{path.relative_to(ROOT)}:{line}: a docs-check marker with no code block after it"
                     for line in doc.dangling]
    assert not problems, "\n".join(problems)
    runs = len(RUN)
    skips = [block for block in BLOCKS if block.action == "skip"]
    print(f"\ndocs check: {len(BLOCKS)} blocks, {runs} run, {len(skips)} skipped:")
    for block in skips:
        print(f"  {block.where}: {block.skip_reason}")
    assert runs >= 10  # the parser still finds the blocks


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = {".git", "__pycache__", "build", "dist", "mutants", "node_modules", ".pytest_cache", ".mypy_cache",
               ".ruff_cache", "app.py"}
    out = {n for n in names if n in ignored or n.startswith(".venv") or n.endswith((".egg-info", ".pyc"))}
    if Path(directory).name == "bench":
        out |= {"results"}
    return out


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository (what blocks write stays here), with `.venv` this environment and app.py."""
    where = tmp_path_factory.mktemp("docs-check") / "otel-ai"
    shutil.copytree(ROOT, where, ignore=_ignore, symlinks=True)
    (where / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (where / "app.py").write_text(APP, encoding="utf-8")
    return where


@pytest.fixture(scope="module")
def simulators() -> Iterator[tuple[OpenAISimulator, ElevenLabsSimulator]]:
    with OpenAISimulator() as openai_sim, ElevenLabsSimulator() as speech_sim:
        yield openai_sim, speech_sim


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual env whose site-packages also sees this one's (a .pth line): `pip install .` in it
    resolves every dependency here and installs only this checkout's own package."""
    where = tmp_path_factory.mktemp("docs-check-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    purelib = subprocess.run([str(where / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    (Path(purelib) / "docs_check_parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Ports:
    api: int
    otlp_http: int
    otlp_grpc: int
    mapping: dict[int, int]


def _ports() -> Ports:
    mapping = {port: _free_port() for port in DOCUMENTED_PORTS}
    return Ports(mapping[8200], mapping[4318], mapping[4317], mapping)


def _environment(ports: Ports, sims: tuple[OpenAISimulator, ElevenLabsSimulator], store: Path,
                 bin_dirs: list[Path]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_", "PYTEST_", "VIRTUAL_ENV"))}
    openai_sim, speech_sim = sims
    path = os.pathsep.join([*map(str, bin_dirs), keep.get("PATH", "/usr/bin:/bin")])
    return {
        **keep,
        "PATH": path,
        "OPENAI_BASE_URL": openai_sim.base_url, "OPENAI_API_KEY": "sk-docs-check-0000000000000000",
        "ELEVENLABS_BASE_URL": speech_sim.base_url, "ELEVENLABS_API_KEY": "xi-docs-check-000000000000",
        "OTEL_AI_SERVE_PORT": str(ports.api), "OTEL_AI_SERVE_OTLP_HTTP_PORT": str(ports.otlp_http),
        "OTEL_AI_SERVE_OTLP_GRPC_PORT": str(ports.otlp_grpc), "OTEL_AI_SERVE_DB": str(store),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ports.otlp_http}",
        "OTEL_AI_SERVE_INGEST_PROCESSES": "0",  # one process: quicker to start and to stop
        # This environment also has opentelemetry-distro (a test dependency): pick ours, as README says.
        "OTEL_PYTHON_DISTRO": "otel_ai", "OTEL_PYTHON_CONFIGURATOR": "otel_ai",
        "PYTHONUNBUFFERED": "1",
    }


_BACKGROUND = re.compile(r"^(?P<cmd>[^#]*[^&#\s])\s*(?<!&)&\s*(?:#.*)?$")
_NUMBER = re.compile(r"\b(\d{4})\b")

PRELUDE = r"""
__docs_check_wait() {  # until every port given accepts a connection (30 s at most)
  local port i
  for port in "$@"; do
    for i in $(seq 300); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      [ "$i" = 300 ] && { echo "docs check: nothing listens on $port after 30 s" >&2; return 1; }
      sleep 0.1
    done
  done
}
__docs_check_stop() {  # what the block left running in the background
  local left
  left=$(jobs -p)
  [ -z "$left" ] || { kill -INT $left 2>/dev/null; sleep 0.5; kill $left 2>/dev/null; wait 2>/dev/null; } || true
}
trap __docs_check_stop EXIT
"""


def _shell_script(text: str, ports: Ports) -> str:
    """The block with the documented ports mapped, and a wait after each command sent to the background."""
    mapped = _NUMBER.sub(lambda m: str(ports.mapping.get(int(m.group(1)), m.group(1))), text)
    out = []
    for line in mapped.splitlines():
        out.append(line)
        found = _BACKGROUND.match(line)
        if not found:
            continue
        command = found["cmd"]
        wait_for = [int(n) for n in _NUMBER.findall(command) if int(n) in ports.mapping.values()]
        if not wait_for and re.search(r"\botel-ai serve\b", command):
            wait_for = [ports.api, ports.otlp_http, ports.otlp_grpc]
        if wait_for:
            out.append("__docs_check_wait " + " ".join(map(str, wait_for)))
    return PRELUDE + "\n".join(out) + "\n"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _wait_ready(ports: list[int], proc: subprocess.Popen[bytes], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not all(_answers(p) for p in ports):
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"the server exited ({proc.returncode}) before it answered:\n{out[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"nothing answered on {ports} within {limit_s:g} s")
        time.sleep(0.1)


def _run_block(block: Block, checkout: Path, env: dict[str, str], ports: Ports, tmp: Path) -> None:
    if block.language == "json":
        json.loads(block.text)
        return
    if block.language == "yaml":
        yaml.safe_load(block.text)
        return
    if block.language == "python":
        script = tmp / "block.py"
        script.write_text(block.text, encoding="utf-8")
        command = [str(Path(env["PATH"].split(os.pathsep)[0]) / "python"), str(script)]
    else:
        if re.search(r"^\s*curl\b", block.text, re.MULTILINE) and shutil.which("curl") is None:
            pytest.skip("curl is not installed here")
        script = tmp / "block.sh"
        script.write_text(_shell_script(block.text, ports), encoding="utf-8")
        command = ["bash", "-e", "-o", "pipefail", str(script)]
    if "serving" in block.options:
        proc = subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            _wait_ready([ports.api], proc, block.timeout_s)
        finally:
            _stop(proc)
        return
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=block.timeout_s,
                          start_new_session=True)
    shown = (f"\n--- block ---\n{block.text}--- stdout ---\n{done.stdout[-4000:]}\n"
             f"--- stderr ---\n{done.stderr[-4000:]}")
    assert done.returncode == 0, f"{block.where} exited {done.returncode}{shown}"
    for pattern in block.expect:
        assert re.search(pattern, done.stdout + done.stderr, re.MULTILINE), f"{block.where}: no {pattern!r}{shown}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("block", RUN, ids=[block.where for block in RUN])
def test_block_runs(block: Block, checkout: Path, simulators: tuple[OpenAISimulator, ElevenLabsSimulator],
                    request: pytest.FixtureRequest, tmp_path: Path) -> None:
    options = block.options
    ports = _ports()
    bin_dirs = [Path(sys.executable).parent]
    if "venv" in options:
        venv: Path = request.getfixturevalue("fresh_venv")
        bin_dirs.insert(0, venv / "bin")
    env = _environment(ports, simulators, tmp_path / "otel-ai.db", bin_dirs)
    server = None
    if "serve" in options:
        server = subprocess.Popen([str(bin_dirs[-1] / "otel-ai"), "serve"], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_ready([ports.api, ports.otlp_http, ports.otlp_grpc], server, 60)
        except BaseException:
            _stop(server)
            raise
    try:
        _run_block(block, checkout, env, ports, tmp_path)
    finally:
        if server is not None:
            _stop(server)


@pytest.mark.timeout(300)
def test_the_wheel_builds_with_the_web_assets_and_the_pricing_data(checkout: Path, tmp_path: Path) -> None:
    """What README says to do with a clone: `python -m pip wheel --no-deps -w dist .`; the wheel holds
    every module and every file the package reads at run time (package-data in pyproject.toml)."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
                          cwd=checkout, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [wheel] = tmp_path.glob("otel_ai-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "otel_ai"
    needed = {p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
              and p.suffix != ".pyc" and "node_modules" not in p.parts
              and p.name not in ("package.json", "package-lock.json")}
    missing = sorted(str(p.relative_to(ROOT)) for p in needed if str(p.relative_to(ROOT)) not in names)
    assert not missing, f"not in {wheel.name}: {missing}"
    for must in ("otel_ai/pricing/data/pricing.json", "otel_ai/serve/web/index.html", "otel_ai/py.typed"):
        assert must in names
    assert any(n.startswith("otel_ai/serve/web/static/js/") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "otel-ai = otel_ai.cli:main" in entry_points and "otel_ai_console" in entry_points


def test_the_parser_sees_every_kind_of_block_and_refuses_unmarked_ones(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n<!-- docs-check: run -->\n```sh\necho one\n```\n\n"
        "<!-- docs-check: skip (a diagram) -->\n\n    a ─► b\n\n"
        "* a list item\n\n    its continuation, not code\n\n"
        "Paragraph.\n\n~~~python\nprint(2)\n~~~\n\n"
        "<!-- docs-check: skip -->\n```\nx\n```\n\n"
        "<!-- docs-check: run venv expect=\"^ok$\" timeout=9 -->\n```json\n{}\n```\n\n"
        "<!-- docs-check: run -->\nno block follows\n",
        encoding="utf-8")
    doc = parse(page)
    assert [(b.line, b.language, b.action) for b in doc.blocks] == [
        (4, "shell", "run"), (10, "shell", "skip"), (18, "python", None), (23, "shell", "skip"), (28, "json", "run")]
    assert doc.blocks[1].skip_reason == "a diagram" and doc.blocks[1].text == "a ─► b\n"
    assert doc.blocks[2].problem() == "no docs-check marker"
    assert doc.blocks[3].problem() is not None and "reason" in (doc.blocks[3].problem() or "")
    assert doc.blocks[4].options == ["venv"] and doc.blocks[4].expect == ["^ok$"] and doc.blocks[4].timeout_s == 9
    assert doc.dangling == [32]
