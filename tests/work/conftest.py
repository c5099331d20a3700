"""Fixtures shared by the budget tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import otel_ai.budgets as B
from otel_ai.notify import notification as notify


@pytest.fixture
def notices() -> Iterator[list[notify.Notification]]:
    """The notifications sent while the test runs; budgets are uninstalled afterwards."""
    seen: list[notify.Notification] = []
    notify.set_dispatcher(seen.append)
    yield seen
    notify.set_dispatcher(None)
    B.uninstall()
