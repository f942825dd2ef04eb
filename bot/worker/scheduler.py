"""APScheduler 3 plumbing for the worker: a Redis job store under ``{wb}:aps:`` and a retrying trigger.

Only the leading worker ever has a *started* scheduler (see ``bot.worker.process``); web processes
never touch the job store, they write events. Everything here uses APScheduler's public API only.
Two choices are about losing nothing:

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
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta

import redis
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.config import setting_default
from bot.core.keys import APS_JOBS_KEY, APS_RUN_TIMES_KEY
from bot.infra.redis_conn import binary_twin, close, is_cluster

# RedisJobStore keeps each job's next run time as its score under APS_RUN_TIMES_KEY. The operator pages
# read it directly (ZSCORE per user, pipelined): APScheduler has no public call for many jobs' run times
# without a started scheduler, and ``lookup_job`` would unpickle each job (one round trip per user).
__all__ = ["APS_JOBS_KEY", "APS_RUN_TIMES_KEY"]

log = logging.getLogger(__name__)


class RetryingDateTrigger(BaseTrigger):
    """Fire at ``run_date``; while the job has not removed itself, fire again every ``retry`` seconds.

    Gives up (the job is dropped) once a run would be later than ``run_date + give_up``. Both come from
    the reminder settings (REMINDER_RETRY, REMINDER_GRACE).
    """

    def __init__(self, run_date: datetime, *, retry: float, give_up: float) -> None:
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


class _Transactional:
    """A cluster client whose ``pipeline()`` is a MULTI/EXEC, as a plain client's is by default: RedisJobStore
    writes the job hash and the run-times set in one (``pipe.multi()``), which a cluster runs only as a
    transaction over one slot (both keys share the ``{wb}`` tag)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> redis.client.Pipeline:
        return self._client.pipeline(transaction=transaction)

    def __getattr__(self, name: str):
        return getattr(self._client, name)


class WedaJobStore(RedisJobStore):
    """APScheduler's RedisJobStore on the bot's Redis, whichever form it takes (``bot.infra.redis_conn.connect``):
    one server, a Sentinel master or a cluster. Only its client is ours; its logic is APScheduler's."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(jobs_key=APS_JOBS_KEY, run_times_key=APS_RUN_TIMES_KEY)
        twin = binary_twin(client)  # the job store pickles: replies must stay bytes
        self.redis = _Transactional(twin) if is_cluster(twin) else twin
        self._twin = twin

    def shutdown(self) -> None:
        close(self._twin)


def redis_job_store(client: redis.Redis) -> RedisJobStore:
    """The job store under ``{wb}:aps:`` (the job hash and the run-times set share the ``{wb}`` slot)."""
    return WedaJobStore(client)


class WorkerScheduler(BackgroundScheduler):
    """APScheduler's background scheduler, minus the pass over due jobs it makes after ``shutdown()``.

    ``shutdown()`` marks the scheduler stopped, shuts the executors down, then wakes the main loop,
    which processes due jobs once more against those executors ("cannot schedule new futures after
    shutdown", agronholm/apscheduler#285), pushes each due job back by a retry interval for nothing
    and may die on removing a finished one. Detaching the job store first (``remove_jobstore``,
    public; it waits for a pass in progress) leaves that last pass nothing to do. ``guard`` is held
    while detaching: the worker passes the lock under which a job replaces itself with its next
    stage (``bot.worker.reminders.jobs.finish``), so no job is cut between reading and writing.
    """

    def shutdown(self, wait: bool = True, *, guard: AbstractContextManager | None = None) -> None:
        if self.running:
            with guard or nullcontext():
                self.remove_jobstore("default")  # and close its Redis connections
        super().shutdown(wait)


def build_scheduler(jobstore: BaseJobStore, *, threads: int = setting_default("worker_threads"),
                    grace: float = setting_default("reminder_grace")) -> WorkerScheduler:
    """A scheduler over ``jobstore`` (not started). Defaults are also passed on every ``add_job``."""
    logging.getLogger("apscheduler").setLevel(max(logging.getLogger().level, logging.WARNING))
    return WorkerScheduler(
        jobstores={"default": jobstore},
        executors={"default": ThreadPoolExecutor(threads)},
        job_defaults={"coalesce": True, "misfire_grace_time": int(grace), "max_instances": 1},
        timezone=UTC,
    )

