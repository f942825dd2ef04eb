"""The WeCom callback crypto envelope, shared by the app (XML) and AI-bot (JSON) callbacks.

wechatpy does the cipher; this module adds what it leaves out: a constant-time signature check,
a timestamp freshness window, and one exception type for every way a callback can be bad, so the
transport answers 4xx and never 500 (wechatpy raises a zoo of exceptions on bad input).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wechatpy.crypto import _get_signature
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.work.crypto import PrpCrypto
from wechatpy.work.exceptions import InvalidCorpIdException

from bot.config import CallbackCredentials

# ASCII digits only: str.isdigit() also accepts "²" or "١٢٣", which int() then refuses.
_TIMESTAMP = re.compile(r"[0-9]{1,16}")


class CallbackRejected(Exception):
    """A callback we refuse; ``status`` is the HTTP status, ``reason`` a one-line log message."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class SignedQuery:
    """The query parameters WeCom puts on every callback."""

    signature: str
    timestamp: str
    nonce: str

    @classmethod
    def from_args(cls, args: dict[str, str] | object) -> SignedQuery:
        get = args.get  # type: ignore[attr-defined]
        values = {name: get(name) for name in ("msg_signature", "timestamp", "nonce")}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise CallbackRejected(f"missing query parameter(s): {', '.join(missing)}")
        if len(values["msg_signature"]) > 64 or len(values["nonce"]) > 64 or len(values["timestamp"]) > 16:
            raise CallbackRejected("query parameter too long")
        if not _TIMESTAMP.fullmatch(values["timestamp"]):
            raise CallbackRejected("timestamp is not a number")
        return cls(values["msg_signature"], values["timestamp"], values["nonce"])


_CIPHER_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    struct.error,
    UnicodeDecodeError,
    binascii.Error,
    InvalidCorpIdException,
)


class Envelope:
    """Verify, decrypt and encrypt for one callback surface (one token + key + receive id)."""

    def __init__(
        self,
        credentials: CallbackCredentials,
        *,
        max_age: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = credentials.token
        self.receive_id = credentials.receive_id
        self.key = base64.b64decode(credentials.encoding_aes_key + "=")
        self.max_age = max_age
        self.clock = clock

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return _get_signature(self.token, timestamp, nonce, encrypted)

    def _check(self, query: SignedQuery, encrypted: str) -> None:
        if not _TIMESTAMP.fullmatch(query.timestamp):
            raise CallbackRejected("timestamp is not a number")
        expected = self.signature(query.timestamp, query.nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), query.signature.encode()):
            raise CallbackRejected("bad signature", 403)
        if self.max_age > 0 and abs(self.clock() - int(query.timestamp)) > self.max_age:
            raise CallbackRejected("stale timestamp (outside the freshness window)", 403)

    def decrypt(self, query: SignedQuery, encrypted: str) -> str:
        """Check signature and freshness, then decrypt; the plaintext's receive id must be ours."""
        if not encrypted or not isinstance(encrypted, str):
            raise CallbackRejected("no encrypted payload")
        self._check(query, encrypted)
        try:
            plain = PrpCrypto(self.key).decrypt(encrypted, self.receive_id)
        except InvalidCorpIdException as exc:
            raise CallbackRejected("receive id (CorpID) does not match", 403) from exc
        except (*_CIPHER_ERRORS, InvalidSignatureException) as exc:
            raise CallbackRejected(f"cannot decrypt payload ({type(exc).__name__})") from exc
        return plain if isinstance(plain, str) else plain.decode("utf-8")

    def verify_url(self, args: Mapping[str, str]) -> str:
        """URL verification (GET with ``echostr``): WeCom wants the decrypted echostr back, nothing else."""
        query = SignedQuery.from_args(args)
        echostr = args.get("echostr")
        if not echostr:
            raise CallbackRejected("missing query parameter: echostr")
        return self.decrypt(query, echostr)

    def encrypt(self, plaintext: str, nonce: str, timestamp: str | None = None) -> tuple[str, str, str]:
        """Encrypt a reply; returns (encrypted, signature, timestamp)."""
        timestamp = timestamp or str(int(self.clock()))
        encrypted = PrpCrypto(self.key).encrypt(plaintext, self.receive_id)
        encrypted = encrypted if isinstance(encrypted, str) else encrypted.decode()
        return encrypted, self.signature(timestamp, nonce, encrypted), timestamp
