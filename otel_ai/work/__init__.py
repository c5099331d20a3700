"""Units of work (workflow, agent, tool, task) and the roll-up of the GenAI calls beneath them.

The recorder's seam (`otel_ai.genai.hooks`) publishes each finished call; `rollup` adds it to the
open units. `units` holds the public constructors; `handle` the running `Unit`; `wrappers` what a
decorated function becomes; `telemetry` the tracer and histograms; `context` and `threads` where the
current unit lives and how it follows into threads; `batch` runs work in batches of units.
"""
