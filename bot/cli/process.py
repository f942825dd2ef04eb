"""What the long-running processes' ``main`` functions share (``worker``, ``ocr``, ``connect``).

Settings are read once, a configuration error is one line on stderr (the caller exits with 2, as
``check`` does), logging is configured from them before anything else logs; SIGTERM and SIGINT ask the
process to stop, so a deploy or Ctrl-C ends it cleanly rather than mid-write.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from bot.config import ConfigError, Settings, load_settings
from bot.infra.logs import configure as configure_logging


def settings_or_report() -> Settings | None:
    """The settings with logging configured by them, or None once the configuration error is printed."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return None
    configure_logging(settings.log_level)  # every process alike: no access_token in urllib3's URLs, safe text
    return settings


def stop_on_signals(*stops: Callable[[], None]) -> None:
    """SIGTERM and SIGINT call each of ``stops``."""

    def stop(_signum, _frame) -> None:
        for each in stops:
            each()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
