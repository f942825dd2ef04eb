"""The process's understanding: one trained Understander, retrained when staff teach it something.

Reads go to the current model; at most every ``check_every`` seconds a read looks at the teaching
version in Redis (one GET) and, when it moved, retrains in a background thread and swaps the model
in when done — a lesson takes effect in every process within seconds, without a restart, and no
message waits for training.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from bot.understand.factory import build_understander
from bot.understand.reading import Context, Reading
from bot.understand.staff_topics import StaffTopics
from bot.understand.teaching import Teaching
from bot.understand.understander import Understander

log = logging.getLogger(__name__)


class Understanding:
    def __init__(self, knowledge: Any, teaching: Teaching | None = None, check_every: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.knowledge = knowledge
        self.teaching = teaching
        self.check_every = check_every
        self.clock = clock
        self._version = self._read_version()
        self._current: Understander = build_understander(knowledge, self._lessons(), topics=self._topics())
        self._checked_at = clock()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> Understander:
        return self._current

    def read(self, text: str, ctx: Context) -> Reading:
        self._maybe_refresh()
        return self._current.read(text, ctx)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait for a retraining under way (tests, and the CLI before it reads)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _maybe_refresh(self) -> None:
        now = self.clock()
        if self.teaching is None or now - self._checked_at < self.check_every:
            return
        self._checked_at = now
        version = self._read_version()
        if version is None or version == self._version:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._retrain, args=(version,), name="understand-retrain",
                                            daemon=True)
            self._thread.start()

    def _retrain(self, version: int) -> None:
        try:
            lessons = self._lessons()
            self._current = build_understander(self.knowledge, lessons, topics=self._topics())
            self._version = version
            log.info("understanding retrained with %d taught examples (version %s)", len(lessons), version)
        except Exception:  # a bad lesson must not take reading down: keep the model we have
            log.exception("retraining the understanding model failed; keeping the previous one")

    def _read_version(self) -> int | None:
        if self.teaching is None:
            return None
        try:
            return self.teaching.version()
        except redis.RedisError:
            return None

    def _topics(self) -> list[Any]:
        """The topics staff created from the operator view (bot.understand.staff_topics), not retired."""
        if self.teaching is None:
            return []
        try:
            return StaffTopics(self.teaching.client).active()
        except redis.RedisError:
            return []

    def _lessons(self) -> list[tuple[str, str]]:
        if self.teaching is None:
            return []
        try:
            return self.teaching.examples()
        except redis.RedisError:
            return []
