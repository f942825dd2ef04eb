"""What the planner and the jobs share: settings, the store, the renderer, the scheduler, the clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from apscheduler.schedulers.base import BaseScheduler

from bot.config import Settings
from bot.core.guide import Guide
from bot.core.render import Renderer
from bot.core.store import Store
from bot.worker.reminders.config import ReminderConfig


@dataclass
class ReminderContext:
    config: ReminderConfig
    settings: Settings
    store: Store
    renderer: Renderer
    guide: Guide
    scheduler: BaseScheduler | None = None
    clock: Callable[[], float] = time.time
    leading: Callable[[], bool] = lambda: True
    lock: threading.RLock = field(default_factory=threading.RLock)  # planner vs jobs replacing one job id
    on_fired: Callable[[str, float, float], None] | None = None  # (kind, due, fired_at): benchmarks

    @property
    def redis(self) -> redis.Redis:
        return self.store.redis
