"""Not code to edit: the module name pickled jobs stored before ``bot.worker`` existed refer to.

Jobs in the Redis job store are pickles, and a pickle names its trigger's class by module
(``bot.scheduler.RetryingDateTrigger``). New jobs name ``bot.worker.scheduler``; this module can go
once no stored job names it (see ``bot.reminders``). The scheduler plumbing: ``bot.worker.scheduler``.
"""

from bot.worker.scheduler import RetryingDateTrigger

__all__ = ["RetryingDateTrigger"]
