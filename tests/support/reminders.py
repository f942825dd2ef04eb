"""The worker's planning half in this process: events consumed as the worker does, jobs stored in APScheduler's
Redis job store (started paused) and fired by hand at the fake clock's time."""

from __future__ import annotations

from bot.core.guide import Guide
from bot.core.render import Renderer
from bot.core.store import Store
from bot.outbound.entry import OutboxMessage
from bot.outbound.queue import OUTBOX_QUEUE
from bot.worker.event_reader import EventConsumer
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.jobs import fire, install
from bot.worker.reminders.planning import Planner
from bot.worker.scheduler import build_scheduler, redis_job_store


class Harness:
    """The worker's planning half, driven step by step."""

    def __init__(self, settings, client, clock) -> None:
        self.client = client
        self.clock = clock
        self.scheduler = build_scheduler(redis_job_store(client))
        self.scheduler.start(paused=True)  # jobs are stored, never run by the scheduler itself
        self.ctx = ReminderContext(ReminderConfig.from_settings(settings), settings, Store(client),
                                   Renderer(settings.templates_dir), Guide.load(settings.guide_file),
                                   scheduler=self.scheduler, clock=clock)
        install(self.ctx)
        self.consumer = EventConsumer(client, Planner(self.ctx), "test-worker")
        self.consumer.ensure_group()

    def pump(self) -> int:
        return self.consumer.poll(block_ms=None)

    def jobs(self) -> dict[str, dict]:
        return {job.id: job.args[3] for job in self.scheduler.get_jobs()}

    def run_due(self) -> int:
        """Fire every job due at the fake time, as the scheduler would (stages may chain)."""
        ran = 0
        for _ in range(20):
            due = [job for job in self.scheduler.get_jobs() if job.args[3]["due"] <= self.clock()]
            if not due:
                break
            for job in due:
                fire(*job.args)
                ran += 1
        return ran

    def outbox(self) -> list[OutboxMessage]:
        """Reminders and notices queued so far (not the pipeline's own continuation messages)."""
        messages = [OutboxMessage.from_json(raw) for raw in reversed(self.client.lrange(OUTBOX_QUEUE, 0, -1))]
        return [m for m in messages if m.meta.get("kind", "").startswith(("reminder_", "notice_"))]

    def take_outbox(self) -> list[OutboxMessage]:
        messages = self.outbox()
        self.client.delete(OUTBOX_QUEUE)
        return messages

    def close(self) -> None:
        self.scheduler.shutdown(wait=False)
        install(None)
