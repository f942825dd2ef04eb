"""The WeCom callback crypto envelope, shared by the app (XML) and AI-bot (JSON) callbacks.

wechatpy does the cipher; this module adds what it leaves out: a constant-time signature check,
a timestamp freshness window, and one exception type for every way a callback can be bad, so the
transport answers 4xx and never 500 (wechatpy raises a zoo of exceptions on bad input).

Only wechatpy's public names are used (``wechatpy.utils.WeChatSigner``, ``wechatpy.work.crypto.PrpCrypto``
and the exception classes), since 2.0.0a26 is a pinned pre-release whose private helpers may go without
notice. The signature is WeCom's ``msg_signature``: SHA-1 of token, timestamp, nonce and the encrypted
payload, sorted and joined. wechatpy has no public function for it: its ``_get_signature`` is private,
``utils.check_signature`` leaves the payload out, and ``WeChatCrypto.check_signature`` compares with
``!=`` (the time taken would say how much of a forged signature was right). So we sign with the public
``WeChatSigner`` (what ``_get_signature`` does inside) and compare with ``hmac.compare_digest``.
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

from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner
from wechatpy.work.crypto import PrpCrypto
from wechatpy.work.exceptions import InvalidCorpIdException

from bot.config import CallbackCredentials

# ASCII digits only: str.isdigit() also accepts "²" or "١٢٣", which int() then refuses.
_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_NONCE = re.compile(r"[A-Za-z0-9]{1,64}")


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
    def from_args(cls, args: Mapping[str, str]) -> SignedQuery:
        names = ("msg_signature", "timestamp", "nonce")
        signature, timestamp, nonce = (args.get(name) or "" for name in names)
        missing = [name for name, value in zip(names, (signature, timestamp, nonce), strict=True) if not value]
        if missing:
            raise CallbackRejected(f"missing query parameter(s): {', '.join(missing)}")
        if len(signature) > 64 or len(nonce) > 64 or len(timestamp) > 16:
            raise CallbackRejected("query parameter too long")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise CallbackRejected("timestamp is not a number")
        if not _NONCE.fullmatch(nonce):  # WeCom's are digits and letters; the reply repeats it
            raise CallbackRejected("nonce is not letters and digits")
        return cls(signature, timestamp, nonce)


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
        """WeCom's msg_signature (see the module docstring for why not wechatpy's private helper)."""
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce, encrypted)
        return str(signer.signature)

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
