"""deploy/docker-compose.yaml, checked structurally (no Docker engine here): pinned images, mounts that
exist, the example app built from the repository."""

from __future__ import annotations

import re

import pytest

from .support import COMPOSE, DEPLOY, REPO, load_yaml

SERVICES = load_yaml(COMPOSE)["services"]
EXPECTED_SERVICES = {
    "otel-collector",
    "jaeger",
    "prometheus",
    "alertmanager",
    "elasticsearch",
    "kibana",
    "grafana",
    "example",
    "traffic",
    "otel-ai-serve",
    "postgres",
}
# An exact version: digits with dots, optional v prefix and suffix such as -slim-bookworm; never latest.
_PINNED_TAG = re.compile(r"^v?\d+\.\d+\.\d+([.-][A-Za-z0-9.-]+)?$")
_PINNED_POSTGRES_TAG = re.compile(r"^\d+\.\d+(-[A-Za-z0-9.-]+)?$")


def _tag(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    assert ":" in name, f"{image} has no tag"
    return name.split(":", 1)[1]


def test_the_stack_has_every_service():
    assert set(SERVICES) == EXPECTED_SERVICES


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES - {"example", "traffic", "otel-ai-serve"}))
def test_image_is_pinned_to_an_exact_version(name):
    image = SERVICES[name]["image"]
    # PostgreSQL's own versions have two parts (17.6 is exact); everything else three.
    pinned = _PINNED_POSTGRES_TAG if name == "postgres" else _PINNED_TAG
    assert "@" not in image or pinned.match(_tag(image.split("@")[0]))
    assert pinned.match(_tag(image)), image


def test_jaeger_is_v2_and_kibana_matches_elasticsearch():
    assert SERVICES["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")
    elastic, kibana = _tag(SERVICES["elasticsearch"]["image"]), _tag(SERVICES["kibana"]["image"])
    assert elastic == kibana and elastic.startswith("8.")
    env = SERVICES["elasticsearch"]["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"


def test_example_is_built_from_the_repository_and_instrumented_without_code_change():
    build = SERVICES["example"]["build"]
    assert "image" not in SERVICES["example"] and SERVICES["traffic"]["build"] == build
    assert (DEPLOY / build["context"]).resolve() == REPO
    dockerfile = (REPO / build["dockerfile"]).read_text()
    base_images = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert base_images and all(_PINNED_TAG.match(_tag(image)) for image in base_images), base_images
    assert re.search(r'pip install [^\n]*"\.\[examples(,serve)?\]"', dockerfile)
    assert 'CMD ["opentelemetry-instrument", "python", "examples/app.py"]' in dockerfile
    env = SERVICES["example"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    ignore = (REPO / f"{build['dockerfile']}.dockerignore").read_text().split()
    assert ignore[ignore.index("*") + 1 :] and "!otel_ai/" in ignore and "!pyproject.toml" in ignore


def _bind_mounts():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                yield name, source, volume


@pytest.mark.parametrize(("service", "source", "volume"), list(_bind_mounts()), ids=lambda v: str(v))
def test_every_mounted_path_exists_in_the_repository(service, source, volume):
    assert not source.startswith("/"), f"{service}: absolute host path {volume}"
    path = (DEPLOY / source).resolve()
    assert path.exists(), f"{service}: {volume}"
    assert path.is_relative_to(REPO), f"{service}: {volume} points outside the repository"


def test_named_volumes_are_declared():
    declared = set(load_yaml(COMPOSE).get("volumes") or {})
    used = {v.split(":", 1)[0] for s in SERVICES.values() for v in s.get("volumes", []) if not v.startswith((".", "/"))}
    assert used == declared


def test_host_ports_do_not_collide():
    host_ports = [str(p).rsplit(":", 1)[0].split(":")[-1] for s in SERVICES.values() for p in s.get("ports", [])]
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_example_serves_on_the_published_port_and_traffic_reaches_it():
    command = SERVICES["example"]["command"]
    assert command[:3] == ["opentelemetry-instrument", "python", "examples/app.py"]
    assert command[3:] == ["--serve", "--host", "0.0.0.0", "--port", "8000"]
    app = (REPO / "examples" / "app.py").read_text()
    for option in ("--serve", "--host", "--port"):
        assert f'add_argument("{option}"' in app, f"examples/app.py has no {option} option"
    assert "8000:8000" in SERVICES["example"]["ports"]
    script = SERVICES["traffic"]["command"][2]
    compile(script, "traffic", "exec")
    assert '"http://example:8000"' in script
    paths = re.findall(r'"(/\w+)\?', script)
    assert sorted(paths) == ["/ask", "/embed", "/speak", "/stream"], paths
    for path in paths:
        assert f'@app.get("{path}"' in app, f"examples/app.py has no {path} endpoint"


def test_otel_ai_serve_runs_from_the_repository_on_postgres():
    serve = SERVICES["otel-ai-serve"]
    assert serve["build"] == SERVICES["example"]["build"]
    command = serve["command"]
    assert command[:2] == ["otel-ai", "serve"] and command[command.index("--host") + 1] == "0.0.0.0"
    db = command[command.index("--db") + 1]
    assert db.startswith("postgresql://otelai:") and db.endswith("@postgres:5432/otelai")
    assert "8200:8200" in serve["ports"]
    postgres = SERVICES["postgres"]["environment"]
    assert postgres["POSTGRES_USER"] == "otelai" and postgres["POSTGRES_DB"] == "otelai"
    assert 'pip install ".[examples,serve]"' in (REPO / "deploy/example.Dockerfile").read_text()


def test_otel_ai_serve_answers_the_name_other_containers_reach_it_by():
    """Its Host check refuses names it does not know; inside compose it is reached as otel-ai-serve."""
    from otel_ai.cli.serve import parse_allowed_hosts
    from otel_ai.serve.access import Access

    command = SERVICES["otel-ai-serve"]["command"]
    allowed = parse_allowed_hosts(command[command.index("--allowed-host") + 1])
    access = Access.for_bind("0.0.0.0", extra_hosts=allowed)
    config = (REPO / "collector-config.yaml").read_text() + (REPO / "deploy/docker-compose.yaml").read_text()
    # the collector's exporter to it, and any app's budget server
    names = re.findall(r"(?:OTEL_AI_SERVE_OTLP_ENDPOINT:-|OTEL_AI_BUDGET_SERVER:\s*)https?://([A-Za-z0-9.-]+):", config)
    assert "otel-ai-serve" in names
    for name in names:
        assert access.host_allowed(f"{name}:4318"), name
    assert access.host_allowed("otel-ai-serve:8200") and not access.host_allowed("attacker.example")
