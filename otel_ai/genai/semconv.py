"""Attribute and metric names: the contract shared with dashboards and alert rules (README.md, "Telemetry").

Names the OpenTelemetry conventions define come from `opentelemetry-semantic-conventions`, under the short
names the instrumentors use (`sc.PROVIDER`, ...). Only ours (`otel_ai.*`, a provider's namespace) and the
conventions' names newer than that package are spelled out here; tests/test_semconv.py fails when the
package starts to carry one of those, so that ours can give way to it.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes import aws_attributes as _aws
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _gen_ai
from opentelemetry.semconv._incubating.attributes import openai_attributes as _openai
from opentelemetry.semconv._incubating.attributes import user_attributes as _user
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as _gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes as _error
from opentelemetry.semconv.attributes import server_attributes as _server

# --- GenAI semantic conventions, from opentelemetry-semantic-conventions ---------------------
OPERATION: Final = _gen_ai.GEN_AI_OPERATION_NAME
CONVERSATION_ID: Final = _gen_ai.GEN_AI_CONVERSATION_ID
USER_ID: Final = _user.USER_ID  # the user a conversation is with
USER_HASH: Final = _user.USER_HASH  # the same, hashed (OTEL_AI_USER_ID_HASH)
PROVIDER: Final = _gen_ai.GEN_AI_PROVIDER_NAME
REQUEST_MODEL: Final = _gen_ai.GEN_AI_REQUEST_MODEL
REQUEST_TEMPERATURE: Final = _gen_ai.GEN_AI_REQUEST_TEMPERATURE
REQUEST_TOP_P: Final = _gen_ai.GEN_AI_REQUEST_TOP_P
REQUEST_MAX_TOKENS: Final = _gen_ai.GEN_AI_REQUEST_MAX_TOKENS
REQUEST_FREQUENCY_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY
REQUEST_PRESENCE_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY
REQUEST_STOP_SEQUENCES: Final = _gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES
REQUEST_SEED: Final = _gen_ai.GEN_AI_REQUEST_SEED
REQUEST_CHOICE_COUNT: Final = _gen_ai.GEN_AI_REQUEST_CHOICE_COUNT
REQUEST_ENCODING_FORMATS: Final = _gen_ai.GEN_AI_REQUEST_ENCODING_FORMATS
REQUEST_STREAM: Final = _gen_ai.GEN_AI_REQUEST_STREAM
OUTPUT_TYPE: Final = _gen_ai.GEN_AI_OUTPUT_TYPE
RESPONSE_ID: Final = _gen_ai.GEN_AI_RESPONSE_ID
RESPONSE_MODEL: Final = _gen_ai.GEN_AI_RESPONSE_MODEL
RESPONSE_FINISH_REASONS: Final = _gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
RESPONSE_TIME_TO_FIRST_CHUNK: Final = _gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
USAGE_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_INPUT_TOKENS
USAGE_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
USAGE_CACHE_READ_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
USAGE_REASONING_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
EMBEDDINGS_DIMENSION_COUNT: Final = _gen_ai.GEN_AI_EMBEDDINGS_DIMENSION_COUNT
TOKEN_TYPE: Final = _gen_ai.GEN_AI_TOKEN_TYPE
INPUT_MESSAGES: Final = _gen_ai.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES: Final = _gen_ai.GEN_AI_OUTPUT_MESSAGES
SYSTEM_INSTRUCTIONS: Final = _gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS
TOOL_DEFINITIONS: Final = _gen_ai.GEN_AI_TOOL_DEFINITIONS
SERVER_ADDRESS: Final = _server.SERVER_ADDRESS
SERVER_PORT: Final = _server.SERVER_PORT
ERROR_TYPE: Final = _error.ERROR_TYPE
OPENAI_API_TYPE: Final = _openai.OPENAI_API_TYPE
OPENAI_REQUEST_SERVICE_TIER: Final = _openai.OPENAI_REQUEST_SERVICE_TIER
OPENAI_RESPONSE_SERVICE_TIER: Final = _openai.OPENAI_RESPONSE_SERVICE_TIER
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = _openai.OPENAI_RESPONSE_SYSTEM_FINGERPRINT
AWS_BEDROCK_GUARDRAIL_ID: Final = _aws.AWS_BEDROCK_GUARDRAIL_ID
# Units of work (as opentelemetry-util-genai emits them; docs/work.md).
OP_INVOKE_WORKFLOW: Final[str] = _gen_ai.GenAiOperationNameValues.INVOKE_WORKFLOW.value
OP_INVOKE_AGENT: Final[str] = _gen_ai.GenAiOperationNameValues.INVOKE_AGENT.value
OP_EXECUTE_TOOL: Final[str] = _gen_ai.GenAiOperationNameValues.EXECUTE_TOOL.value
WORKFLOW_NAME: Final = _gen_ai.GEN_AI_WORKFLOW_NAME
AGENT_NAME: Final = _gen_ai.GEN_AI_AGENT_NAME
AGENT_DESCRIPTION: Final = _gen_ai.GEN_AI_AGENT_DESCRIPTION
TOOL_NAME: Final = _gen_ai.GEN_AI_TOOL_NAME
TOOL_TYPE: Final = _gen_ai.GEN_AI_TOOL_TYPE
TOOL_DESCRIPTION: Final = _gen_ai.GEN_AI_TOOL_DESCRIPTION
REQUEST_TOP_K: Final = _gen_ai.GEN_AI_REQUEST_TOP_K

# --- GenAI names newer than opentelemetry-semantic-conventions -------------------------------
# From the open speech proposal of the GenAI conventions (provisional; docs/speech.md).
SPEECH_VOICE: Final = "gen_ai.speech.voice"
SPEECH_INPUT_LANGUAGE: Final = "gen_ai.speech.input.language"
# Audio tokens, part of the input and output tokens (the registry of semantic-conventions-genai).
USAGE_AUDIO_INPUT_TOKENS: Final = "gen_ai.usage.audio.input_tokens"
USAGE_AUDIO_OUTPUT_TOKENS: Final = "gen_ai.usage.audio.output_tokens"
# The event of the GenAI conventions that carries message content when it goes to logs.
DETAILS_EVENT: Final = "gen_ai.client.inference.operation.details"
# Renamed in semantic-conventions-genai after the move (was USAGE_CACHE_CREATION_INPUT_TOKENS); which of the
# two a span carries is OTEL_AI_SEMCONV's choice (genai/names.py, docs/conventions.md).
USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"

# --- a provider's own namespace, as `openai.*` is for OpenAI ---------------------------------
ELEVENLABS_HISTORY_ITEM_ID: Final = "elevenlabs.history_item_id"
ELEVENLABS_TTS_LATENCY_MS: Final = "elevenlabs.tts_latency_ms"
# Anthropic: the names the anthropic SDK's own spans use (anthropic/_tracing.py), so both read alike.
ANTHROPIC_REQUEST_SERVICE_TIER: Final = "anthropic.request.service_tier"
ANTHROPIC_RESPONSE_SERVICE_TIER: Final = "anthropic.response.service_tier"
ANTHROPIC_CACHE_CREATION_1H: Final = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"
ANTHROPIC_COUNT_TOKENS: Final = "anthropic.message.count_tokens.input_tokens"
# Gemini count_tokens: no convention names the counted total; ours, under otel_ai.*.
GEMINI_COUNT_TOKENS: Final = "otel_ai.gemini.count_tokens.total_tokens"

# --- otel-ai's own names (no semantic convention exists) -------------------------------------
COST_USD: Final = "otel_ai.cost.usd"
COST_INPUT_USD: Final = "otel_ai.cost.input_usd"
COST_OUTPUT_USD: Final = "otel_ai.cost.output_usd"
PRICING_SOURCE: Final = "otel_ai.pricing.source"
PRICING_CATALOG_DATE: Final = "otel_ai.pricing.catalog_date"  # with source `catalog`: the price file's date
ERROR_CATEGORY: Final = "otel_ai.error.category"
ERROR_CODE: Final = "otel_ai.error.code"  # span only: the provider's own code (genai/classify.py)
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
TASK_CALLS_UNPRICED: Final = "otel_ai.task.calls.unpriced"
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
# Realtime voice sessions (OpenAI Realtime API): the session span's totals and a response's status.
# The audio tokens' previous names (the open voice proposal's, semantic-conventions-genai#390), written
# beside or instead of USAGE_AUDIO_*_TOKENS under OTEL_AI_SEMCONV=both|previous (docs/conventions.md).
PREVIOUS_USAGE_INPUT_AUDIO_TOKENS: Final = "gen_ai.usage.input_audio_tokens"
PREVIOUS_USAGE_OUTPUT_AUDIO_TOKENS: Final = "gen_ai.usage.output_audio_tokens"
REALTIME_RESPONSE_STATUS: Final = "otel_ai.realtime.response.status"
REALTIME_INPUT_TOKENS: Final = "otel_ai.realtime.input_tokens"
REALTIME_OUTPUT_TOKENS: Final = "otel_ai.realtime.output_tokens"
REALTIME_AUDIO_INPUT_TOKENS: Final = "otel_ai.realtime.audio_input_tokens"
REALTIME_AUDIO_OUTPUT_TOKENS: Final = "otel_ai.realtime.audio_output_tokens"
REALTIME_ERRORS: Final = "otel_ai.realtime.errors"
SPEECH_DIALOGUE: Final = "otel_ai.speech.dialogue"
TRANSCRIPT_CHARACTERS: Final = "otel_ai.transcript.characters"
BUDGET_NAME: Final = "otel_ai.budget.name"  # attributes of the budget gauges
BUDGET_PERIOD: Final = "otel_ai.budget.period"
# Ollama's own timings of a call (it reports nanoseconds; these are seconds): docs/ollama.md.
OLLAMA_LOAD_DURATION: Final = "otel_ai.ollama.load_duration"
OLLAMA_PROMPT_EVAL_DURATION: Final = "otel_ai.ollama.prompt_eval_duration"
OLLAMA_EVAL_DURATION: Final = "otel_ai.ollama.eval_duration"
OLLAMA_TOTAL_DURATION: Final = "otel_ai.ollama.total_duration"
SPEECH_TRANSLATION: Final = "otel_ai.speech.translation"  # speech_to_text that translates into English
USAGE_IMAGES: Final = "otel_ai.usage.images"
USAGE_SEARCH_UNITS: Final = "otel_ai.usage.search_units"  # searches billed (rerank), priced per 1,000
# True when the token counts were estimated offline (OTEL_AI_STREAM_USAGE=estimate), not reported.
USAGE_ESTIMATED: Final = "otel_ai.usage.estimated"
RERANK_DOCUMENTS: Final = "otel_ai.rerank.documents"  # documents sent to rank
RERANK_TOP_N: Final = "otel_ai.rerank.top_n"  # results asked for
IMAGE_SIZE: Final = "otel_ai.image.size"
IMAGE_QUALITY: Final = "otel_ai.image.quality"
MODERATION_FLAGGED: Final = "otel_ai.moderation.flagged"
MODERATION_CATEGORIES: Final = "otel_ai.moderation.categories"

# --- metrics: the conventions' (from the package), then newer ones and ours -------------------
METRIC_DURATION: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION
METRIC_TOKEN_USAGE: Final = _gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE
METRIC_TIME_TO_FIRST_CHUNK: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK
METRIC_TIME_PER_OUTPUT_CHUNK: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK
# Units of work: as opentelemetry-util-genai 1.3b0 emits them, newer than the conventions package.
METRIC_INVOKE_WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"
METRIC_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
METRIC_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
# Open proposals, recorded only with OTEL_AI_SEMCONV_PROPOSALS (provisional names; genai/names.py).
# semantic-conventions-genai#374: per-direction token counters and per-operation token histograms.
METRIC_USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
METRIC_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
METRIC_OPERATION_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.operation.input_tokens"
METRIC_OPERATION_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.operation.output_tokens"
# semantic-conventions-genai#521: the duration of inference calls (chat, text_completion, generate_content).
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
# Ours.
METRIC_COST: Final = "otel_ai.client.cost"
METRIC_REQUESTS: Final = "otel_ai.client.requests"
METRIC_UNPRICED: Final = "otel_ai.client.unpriced"  # calls with usage and no price (pricing.source=unknown)
METRIC_CHARACTERS: Final = "otel_ai.client.characters"
METRIC_AUDIO_DURATION: Final = "otel_ai.client.audio.duration"
METRIC_AUDIO_REAL_TIME_FACTOR: Final = "otel_ai.client.audio.real_time_factor"
METRIC_BUDGET_SPENT: Final = "otel_ai.budget.spent"  # observable gauges, {USD}, per budget
METRIC_BUDGET_LIMIT: Final = "otel_ai.budget.limit"

# --- bucket advice ----------------------------------------------------------------------------
# Bucket advice as opentelemetry-util-genai 1.3b0 gives it (tools use SECONDS_BUCKETS).
WORKFLOW_SECONDS_BUCKETS: Final = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
AGENT_SECONDS_BUCKETS: Final = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
# Real-time factor (processing time / audio time): below 1 keeps up with playback.
RTF_BUCKETS: Final = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 8.0)
# Bucket advice from the GenAI metric conventions; the SDK defaults suit neither seconds nor tokens.
SECONDS_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
