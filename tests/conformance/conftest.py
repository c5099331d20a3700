"""Fixtures of the conformance tests: every simulator, started once; content capture on spans and events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.scenarios import Sims, simulators


@pytest.fixture(scope="session")
def sims(sim: Any) -> Iterator[Sims]:
    with simulators(sim) as started:
        yield started


@pytest.fixture
def content_mode() -> str:
    """Content on spans and events: the opt-in attributes and the details event are checked too."""
    return "span_and_event"
