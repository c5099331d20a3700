"""Prometheus series names the otel-ai agent really produces: the one list dashboards and rules may use.

How this list was made (and how to remake it after an upgrade): a script created exactly the agent's
instruments (design.md: names, units, attributes) on a MeterProvider with the OpenTelemetry
PrometheusMetricReader (opentelemetry-exporter-prometheus 0.66b2, SDK 1.45.2), recorded one value each,
ran the agent's system-metrics instrumentor with OTEL_AI_SYSTEM_METRICS=full (the default config of
opentelemetry-instrumentation-system-metrics 0.66b2, plus disk space per filesystem, plus GPUs through a
stand-in for NVML) and printed prometheus_client's generate_latest(REGISTRY). The sample names it printed
are below. test_metric_names.py re-runs that in a subprocess and fails if a name here is no longer produced.

The collector's `prometheus` exporter produces the same names (unit suffixes such as `_seconds`, `_total`
on counters, `_bucket`/`_sum`/`_count` on histograms, dots to underscores); docs/deploy.md says where the
labels differ between the two paths.
"""

# Instrument (OpenTelemetry name, unit) -> Prometheus series names.
AGENT_METRICS: dict[tuple[str, str], tuple[str, ...]] = {
    ("gen_ai.client.operation.duration", "s"): (
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_operation_duration_seconds_count",
        "gen_ai_client_operation_duration_seconds_sum",
    ),
    # Curly-brace units ({token}) are annotations: no suffix.
    ("gen_ai.client.token.usage", "{token}"): (
        "gen_ai_client_token_usage_bucket",
        "gen_ai_client_token_usage_count",
        "gen_ai_client_token_usage_sum",
    ),
    ("gen_ai.client.operation.time_to_first_chunk", "s"): (
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
        "gen_ai_client_operation_time_to_first_chunk_seconds_count",
        "gen_ai_client_operation_time_to_first_chunk_seconds_sum",
    ),
    ("gen_ai.client.operation.time_per_output_chunk", "s"): (
        "gen_ai_client_operation_time_per_output_chunk_seconds_bucket",
        "gen_ai_client_operation_time_per_output_chunk_seconds_count",
        "gen_ai_client_operation_time_per_output_chunk_seconds_sum",
    ),
    ("otel_ai.client.cost", "{USD}"): ("otel_ai_client_cost_total",),
    ("otel_ai.client.requests", "{request}"): ("otel_ai_client_requests_total",),
    ("otel_ai.client.unpriced", "{request}"): ("otel_ai_client_unpriced_total",),
    ("otel_ai.client.characters", "{character}"): ("otel_ai_client_characters_total",),
    ("otel_ai.client.audio.duration", "s"): (
        "otel_ai_client_audio_duration_seconds_bucket",
        "otel_ai_client_audio_duration_seconds_count",
        "otel_ai_client_audio_duration_seconds_sum",
    ),
    # Unit "1" adds no suffix to a histogram (the collector adds `_ratio` to gauges only).
    ("otel_ai.client.audio.real_time_factor", "1"): (
        "otel_ai_client_audio_real_time_factor_bucket",
        "otel_ai_client_audio_real_time_factor_count",
        "otel_ai_client_audio_real_time_factor_sum",
    ),
    # otel_ai.evaluate() scores (docs/evaluations.md); unit "1": no suffix.
    ("otel_ai.evaluation.score", "1"): (
        "otel_ai_evaluation_score_bucket",
        "otel_ai_evaluation_score_count",
        "otel_ai_evaluation_score_sum",
    ),
}

# Metric attributes -> label names (dots become underscores; printed by the same script).
AGENT_ATTRIBUTES: dict[str, str] = {
    "gen_ai.operation.name": "gen_ai_operation_name",
    "gen_ai.provider.name": "gen_ai_provider_name",
    "gen_ai.request.model": "gen_ai_request_model",
    "gen_ai.response.model": "gen_ai_response_model",
    "gen_ai.token.type": "gen_ai_token_type",
    "server.address": "server_address",
    "server.port": "server_port",
    "error.type": "error_type",
    "otel_ai.outcome": "otel_ai_outcome",
    "otel_ai.error.category": "otel_ai_error_category",
    "otel_ai.task.type": "otel_ai_task_type",
    "gen_ai.evaluation.name": "gen_ai_evaluation_name",
}
AGENT_LABELS: frozenset[str] = frozenset(AGENT_ATTRIBUTES.values())

# opentelemetry-instrumentation-system-metrics (psutil), default configuration.
SYSTEM_METRICS: frozenset[str] = frozenset(
    {
        "system_cpu_time_seconds_total",
        "system_cpu_utilization",
        "system_memory_usage_bytes",
        "system_memory_utilization",
        "system_swap_usage_pages",
        "system_swap_utilization",
        "system_disk_io_bytes_total",
        "system_disk_operations_total",
        "system_disk_time_seconds_total",
        "system_network_dropped_packets_total",
        "system_network_packets_total",
        "system_network_errors_total",
        "system_network_io_bytes_total",
        "system_network_connections",
        "system_thread_count",
        "process_context_switches_total",
        "process_cpu_time_seconds_total",
        "process_cpu_utilization",
        "process_memory_usage_bytes",
        "process_memory_virtual_bytes",
        "process_disk_io_bytes_total",
        "process_unix_file_descriptor_count",
        # the name before OTEL_AI_SEMCONV=current (previous, both): dashboards query either
        "process_open_file_descriptor_count",
        "process_thread_count",
        "cpython_gc_collections_total",
        "cpython_gc_collected_objects_total",
        "cpython_gc_uncollectable_objects_total",
        # Older runtime names the instrumentation still emits; prefer the ones above.
        "process_runtime_cpython_memory_bytes",
        "process_runtime_cpython_cpu_time_seconds_total",
        "process_runtime_cpython_gc_count_bytes_total",
        "process_runtime_cpython_thread_count",
        "process_runtime_cpython_cpu_utilization",
        "process_runtime_cpython_context_switches_total",
    }
)

# Added by otel_ai.system to the contrib set, in every OTEL_AI_SYSTEM_METRICS set but `off`: disk space per
# filesystem (docs/system.md). The collector's exporter renders the gauge as system_filesystem_utilization_ratio
# (it suffixes unit-"1" gauges with _ratio; the Python exporter does not), so dashboards and rules use the
# usage in bytes, named alike on both paths.
FILESYSTEM_METRICS: frozenset[str] = frozenset({"system_filesystem_usage_bytes", "system_filesystem_utilization"})
FILESYSTEM_LABELS: frozenset[str] = frozenset(
    {"system_device", "system_filesystem_mountpoint", "system_filesystem_type", "system_filesystem_state"}
)

# NVIDIA GPUs, only where nvidia-ml-py and a driver are present (the _utilization gauges get _ratio on the
# collector path, as above).
GPU_METRICS: frozenset[str] = frozenset(
    {
        "hw_gpu_utilization",
        "hw_gpu_memory_usage_bytes",
        "hw_gpu_memory_limit_bytes",
        "hw_gpu_memory_utilization",
        "hw_temperature_celsius",
        "hw_power_watts",
    }
)
GPU_LABELS: frozenset[str] = frozenset(
    {"hw_id", "hw_type", "hw_name", "hw_model", "hw_vendor", "hw_gpu_task", "hw_sensor_location"}
)

# What the default set, OTEL_AI_SYSTEM_METRICS=basic, produces of the above (GPUs come in every set).
# Everything else on the Host and process dashboard sits in its collapsed "Full set only" row.
BASIC_SYSTEM_METRICS: frozenset[str] = frozenset(
    {
        "system_cpu_utilization",
        "system_memory_usage_bytes",
        "system_memory_utilization",
        "system_disk_io_bytes_total",
        "system_disk_operations_total",
        "system_disk_time_seconds_total",
        "system_network_io_bytes_total",
        "process_cpu_time_seconds_total",
        "process_memory_usage_bytes",
        "process_thread_count",
        "process_unix_file_descriptor_count",
        *FILESYSTEM_METRICS,
    }
)

# Names of the release before, which OTEL_AI_SEMCONV=previous (and both) still emits: a dashboard query may
# name one only next to its current name (`current or previous`), so that it has data under every setting.
PREVIOUS_NAMES: frozenset[str] = frozenset({"process_open_file_descriptor_count"})

# The resource (service.name, service.instance.id, telemetry.sdk.*, ...) as one info series.
RESOURCE_METRICS: frozenset[str] = frozenset({"target_info"})

# Only on the direct /metrics path: prometheus_client's own default collectors in the same registry.
# Not exported over OTLP, so the collector path lacks them: dashboards and rules must not use them.
DIRECT_SCRAPE_ONLY: frozenset[str] = frozenset(
    {
        "process_cpu_seconds_total",
        "process_max_fds",
        "process_open_fds",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_virtual_memory_bytes",
        "python_gc_collections_total",
        "python_gc_objects_collected_total",
        "python_gc_objects_uncollectable_total",
        "python_info",
    }
)

AGENT_SERIES: frozenset[str] = frozenset(name for names in AGENT_METRICS.values() for name in names)

# What dashboards and alert rules may query (plus the recording rules defined in the rules file).
PRODUCED: frozenset[str] = AGENT_SERIES | SYSTEM_METRICS | FILESYSTEM_METRICS | GPU_METRICS | RESOURCE_METRICS
