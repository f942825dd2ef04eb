"""``python -m bot chat --kf``: talk to the bot as a 微信客服 customer, through the demo's fake 微信客服.

The fake (started by ``python -m bot serve`` in demo mode, port DEMO_KF_PORT) plays WeCom: each line you
type becomes the customer's message in its log and a signed ``kf_msg_or_event`` callback to the bot; the
bot pulls it with ``kf/sync_msg`` and answers with ``kf/send_msg``, which the fake records and this
prints — replies, welcomes and what the bot sends on its own (follow-ups, as ``[push]``). A menu reply
shows its items as ``[id] label``; type ``/click ID`` to press one, ``/end`` to have the receptionist
end the session (state 4), ``/enter`` to open the kf link again (enter_session).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, TextIO

import requests

DEFAULT_URL = "http://127.0.0.1:8766"


def chat(url: str, user: str, lines: Iterable[str], out: TextIO, *, echo: bool, reply_timeout: float = 15.0,
         linger: float = 0.0) -> int:
    """Send each line and print what the bot sent back; returns the number of lines nobody answered."""
    base = url.rstrip("/") + "/demo/"
    session = requests.Session()
    try:
        seen = _sent(session, base, user, 0)["total"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        out.write(f"no fake 微信客服 at {url} ({type(exc).__name__}): start `python -m bot serve` without WeCom "
                  "credentials (demo mode) first\n")
        return 1
    missing = 0
    for line in lines:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        if echo:
            out.write(f"you> {text}\n")
        action, body = _action(text, user)
        state_before = _sent(session, base, user, seen)["state"]
        try:
            response = session.post(base + action, json=body, timeout=60).json()
        except (requests.RequestException, ValueError) as exc:
            response = {"callback": type(exc).__name__}
        if response.get("callback") != 200:
            out.write(f"(the bot did not take the callback: HTTP {response.get('callback')} — is "
                      "`python -m bot serve` running in demo mode?)\n\n")
            missing += 1
            continue
        got, seen, state = _wait(session, base, user, seen, reply_timeout)
        for sent in got:
            _show(out, sent)
        if not got and action == "say":
            if state in (2, 3) or state_before in (2, 3):
                out.write("(a person has the session: the bot stays silent)\n\n")
            else:
                missing += 1
                out.write(f"(no reply within {reply_timeout:.0f} s)\n\n")
        out.flush()
    deadline = time.monotonic() + linger
    while time.monotonic() < deadline:
        got, seen, _state = _wait(session, base, user, seen, max(0.0, deadline - time.monotonic()))
        for sent in got:
            _show(out, sent, push=True)
    return missing


def _action(text: str, user: str) -> tuple[str, dict[str, Any]]:
    if text.startswith("/click "):
        item = text.split(None, 1)[1].strip()
        return "say", {"user": user, "text": item, "menu_id": item}
    if text.strip() == "/end":
        return "end", {"user": user}
    if text.strip() == "/enter":
        return "enter", {"user": user}
    return "say", {"user": user, "text": text}


def _sent(session: requests.Session, base: str, user: str, after: int) -> dict[str, Any]:
    params: dict[str, str] = {"user": user, "after": str(after)}
    return session.get(base + "sent", params=params, timeout=10).json()


def _wait(session: requests.Session, base: str, user: str, seen: int, timeout: float):
    """New sends to ``user``: waits up to ``timeout`` for the first, then briefly for any that follow."""
    deadline = time.monotonic() + timeout
    got: list[dict[str, Any]] = []
    state = None
    while time.monotonic() < deadline:
        data = _sent(session, base, user, seen)
        state = data.get("state")
        if data["sent"]:
            got += data["sent"]
            seen = data["total"]
            deadline = min(deadline, time.monotonic() + 0.3)
        time.sleep(0.05)
    return got, seen, state


def _show(out: TextIO, sent: dict[str, Any], push: bool = False) -> None:
    label = "[welcome] " if sent.get("path") == "kf/send_msg_on_event" else ("[push] " if push else "")
    out.write(f"{label}{sent.get('text', '')}\n")
    for item in sent.get("menu") or []:
        out.write(f"  [{item.get('id')}] {item.get('content')}\n")
    out.write("\n")
