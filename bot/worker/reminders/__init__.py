"""Reminders: turn domain events into scheduled jobs, and run those jobs (certification, idle, notices).

Planning (``planning.Planner``) happens in the leading worker as it consumes ``{wb}:events``; each
user has at most one job per kind, with a deterministic id (``cert:<user_key>``,
``idle:<user_key>``) that a newer plan replaces. A job carries a *token*: what was true when it was
planned (the certification ``since``/attempt, the step and time of the last activity). When it
fires (``jobs.fire``) it re-reads progress and does nothing when the token no longer matches (the
user answered, reset, moved on, muted).

A job is run at least once (see ``bot.worker.scheduler.RetryingDateTrigger``), so running it is
idempotent: its messages get ids derived from job id + token, are queued in one MULTI together with
a "done" marker (WATCHed, ``messages.queue_once``), and the sender drops a message id it has
already delivered.

Where a change goes: when a stage is due and what it sends (follow-ups, quiet hours, escalation) —
``stages``; wording — the ``reminder_*`` / ``notice_*`` templates; settings — ``config``.
"""
