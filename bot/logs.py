"""Logging for every process: one format, and no third-party logger that could print a secret."""

from __future__ import annotations

import logging


def configure(level: str | None) -> None:
    logging.basicConfig(level=(level or "INFO").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    # urllib3 logs request URLs at DEBUG, and WeCom's carry secrets (gettoken?corpsecret=, webhook ?key=)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
