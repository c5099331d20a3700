"""The overview's storage line (Chromium via Playwright, as tests/serve/test_web.py): a real `otel-ai
serve` (LocalServer) started with a size cap over a store above it, so that it trims at start."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from otel_ai.serve.server import LocalServer, ServeConfig
from otel_ai.serve.store import open_store
from otel_ai.serve.store.aggregates import DAY_NS
from tests.serve.test_store import ns, random_calls, synthetic_request
from tests.serve.test_web import Site, Tab, browser, tab  # fixtures

__all__ = ["browser", "tab"]


@pytest.fixture
def capped_site(tmp_path: Path) -> Iterator[tuple[Site, int]]:
    db = tmp_path / "capped.db"
    base = ns(datetime(2026, 3, 1, tzinfo=timezone.utc))
    items = sorted(random_calls(1500, base, base + 10 * DAY_NS, seed=21), key=lambda i: i["span"].start_time_unix_nano)
    with open_store(str(db)) as store:
        for i in range(0, len(items), 500):
            store.ingest_traces(synthetic_request(items[i:i + 500]))
        cap = store.used_bytes() // 2
    server = LocalServer(ServeConfig(db=str(db), port=0, otlp_http_port=0, otlp_grpc_port=0, shutdown_grace_s=2,
                                     max_db_bytes=cap)).start()
    try:
        yield Site(server.urls()["api"]), cap
    finally:
        server.stop()


def test_the_overview_shows_the_storage_against_its_cap(tab: Tab, capped_site: tuple[Site, int]) -> None:
    site, cap = capped_site
    storage: dict[str, Any] = site.api("/health")["storage"]
    assert storage["max_bytes"] == cap and storage["dropped_rows"] > 0
    tab.open(site.url + "/")
    tab.assert_clean()
    line = tab.text("#storage")
    assert line.startswith("Storage: ")
    assert f"of {cap / 1e6:.1f} MB cap" in line
    assert f"oldest data kept {storage['oldest'][:16].replace('T', ' ')} UTC" in line
    assert f"{storage['dropped_rows']:,} rows dropped since start (roll-ups kept)" in line
    assert int(tab.page.locator("#storage").get_attribute("data-used")) == storage["used_bytes"]
