"""Keys written before the ``{wb}`` hash tag (``wb:…``) get their new names (``{wb}:…``), once, at start.

Why at start and in every process: web, worker, long connection and CLI all get their client from
``bot.wiring.services.redis_client``, which runs this first, so whichever process starts first after an upgrade
moves the data before anything reads it. Idempotent: a marker key (``KEY_MIGRATION_DONE``) records a
finished run, later starts cost one EXISTS; a run cut short or racing another moves each key at most
once (RENAMENX, or RESTORE without REPLACE on a cluster), so running it again is always safe.

A key whose new name already exists (written by an upgraded process before the migration ran) is
left under its old name and logged: the newer data wins, the older is kept for an operator to look at.
"""

from __future__ import annotations

import logging
import time

import redis
from redis.crc import key_slot

from bot.core.keys import KEY_MIGRATION_DONE, OLD_PREFIX, PREFIX
from bot.infra.redis_conn import is_cluster

log = logging.getLogger(__name__)

SCAN_BATCH = 500


def new_name(old: str) -> str:
    """``wb:user:{c:u}`` -> ``{wb}:user:{c:u}``: only the prefix changes."""
    return PREFIX + old[len(OLD_PREFIX):]


def migrate_keys(client: redis.Redis) -> int:
    """Rename every ``wb:…`` key; returns how many moved. Redis unreachable: logged, retried at next start."""
    try:
        if client.exists(KEY_MIGRATION_DONE):
            return 0
        moved = kept = 0
        for old in list(client.scan_iter(match=OLD_PREFIX + "*", count=SCAN_BATCH)):
            outcome = _move(client, old if isinstance(old, str) else old.decode())
            moved += outcome == "moved"
            kept += outcome == "kept"
        client.set(KEY_MIGRATION_DONE, f"{time.time():.0f} moved={moved} kept={kept}")
    except redis.RedisError as exc:
        log.error("renaming keys of the old layout (wb:…) failed, retried at next start: %s", exc)
        return 0
    if moved or kept:
        log.warning("renamed %d Redis keys from wb:… to {wb}:… (%d left under the old name: the new one existed)",
                    moved, kept)
    return moved


def _move(client: redis.Redis, old: str) -> str:
    """One key: "moved", "kept" (the new name is taken) or "gone" (another process moved it first)."""
    new = new_name(old)
    if is_cluster(client) and key_slot(old.encode()) != key_slot(new.encode()):
        return _copy_across_slots(client, old, new)
    try:
        return "moved" if client.renamenx(old, new) else "kept"
    except redis.ResponseError as exc:
        if "no such key" in str(exc).lower():
            return "gone"
        raise


def _copy_across_slots(client: redis.Redis, old: str, new: str) -> str:
    """On a cluster the old and the new name sit in different slots: DUMP, RESTORE (same TTL), DELETE."""
    dumped = client.dump(old)
    ttl = int(client.pttl(old))
    if dumped is None or ttl == -2:
        return "gone"
    try:
        client.restore(new, max(ttl, 0), dumped)
    except redis.ResponseError as exc:
        if "busykey" not in str(exc).lower():
            raise
        if client.exists(old) and client.dump(new) != dumped:
            return "kept"
    client.delete(old)
    return "moved"
