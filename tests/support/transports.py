"""The two signed callbacks side by side, for tests that check the same thing on each: the self-built
app (XML at /wecom/callback) and the AI bot (JSON at /wecom/aibot). What differs between them is said
here once; a test parametrised over ``TRANSPORTS`` runs its body on each."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import CallbackCredentials, Settings
from bot.demo.simulate_aibot import AibotSimulator
from bot.demo.simulate_app import AppSimulator

Simulator = AppSimulator | AibotSimulator


@dataclass(frozen=True, repr=False)
class Transport:
    name: str
    path: str
    sim_fixture: str  # the conftest fixture that signs callbacks for it
    simulator: Callable[..., Simulator]  # (credentials, clock=...): a signer with other credentials or clock
    credentials: Callable[[Settings], CallbackCredentials]
    envelope_body: Callable[[str], str]  # the POST body carrying an Encrypt value
    encrypted_of: Callable[[bytes], str]  # the Encrypt value of a signed body
    huge_body: bytes  # ten megabytes in the transport's own syntax

    def __repr__(self) -> str:
        return f"Transport({self.name})"  # not ten megabytes of body in a failure message


def _app_encrypted(body: bytes) -> str:
    found = re.search(rb"<Encrypt><!\[CDATA\[(.*?)\]\]>", body)
    assert found, body
    return found.group(1).decode()


APP = Transport("app", "/wecom/callback", "app_sim", AppSimulator, lambda s: s.app,
                lambda encrypted: f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>",
                _app_encrypted, b"<xml>" + b"a" * 10_000_000)
AIBOT = Transport("aibot", "/wecom/aibot", "aibot_sim", AibotSimulator, lambda s: s.aibot,
                  lambda encrypted: json.dumps({"encrypt": encrypted}),
                  lambda body: json.loads(body)["encrypt"], b'{"encrypt": "' + b"a" * 10_000_000 + b'"}')
TRANSPORTS = (APP, AIBOT)


def transport_id(value: object) -> str | None:
    """pytest ids: a transport by its name, anything else as pytest would name it."""
    return value.name if isinstance(value, Transport) else None
