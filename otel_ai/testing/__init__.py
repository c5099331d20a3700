"""Test and demo support shipped with the package: provider simulators on loopback.

The example app runs offline against it and the test suite drives the real ``openai`` client
over real HTTP with it; `python -m otel_ai.testing.simulator --port 0` runs it standalone. Every
simulator is a `ScenarioService` (`otel_ai.testing.simulator`) on the one loopback server base,
`otel_ai._net` (request bodies, chunked replies, dropped connections, header numbers).
"""
