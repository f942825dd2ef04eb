"""Not code to edit: the name reminder jobs stored before ``bot.worker`` existed refer to.

APScheduler keeps a job's function as a textual reference (``bot.reminders:fire``) in the Redis job
store; a job whose reference no longer resolves is dropped when loaded. New jobs name
``bot.worker.reminders.jobs:fire`` and an old one moves to it at its next stage, so this module can
go once no stored job names it (after one deploy, the longest wait is the last IDLE_NUDGES delay
plus REMINDER_GRACE). The reminders themselves: ``bot.worker.reminders``.
"""

from bot.worker.reminders.jobs import fire

__all__ = ["fire"]
