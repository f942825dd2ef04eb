"""The worker side: one elected process runs the reminders and drains the outbox.

- ``process``: ``python -m bot worker`` — election loop, and what the leader starts;
- ``leader``: the leader lock and its heartbeat (also elects the long-connection holder);
- ``scheduler``: APScheduler plumbing (Redis job store, retrying trigger, a clean shutdown);
- ``events``: reads ``{wb}:events`` and hands each event to the reminders planner;
- ``reminders``: events → jobs (``planning``), running them (``jobs``), when each stage is due and
  what it says (``stages``), the messages (``messages``), settings (``config``).

Nothing is imported here: web processes import ``bot.worker.reminders`` (the settings, the first
check's time, job ids) without starting any of the worker.
"""
