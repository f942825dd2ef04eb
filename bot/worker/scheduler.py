"""APScheduler 3 plumbing for the worker: a Redis job store under ``wb:aps:`` and a retrying trigger.

Only the leading worker ever has a *started* scheduler (see ``bot.worker.process``); web processes never
touch the job store, they write events. Two choices here are about losing nothing:

- ``RetryingDateTrigger``: APScheduler removes a one-shot (date) job from the store when it hands
  it to the executor, so a kill -9 while the job runs would lose it. This trigger keeps the job in
  the store, due again ``retry`` seconds later, until the job itself confirms it is done (it
  replaces itself with its next stage or removes itself; see ``bot.worker.reminders.jobs``). A job is therefore
  run at least once; jobs are written to be idempotent.
- An explicit, large ``misfire_grace_time`` and ``coalesce``: a reminder that is late because no
  worker was up is still sent (once), unless it is later than the grace.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import redis
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger

APS_JOBS_KEY = "wb:aps:jobs"
APS_RUN_TIMES_KEY = "wb:aps:run_times"

log = logging.getLogger(__name__)


class RetryingDateTrigger(BaseTrigger):
    """Fire at ``run_date``; while the job has not removed itself, fire again every ``retry`` seconds.

    Gives up (the job is dropped) once a run would be later than ``run_date + give_up``.
    """

    def __init__(self, run_date: datetime, retry: float = 60.0, give_up: float = 6 * 3600.0) -> None:
        self.run_date = run_date.astimezone(UTC)
        self.retry = timedelta(seconds=retry)
        self.until = self.run_date + timedelta(seconds=give_up)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        if previous_fire_time is None:
            return self.run_date
        following = max(previous_fire_time, now) + self.retry
        return following if following <= self.until else None

    def __repr__(self) -> str:
        return f"<RetryingDateTrigger {self.run_date.isoformat()} retry={self.retry.total_seconds():g}s>"


def at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def binary_client(client: redis.Redis) -> redis.Redis:
    """A client on the same server and database without response decoding (the job store pickles)."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(connection_pool=pool.__class__(connection_class=pool.connection_class, **kwargs))


def redis_job_store(client: redis.Redis) -> RedisJobStore:
    store = RedisJobStore(jobs_key=APS_JOBS_KEY, run_times_key=APS_RUN_TIMES_KEY)
    store.redis = binary_client(client)
    return store


class WorkerScheduler(BackgroundScheduler):
    """APScheduler's background scheduler, minus one run after ``shutdown()``.

    ``shutdown()`` wakes the main loop, which then processes due jobs once more, against executors
    that are already shut down (errors, and due jobs pushed back by a retry interval for nothing).
    """

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


def build_scheduler(jobstore: BaseJobStore, *, threads: int = 8, grace: float = 6 * 3600.0) -> BackgroundScheduler:
    """A scheduler over ``jobstore`` (not started). Defaults are also passed on every ``add_job``."""
    logging.getLogger("apscheduler").setLevel(max(logging.getLogger().level, logging.WARNING))
    return WorkerScheduler(
        jobstores={"default": jobstore},
        executors={"default": ThreadPoolExecutor(threads)},
        job_defaults={"coalesce": True, "misfire_grace_time": int(grace), "max_instances": 1},
        timezone=UTC,
    )
