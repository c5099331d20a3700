"""Attribute and metric names: the contract shared with dashboards and alert rules (docs/telemetry.md)."""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions (v1.37+) -----------------------------------------------------
OPERATION: Final = "gen_ai.operation.name"
PROVIDER: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
REQUEST_STREAM: Final = "gen_ai.request.stream"
OUTPUT_TYPE: Final = "gen_ai.output.type"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
TOKEN_TYPE: Final = "gen_ai.token.type"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
OPENAI_API_TYPE: Final = "openai.api.type"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
# From the open speech proposal of the GenAI conventions (provisional; docs/elevenlabs.md).
SPEECH_VOICE: Final = "gen_ai.speech.voice"
SPEECH_INPUT_LANGUAGE: Final = "gen_ai.speech.input.language"
# Provider namespace, as `openai.*` is for OpenAI.
ELEVENLABS_HISTORY_ITEM_ID: Final = "elevenlabs.history_item_id"
ELEVENLABS_TTS_LATENCY_MS: Final = "elevenlabs.tts_latency_ms"
# Units of work (as opentelemetry-util-genai emits them; docs/work.md).
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_EXECUTE_TOOL: Final = "execute_tool"
WORKFLOW_NAME: Final = "gen_ai.workflow.name"
AGENT_NAME: Final = "gen_ai.agent.name"
AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_DESCRIPTION: Final = "gen_ai.tool.description"

DETAILS_EVENT: Final = "gen_ai.client.inference.operation.details"

# --- otel-ai's own names (no semantic convention exists) -------------------------------------
COST_USD: Final = "otel_ai.cost.usd"
COST_INPUT_USD: Final = "otel_ai.cost.input_usd"
COST_OUTPUT_USD: Final = "otel_ai.cost.output_usd"
PRICING_SOURCE: Final = "otel_ai.pricing.source"
ERROR_CATEGORY: Final = "otel_ai.error.category"
ERROR_CODE: Final = "otel_ai.error.code"  # span only: the provider's own code (genai/errors.py)
OUTCOME: Final = "otel_ai.outcome"
TASK_TYPE: Final = "otel_ai.task.type"
TASK_ID: Final = "otel_ai.task.id"
TASK_NAME: Final = "otel_ai.task.name"
# Roll-up: totals of every GenAI call under a workflow, agent, tool or task span, at any depth.
TASK_COST_USD: Final = "otel_ai.task.cost.usd"
TASK_INPUT_TOKENS: Final = "otel_ai.task.usage.input_tokens"
TASK_OUTPUT_TOKENS: Final = "otel_ai.task.usage.output_tokens"
TASK_CHARACTERS: Final = "otel_ai.task.usage.characters"
TASK_CALLS: Final = "otel_ai.task.calls"
TASK_CALLS_FAILED: Final = "otel_ai.task.calls.failed"
BATCH_INDEX: Final = "otel_ai.batch.index"
BATCH_ITEMS: Final = "otel_ai.batch.items"
BATCH_SUCCEEDED: Final = "otel_ai.batch.succeeded"
BATCH_FAILED: Final = "otel_ai.batch.failed"
USAGE_CHARACTERS: Final = "otel_ai.usage.characters"
AUDIO_SECONDS: Final = "otel_ai.audio.seconds"
AUDIO_BYTES: Final = "otel_ai.audio.bytes"
AUDIO_CHUNKS: Final = "otel_ai.audio.chunks"
AUDIO_FORMAT: Final = "otel_ai.audio.format"
AUDIO_REAL_TIME_FACTOR: Final = "otel_ai.audio.real_time_factor"
SPEECH_DIALOGUE: Final = "otel_ai.speech.dialogue"
TRANSCRIPT_CHARACTERS: Final = "otel_ai.transcript.characters"
BUDGET_NAME: Final = "otel_ai.budget.name"  # attributes of the budget gauges
BUDGET_PERIOD: Final = "otel_ai.budget.period"

# --- metrics ----------------------------------------------------------------------------------
METRIC_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
METRIC_COST: Final = "otel_ai.client.cost"
METRIC_REQUESTS: Final = "otel_ai.client.requests"
METRIC_CHARACTERS: Final = "otel_ai.client.characters"
METRIC_AUDIO_DURATION: Final = "otel_ai.client.audio.duration"
METRIC_AUDIO_REAL_TIME_FACTOR: Final = "otel_ai.client.audio.real_time_factor"
METRIC_INVOKE_WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"
METRIC_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
METRIC_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
# Bucket advice as opentelemetry-util-genai 1.3b0 gives it (tools use SECONDS_BUCKETS).
WORKFLOW_SECONDS_BUCKETS: Final = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
AGENT_SECONDS_BUCKETS: Final = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
METRIC_BUDGET_SPENT: Final = "otel_ai.budget.spent"  # observable gauges, {USD}, per budget
METRIC_BUDGET_LIMIT: Final = "otel_ai.budget.limit"
# Real-time factor (processing time / audio time): below 1 keeps up with playback.
RTF_BUCKETS: Final = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 8.0)

# Bucket advice from the GenAI metric conventions; the SDK defaults suit neither seconds nor tokens.
SECONDS_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
