"""The one Redis lock of the bot: SET NX PX with a token, renewed and released only by its holder.

This is Redis's single-instance lock pattern, used for a user's read-modify-write (``bot.core.store``),
the worker's and the long connection's leader election (``bot.worker.leader``) and the access-token
fetch (``bot.channels.wecom.api``). It replaces redis-py's Lock because that one costs extra round trips per
message (its release script makes every pipeline check SCRIPT EXISTS first); here renew and release
are plain EVALs, so the release can ride in the commit's MULTI.

Two uses add to it rather than differ: a message takes its user's lock inside the script that also
counts its rate (``Store.begin_message``, then ``mark_acquired``), to save a round trip; leadership
adds a takeover epoch (``LeaderLock``). Process-local ``threading`` locks are another matter.
"""

from __future__ import annotations

import logging
import secrets
import time

import redis

log = logging.getLogger(__name__)

RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
RENEW_SCRIPT = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
                "else return 0 end")
RETRY_SECONDS = 0.02
SAFE_FRACTION = 0.8  # commit only within the first 80 % of the lock's TTL


class RedisLock:
    """``token`` names the holder (random unless given, e.g. a worker's readable identity)."""

    def __init__(self, client: redis.Redis, key: str, ttl: float, token: str | None = None) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = max(1, int(ttl * 1000))
        self.token = token or secrets.token_hex(16)
        self.held = False
        self.acquired_at = 0.0

    def try_acquire(self) -> bool:
        asked_at = time.monotonic()  # the TTL may start as soon as the request leaves
        self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        if self.held:
            self.acquired_at = asked_at
        return self.held

    def mark_acquired(self, asked_at: float) -> None:
        """The lock was taken by a script on our behalf (see Store.begin_message), asked at ``asked_at``."""
        self.held = True
        self.acquired_at = asked_at

    def safe_to_commit(self) -> bool:
        """True while well inside the TTL: past it, another process may hold the lock and our write
        would overwrite theirs. No round trip: ``acquired_at`` is when we asked, so this is conservative."""
        return self.held and (time.monotonic() - self.acquired_at) * 1000 < self.ttl_ms * SAFE_FRACTION

    def acquire(self, wait: float) -> bool:
        """Try until ``wait`` seconds have passed; the TTL frees a lock whose holder crashed."""
        deadline = time.monotonic() + wait
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(RETRY_SECONDS)
        return True

    def renew(self) -> bool:
        """Extend the TTL, only while the lock is still ours (False: it expired or someone else has it)."""
        return bool(self.client.execute_command("EVAL", RENEW_SCRIPT, 1, self.key, self.token, self.ttl_ms))

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def release_in(self, pipe) -> None:
        """Queue the release on the caller's MULTI: the commit and the unlock are one round trip.
        The caller marks the lock released (``released_by_commit``) once that MULTI succeeded."""
        if self.held:
            pipe.execute_command("EVAL", RELEASE_SCRIPT, 1, self.key, self.token)

    def released_by_commit(self) -> None:
        self.held = False

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            self.client.execute_command("EVAL", RELEASE_SCRIPT, 1, self.key, self.token)
        except redis.RedisError as exc:  # Redis down: the TTL frees the lock
            log.warning("could not release %s: %s", self.key, type(exc).__name__)
