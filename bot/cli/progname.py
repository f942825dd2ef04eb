"""The name the user typed to run the bot (``weda-bot`` or ``python -m bot``), for usage lines and help."""

from __future__ import annotations

import sys
from pathlib import Path


def program(command: str = "") -> str:
    """``weda-bot serve`` when started as the installed script, ``python -m bot serve`` otherwise."""
    started_as = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    name = started_as if started_as and started_as not in ("__main__.py", "-c", "-m") else "python -m bot"
    return f"{name} {command}".strip()
