"""Structural checks of collector-config.yaml (no collector binary here): pipeline graph, component names
valid in the pinned otelcol-contrib release, endpoints that agree with the compose file, redaction patterns."""

from __future__ import annotations

import re

import pytest

from .support import (
    COLLECTOR_CONFIG,
    COMPOSE,
    PROMETHEUS_CONFIG,
    host_of,
    load_yaml,
    port_of,
    resolve_env_defaults,
)

PINNED_VERSION = "0.160.0"

# Component type names valid in otelcol-contrib 0.160.0, for the kinds this deployment uses or documents
# (only names checked one by one are listed; extend the list from the same sources when using more).
# Sources: the distribution's component list, open-telemetry/opentelemetry-collector-releases
# distributions/otelcol-contrib/manifest.yaml (otlpreceiver, memorylimiterprocessor, batchprocessor,
# redactionprocessor, spanmetricsconnector, debug/otlp/otlphttp/prometheus/elasticsearch/loadbalancing
# exporters, healthcheck/pprof/zpages extensions), and each module's metadata.yaml `type:`, with the 2026
# lower_snake_case renames: exporter `otlp` -> `otlp_grpc`, `otlphttp` -> `otlp_http` (collector PRs #14403,
# #14397, release v0.144.0; collector issue #14396 keeps receiver `otlp`, `debug`, `batch`, `memory_limiter`,
# `zpages`, `forward`, `nop`), connector `spanmetrics` -> `span_metrics` (its metadata.yaml: `type:
# span_metrics`, `deprecated_type: spanmetrics`), exporter `loadbalancing` -> `load_balancing` (contrib PR
# #48533, tracking issue #45339); `health_check`, `pprof`, `redaction`, `transform`, `prometheus`, `elasticsearch` from
# their metadata.yaml.
CONTRIB_COMPONENT_TYPES = {
    "receivers": {"otlp", "nop"},
    "processors": {"memory_limiter", "batch", "redaction", "transform"},
    "exporters": {"otlp_grpc", "otlp_http", "debug", "prometheus", "elasticsearch", "load_balancing", "nop"},
    "connectors": {"span_metrics", "forward"},
    "extensions": {"health_check", "pprof", "zpages", "memory_limiter"},
}
# Names that still load (with a deprecation warning) or were removed: none may appear.
DEPRECATED_OR_REMOVED = {
    "exporters": {"otlp", "otlphttp", "logging", "jaeger", "jaeger_thrift", "loadbalancing"},
    "connectors": {"spanmetrics"},
    "processors": {"spanmetrics", "resourcedetection"},
    "receivers": {"hostmetrics"},
}
KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")

CONFIG = load_yaml(COLLECTOR_CONFIG)
PIPELINES = CONFIG["service"]["pipelines"]
COMPOSE_SERVICES = load_yaml(COMPOSE)["services"]


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def _endpoint(*path: str) -> str:
    node = CONFIG
    for key in path:
        node = node[key]
    return resolve_env_defaults(node)


def test_header_names_the_pinned_release_and_compose_runs_it():
    assert f"otelcol-contrib {PINNED_VERSION}" in COLLECTOR_CONFIG.read_text().split("\n\n", 1)[0]
    image = COMPOSE_SERVICES["otel-collector"]["image"]
    assert image == f"otel/opentelemetry-collector-contrib:{PINNED_VERSION}"


def test_pipelines_name_only_defined_components():
    assert set(PIPELINES) == {"traces", "metrics", "logs"}
    connectors = set(CONFIG.get("connectors") or {})
    # A connector is both: an exporter of one pipeline and a receiver of another.
    allowed = {
        "receivers": set(CONFIG["receivers"]) | connectors,
        "processors": set(CONFIG["processors"]),
        "exporters": set(CONFIG["exporters"]) | connectors,
    }
    for name, pipeline in PIPELINES.items():
        for role, defined in allowed.items():
            undefined = set(pipeline.get(role, [])) - defined
            assert undefined == set(), f"pipeline {name} {role}: {undefined} not defined"
    assert set(CONFIG["service"]["extensions"]) == set(CONFIG["extensions"])


def test_every_defined_component_is_used():
    used = {
        component
        for p in PIPELINES.values()
        for role in ("receivers", "processors", "exporters")
        for component in p.get(role, [])
    }
    for kind in ("receivers", "processors", "exporters", "connectors"):
        assert set(CONFIG.get(kind) or {}) - used == set(), f"unused {kind}"


@pytest.mark.parametrize("kind", KINDS)
def test_component_types_exist_in_pinned_release(kind):
    types = {_type(component) for component in CONFIG.get(kind) or {}}
    assert types, f"no {kind} defined"
    assert types <= CONTRIB_COMPONENT_TYPES[kind], types - CONTRIB_COMPONENT_TYPES[kind]
    assert types.isdisjoint(DEPRECATED_OR_REMOVED.get(kind, set()))


def test_required_components_as_the_issue_asks():
    assert set(CONFIG["receivers"]) == {"otlp"}
    assert {_type(e) for e in CONFIG["exporters"]} == {"prometheus", "otlp_grpc", "otlp_http", "elasticsearch", "debug"}
    assert {"memory_limiter", "batch", "redaction"} <= set(CONFIG["processors"])
    assert set(CONFIG["extensions"]) == {"health_check", "pprof", "zpages"}


def test_span_metrics_connector_joins_traces_to_metrics():
    (connector,) = CONFIG["connectors"]
    assert _type(connector) == "span_metrics"
    assert connector in PIPELINES["traces"]["exporters"]
    assert connector in PIPELINES["metrics"]["receivers"]
    dimensions = {d["name"] for d in CONFIG["connectors"][connector]["dimensions"]}
    assert dimensions == {"gen_ai.request.model", "gen_ai.provider.name"}


def test_processor_order_memory_limiter_first_batch_last_redaction_on_traces_and_logs():
    for name, pipeline in PIPELINES.items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", name
        assert processors[-1] == "batch", name
    assert "redaction" in PIPELINES["traces"]["processors"]
    assert "redaction" in PIPELINES["logs"]["processors"]
    limiter = CONFIG["processors"]["memory_limiter"]
    assert limiter["check_interval"] == "1s"
    assert "limit_mib" in limiter or "limit_percentage" in limiter


def test_signals_reach_their_backends():
    assert {"otlp_grpc/jaeger", "elasticsearch"} <= set(PIPELINES["traces"]["exporters"])
    assert "prometheus" in PIPELINES["metrics"]["exporters"]
    assert "elasticsearch" in PIPELINES["logs"]["exporters"]
    prom = CONFIG["exporters"]["prometheus"]
    assert prom["resource_to_telemetry_conversion"]["enabled"] is True
    es = CONFIG["exporters"]["elasticsearch"]
    assert es["logs_index"].startswith("logs-") and es["traces_index"].startswith("traces-")
    assert CONFIG["exporters"]["otlp_grpc/jaeger"]["tls"]["insecure"] is True


def _published_container_ports(service: str) -> set[int]:
    ports = set()
    for entry in COMPOSE_SERVICES[service].get("ports", []):
        ports.add(int(str(entry).split(":")[-1].split("/")[0]))
    return ports


def _network_ports(service: str) -> set[int]:
    exposed = {int(str(p).split("/")[0]) for p in COMPOSE_SERVICES[service].get("expose", [])}
    return exposed | _published_container_ports(service)


def test_collector_ports_agree_with_compose():
    published = _published_container_ports("otel-collector")
    assert {4317, 4318, 8889, 13133} <= published
    listeners = {
        _endpoint("receivers", "otlp", "protocols", "grpc", "endpoint"): 4317,
        _endpoint("receivers", "otlp", "protocols", "http", "endpoint"): 4318,
        _endpoint("exporters", "prometheus", "endpoint"): 8889,
        _endpoint("extensions", "health_check", "endpoint"): 13133,
    }
    for endpoint, port in listeners.items():
        assert host_of(endpoint) == "0.0.0.0", f"{endpoint} is not reachable from other containers"
        assert port_of(endpoint) == port
    for extension in ("pprof", "zpages"):
        assert port_of(_endpoint("extensions", extension, "endpoint")) in published


def test_exporter_targets_are_compose_services_on_the_right_ports():
    jaeger = _endpoint("exporters", "otlp_grpc/jaeger", "endpoint")
    assert (host_of(jaeger), port_of(jaeger)) == ("jaeger", 4317)
    assert 4317 in _network_ports("jaeger")
    elastic = _endpoint("exporters", "elasticsearch", "endpoint")
    assert elastic == "http://elasticsearch:9200"
    assert 9200 in _network_ports("elasticsearch")
    serve = _endpoint("exporters", "otlp_http/otel_ai_serve", "endpoint")
    assert (host_of(serve), port_of(serve)) == ("otel-ai-serve", 4318)  # otel-ai serve's OTLP/HTTP default


def test_traces_and_logs_also_reach_otel_ai_serve():
    pipelines = CONFIG["service"]["pipelines"]
    for signal in ("traces", "logs"):
        assert "otlp_http/otel_ai_serve" in pipelines[signal]["exporters"], signal


def test_prometheus_scrapes_the_collector_exporter_and_the_example_sends_to_its_receiver():
    scrape = load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    collector_job = next(job for job in scrape if job["job_name"] == "otel-collector")
    assert collector_job["honor_labels"] is True  # keep job/instance from service.name / service.instance.id
    (target,) = collector_job["static_configs"][0]["targets"]
    assert (host_of(target), port_of(target)) == (
        "otel-collector",
        port_of(_endpoint("exporters", "prometheus", "endpoint")),
    )
    env = COMPOSE_SERVICES["example"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    otlp = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert otlp == "http://otel-collector:4318"
    assert port_of(otlp) == port_of(_endpoint("receivers", "otlp", "protocols", "http", "endpoint"))


def test_collector_container_loads_this_file():
    service = COMPOSE_SERVICES["otel-collector"]
    (config_arg,) = [a for a in service["command"] if a.startswith("--config=")]
    assert f"../collector-config.yaml:{config_arg.split('=', 1)[1]}:ro" in service["volumes"]


def test_every_env_reference_has_a_default():
    text = COLLECTOR_CONFIG.read_text()
    refs = re.findall(r"\$\{[^}]*\}", text)
    assert refs, "expected ${env:...:-default} endpoints"
    for ref in refs:
        resolve_env_defaults(ref)  # raises without a default


# --- redaction ------------------------------------------------------------------------------------
REDACTION = CONFIG["processors"]["redaction"]
MUST_MASK = [
    "sk-proj-Ab3dEf0123456789xyzQWERTY",
    "key sk-0123456789abcdef0123456789abcdef in a message",
    "sk_0123456789abcdef0123456789abcdef01234567",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2c3D4e5" * 4,
    "xoxb-123456789012-abcdefghijklmnop",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "Authorization: Bearer abcdef123456.ghijkl",
    "contact jane.doe+ai@example.co.uk please",
]
MUST_KEEP = [
    "gpt-4o-mini",
    "deepseek-chat",
    "eleven_multilingual_v2",
    "text_to_speech",
    "chat gpt-4o-mini",
    "task-summarization-pipeline-v2",
    "risk_assessment_summary_2024",
    "api.openai.com",
    "https://api.openai.com/v1/chat/completions",
    "chatcmpl-AbCdEf0123456789xyz",
    "rate_limit",
    "RateLimitError",
    "POST /v1/chat/completions",
]
KEYS_KEPT = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.token.type",
    "server.address",
    "server.port",
    "error.type",
    "openai.api.type",
    "otel_ai.cost.usd",
    "otel_ai.task.type",
    "otel_ai.error.category",
    "gen_ai.speech.voice",
]
KEYS_MASKED = [
    "http.request.header.authorization",
    "openai.api_key",
    "db.password",
    "client_secret",
    "http.request.header.cookie",
    "x-api-key",
]


def test_redaction_keeps_keys_and_reports_counts():
    assert REDACTION["allow_all_keys"] is True
    assert REDACTION["summary"] in {"info", "silent"}  # `debug` would list the masked keys


def test_redaction_patterns_are_re2_compatible():
    for pattern in REDACTION["blocked_values"] + REDACTION["blocked_key_patterns"]:
        assert not re.search(r"\(\?[=!<]|\\[1-9]", pattern), f"RE2 has no lookaround/backreference: {pattern}"
        re.compile(pattern)


@pytest.mark.parametrize("value", MUST_MASK)
def test_redaction_masks_secrets_and_emails(value):
    assert any(re.search(p, value) for p in REDACTION["blocked_values"]), value


@pytest.mark.parametrize("value", MUST_KEEP)
def test_redaction_leaves_ordinary_values_alone(value):
    assert not any(re.search(p, value) for p in REDACTION["blocked_values"]), value


def test_redaction_key_patterns_spare_genai_attributes_and_catch_credentials():
    patterns = REDACTION["blocked_key_patterns"]
    assert [k for k in KEYS_KEPT if any(re.fullmatch(p, k) for p in patterns)] == []
    assert [k for k in KEYS_MASKED if not any(re.fullmatch(p, k) for p in patterns)] == []
