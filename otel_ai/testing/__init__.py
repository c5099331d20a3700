"""Test and demo support shipped with the package: an OpenAI-compatible simulator on loopback.

The example app runs offline against it and the test suite drives the real ``openai`` client
over real HTTP with it; `python -m otel_ai.testing.simulator --port 0` runs it standalone.
"""
