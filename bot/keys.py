"""Redis key components, escaped so that no two different tuples of them can make the same key.

A user id such as ``A}:aibot:mA:{Z`` must not reach into the key of another user's message: every
variable component goes through :func:`key_part`, which percent-escapes the characters our key
layouts use as structure (``:`` between parts, ``{}`` around the hash tag) and ``%`` itself.
Ordinary WeCom ids contain none of them, so their keys read (and stay) exactly as before.
"""

from __future__ import annotations

import re

_STRUCTURAL = re.compile(r"[%:{}\x00-\x20\x7f]")


def key_part(value: object) -> str:
    """One component, reversible and free of ``:``, ``{``, ``}``, spaces and control characters."""
    return _STRUCTURAL.sub(lambda m: f"%{ord(m.group()):02X}", str(value))


def key_parts(*values: object) -> str:
    """Components joined by ``:``, each escaped: distinct tuples give distinct strings."""
    return ":".join(key_part(v) for v in values)
