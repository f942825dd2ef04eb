"""Pulling one kf account's messages with ``kf/sync_msg``: a durable cursor, one puller at a time.

Why this shape:
- The callback only says "pull" (``request``: the token is kept 10 minutes and a request counter goes
  up); the pulling happens afterwards, never in the request, so the callback answers at once whatever
  the backlog.
- One puller per kf account across processes: a Redis lock (``kf_pull_lock_key``). Whoever holds it
  reads a page, hands each message to ``KfInbound`` (which marks it done), then saves ``next_cursor`` —
  only while the lock is still its own (a script checks it), so two processes never read the same page
  twice nor skip one. A request that finds the lock taken just counts: the holder, before letting go,
  compares the counter with the one it started from (one script over the lock and the counter) and pulls
  again if an event came meanwhile.
- A crash between reading a page and saving the cursor re-reads that page next time; messages already
  handled have their done marker (``bot.channels.kf.inbound``), so none is answered twice and none is lost.
- ``has_more=1`` with an empty list happens: the loop follows ``has_more``, not the list's length.
- An expired token (95007) is dropped and the pull goes on without one; a stale cursor (40035 with a
  cursor) restarts from the oldest message WeCom still has, the done markers skipping what was seen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

import redis

from bot.channels.kf import protocol as proto
from bot.channels.kf.api import INVALID_PARAMETER, INVALID_SYNC_TOKEN, KfAPI
from bot.channels.kf.inbound import KfInbound
from bot.channels.wecom.api import WeComError
from bot.channels.wecom.envelope import CallbackRejected
from bot.core.keys import (
    KF_ACCOUNTS,
    kf_cursor_key,
    kf_pull_lock_key,
    kf_pull_requests_key,
    kf_pull_served_key,
    kf_sync_token_key,
)
from bot.core.locking import RedisLock
from bot.infra.redis_conn import as_str, optional_str

log = logging.getLogger(__name__)

TOKEN_TTL = 600  # WeCom: the callback's Token is valid 10 minutes
LOCK_TTL = 30.0
MAX_PAGES = 10_000  # a guard against a WeCom that says has_more for ever

# KEYS: lock, cursor; ARGV: token, cursor
_SAVE_CURSOR = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""
# KEYS: lock, requests, served; ARGV: token, the request count the pass started from
_FINISH = """
local now = redis.call('GET', KEYS[2]) or '0'
if now ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[3], now)
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


class LockLost(Exception):
    """The pull lock expired under us: another puller may be reading; stop without saving."""


class KfPuller:
    def __init__(self, client: redis.Redis, api: KfAPI, inbound: KfInbound, *, limit: int = 1000,
                 clock: Callable[[], float] = time.time, lock_ttl: float = LOCK_TTL, threads: int = 4,
                 page_threads: int = 4) -> None:
        self.redis = client
        self.api = api
        self.inbound = inbound
        self.limit = max(1, min(limit, 1000))
        self.clock = clock
        self.lock_ttl = lock_ttl
        self._save_cursor = client.register_script(_SAVE_CURSOR)
        self._finish = client.register_script(_FINISH)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kf-pull")
        self.page_executor = ThreadPoolExecutor(max_workers=page_threads, thread_name_prefix="kf-page")
        self.before_cursor_save: Callable[[str], None] | None = None  # tests: a crash between read and save
        self._running: set[Future] = set()
        self._lock = threading.Lock()

    # -- asked for by a callback ------------------------------------------------------------------------------
    def request(self, open_kfid: str, token: str) -> None:
        """Remember that ``open_kfid`` has something to pull (one round trip; the callback's only work)."""
        with self.redis.pipeline(transaction=False) as pipe:
            if token:
                pipe.set(kf_sync_token_key(open_kfid), token, ex=TOKEN_TTL)
            pipe.incr(kf_pull_requests_key(open_kfid))
            pipe.zadd(KF_ACCOUNTS, {open_kfid: self.clock()})
            pipe.execute()

    def pull_later(self, open_kfid: str) -> None:
        """Pull in the background (the callback has answered by then)."""
        future = self.executor.submit(self.pull_quietly, open_kfid)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._running.discard(future)

    def wait(self, timeout: float = 10.0) -> bool:
        """Until the background pulls started so far are over (tests, the CLI); False on timeout."""
        with self._lock:
            running = list(self._running)
        return not futures_wait(running, timeout=timeout).not_done

    def pull_quietly(self, open_kfid: str) -> int:
        try:
            return self.pull(open_kfid)
        except (redis.RedisError, WeComError, LockLost) as exc:
            log.warning("kf: pull of %s stopped: %s (the next event or the worker's sweep pulls again)",
                        open_kfid, exc)
        except Exception:
            log.exception("kf: pull of %s failed", open_kfid)
        return 0

    # -- pulling --------------------------------------------------------------------------------------------------
    def pull(self, open_kfid: str) -> int:
        """Pull until WeCom has nothing more and no event came meanwhile; 0 if another process is pulling."""
        lock = RedisLock(self.redis, kf_pull_lock_key(open_kfid), self.lock_ttl)
        if not lock.try_acquire():
            return 0
        handled = 0
        try:
            while True:
                seen = optional_str(self.redis.get(kf_pull_requests_key(open_kfid))) or "0"
                handled += self._pull_pages(open_kfid, lock)
                keys = [lock.key, kf_pull_requests_key(open_kfid), kf_pull_served_key(open_kfid)]
                if self._finish(keys=keys, args=[lock.token, seen]):
                    lock.held = False
                    return handled
        finally:
            lock.release()

    def pending(self) -> list[str]:
        """Accounts with events no finished pull has seen: a process died mid-pull, or its pull failed."""
        accounts = [as_str(a) for a in self.redis.zrange(KF_ACCOUNTS, 0, -1) if isinstance(a, str | bytes)]
        out = []
        for account in accounts:
            asked, served = self.redis.mget(kf_pull_requests_key(account), kf_pull_served_key(account))
            if asked is not None and asked != served:
                out.append(account)
        return out

    def sweep(self) -> int:
        """Pull every pending account (the worker's leader calls this now and then)."""
        return sum(self.pull_quietly(account) for account in self.pending())

    def _pull_pages(self, open_kfid: str, lock: RedisLock) -> int:
        handled = 0
        for _ in range(MAX_PAGES):
            cursor = optional_str(self.redis.get(kf_cursor_key(open_kfid))) or ""
            page = self._read(open_kfid, cursor)
            handled += self._handle_page(page.get("msg_list") or [], open_kfid, lock)
            next_cursor = page.get("next_cursor")
            if isinstance(next_cursor, str) and next_cursor:
                if self.before_cursor_save is not None:
                    self.before_cursor_save(open_kfid)
                if not self._save_cursor(keys=[lock.key, kf_cursor_key(open_kfid)], args=[lock.token, next_cursor]):
                    raise LockLost(f"pull lock of {open_kfid} lost before saving the cursor")
            if not page.get("has_more"):
                return handled
        log.error("kf: %s still has_more after %d pages; stopping this pull", open_kfid, MAX_PAGES)
        return handled

    def _read(self, open_kfid: str, cursor: str) -> dict:
        token = optional_str(self.redis.get(kf_sync_token_key(open_kfid)))
        try:
            return self.api.sync_msg(open_kfid, cursor, token, self.limit)
        except WeComError as exc:
            if exc.errcode == INVALID_SYNC_TOKEN and token:
                log.info("kf: sync token of %s expired: pulling without it", open_kfid)
                self.redis.delete(kf_sync_token_key(open_kfid))
                return self.api.sync_msg(open_kfid, cursor, None, self.limit)
            if exc.errcode == INVALID_PARAMETER and cursor:
                log.warning("kf: cursor of %s refused (stale): reading again from the oldest message", open_kfid)
                return self.api.sync_msg(open_kfid, "", token, self.limit)
            raise

    def _handle_page(self, items: list, open_kfid: str, lock: RedisLock) -> int:
        """Each customer's messages in order, customers side by side (one slow answer holds no one else);
        the cursor is saved only after all of them, so a failure re-reads the page (done markers dedupe)."""
        by_customer: dict[str, list[proto.KfMessage]] = {}
        for item in items:
            try:
                message = proto.read_message(item, open_kfid)
            except CallbackRejected as exc:
                log.warning("kf: skipping an unusable sync_msg entry of %s: %s", open_kfid, exc.reason)
                continue
            by_customer.setdefault(message.external_userid, []).append(message)
        if len(by_customer) <= 1:
            return sum(self._handle_all(messages, lock) for messages in by_customer.values())
        futures = [self.page_executor.submit(self._handle_all, messages, lock) for messages in by_customer.values()]
        futures_wait(futures)
        return sum(f.result() for f in futures)  # re-raises the first failure: the cursor stays

    def _handle_all(self, messages: list[proto.KfMessage], lock: RedisLock) -> int:
        handled = 0
        for message in messages:
            handled += self._handle_one(message)
            if not lock.renew():
                raise LockLost(f"pull lock of {message.open_kfid} lost mid-page")
        return handled

    def _handle_one(self, message: proto.KfMessage) -> int:
        outcome = self.inbound.handle(message)
        log.info("kf %s/%s origin %s %s: %s", message.open_kfid, message.msgid, message.origin, message.msgtype,
                 outcome)
        return 0 if outcome == "duplicate" else 1

    def start_sweeper(self, interval: float) -> threading.Event | None:
        """Every ``interval`` seconds pull the accounts a pull still owes (a process died mid-pull, WeCom
        was down): a daemon thread of this process; the pull lock keeps several sweepers harmless."""
        if interval <= 0:
            return None
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.sweep()
                except redis.RedisError as exc:
                    log.warning("kf: sweep skipped: %s", type(exc).__name__)
                except Exception:
                    log.exception("kf: sweep failed")

        threading.Thread(target=loop, name="kf-sweep", daemon=True).start()
        return stop

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.page_executor.shutdown(wait=False, cancel_futures=True)
