"""Tests of `otel-ai serve`: the store, the receiver, the API."""
