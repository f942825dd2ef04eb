"""Logging for every process: one format, and no third-party logger that could print a secret."""

from __future__ import annotations

import logging
import re

# Line breaks, other control characters and bidi overrides inside a message: a userid with CR/LF
# would otherwise start a forged log line. Tracebacks keep their own line breaks. Lone surrogates too:
# a stream cannot encode them, and logging would print a "Logging error" traceback instead of the line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    return _UNSAFE.sub(lambda m: _NAMED.get(m.group()) or f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                       else f"\\u{ord(m.group()):04x}", text)


class SafeFormatter(logging.Formatter):
    """A formatter whose message part is one line, whatever the arguments held."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure(level: str | None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=(level or "INFO").upper(), handlers=[handler])
    logging.getLogger("jieba").setLevel(logging.WARNING)
    # urllib3 logs request URLs at DEBUG, and WeCom's carry secrets (gettoken?corpsecret=, webhook ?key=)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
