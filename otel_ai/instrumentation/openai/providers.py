"""Which GenAI provider an OpenAI-compatible client talks to, judged by its base URL host."""

from __future__ import annotations

from collections.abc import Mapping

_KNOWN_HOSTS: dict[str, str] = {
    "api.openai.com": "openai",
    "api.deepseek.com": "deepseek",
    "api.groq.com": "groq",
    "api.x.ai": "x_ai",
    "api.mistral.ai": "mistral_ai",
    "api.perplexity.ai": "perplexity",
    "openrouter.ai": "openrouter",
}
_KNOWN_SUFFIXES: tuple[tuple[str, str], ...] = ((".openai.azure.com", "azure.ai.openai"),)


def provider_for_host(host: str, overrides: Mapping[str, str] | None = None) -> str:
    """Map a host to a `gen_ai.provider.name`; user overrides win, then known hosts, then `openai`."""
    host = host.lower()
    if overrides:
        if host in overrides:
            return overrides[host]
        for pattern, provider in overrides.items():
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return provider
    if host in _KNOWN_HOSTS:
        return _KNOWN_HOSTS[host]
    for suffix, provider in _KNOWN_SUFFIXES:
        if host.endswith(suffix):
            return provider
    if overrides and "*" in overrides:
        return overrides["*"]
    return "openai"
