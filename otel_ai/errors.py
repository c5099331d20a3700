"""The one error type for bad settings and data files, raised at start-up only."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting or data file is invalid; the message names the variable or file and the problem."""
