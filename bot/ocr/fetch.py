"""Fetch the bytes of a pasted picture from WeCom, within a byte cap and a timeout.

- The app callback's image: ``media/get?media_id=`` with the app's access token (WeCom keeps it 3 days).
- The AI bot's image (callback, mixed message, long connection): a download URL valid for 5 minutes;
  the file is AES-256-CBC encrypted (IV = the key's first 16 bytes, PKCS#7 to 32 bytes) with the
  message's own ``aeskey`` (long connection) or else the bot's EncodingAESKey (JSON callback) —
  the scheme of the official SDK's ``decrypt_file``.

The bytes live in memory only while the image is read: nothing is written to disk or Redis.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.kf.protocol import TRANSPORT as KF
from bot.channels.wecom.api import WeComAPI, WeComError, origin
from bot.ocr.images import BadImage

CHUNK = 64 * 1024


@dataclass(frozen=True)
class ImageRef:
    """Where a picture is: ``media_id`` (app; 微信客服 with ``via`` "kf") or ``url`` (+ ``aeskey``) (AI bot)."""

    media_id: str = ""
    url: str = ""
    aeskey: str = ""
    via: str = ""  # whose token fetches the media_id: "" the app's, KF 微信客服's (its own secret)

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in (("media_id", self.media_id), ("url", self.url), ("aeskey", self.aeskey),
                                  ("via", self.via)) if v}

    @classmethod
    def from_json(cls, data: object) -> ImageRef | None:
        if not isinstance(data, dict):
            return None
        ref = cls(**{k: str(data[k]) for k in ("media_id", "url", "aeskey", "via") if isinstance(data.get(k), str)})
        return ref if ref.media_id or ref.url else None


class Fetcher:
    def __init__(self, api: WeComAPI, *, max_bytes: int, timeout: float, bot_aes_key: str | None,
                 kf_api: WeComAPI | None = None) -> None:
        self.api = api
        self.kf_api = kf_api  # 微信客服's media is fetched with the kf secret's token
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.bot_aes_key = bot_aes_key
        self.origins = api.response_url_origins  # plain http only there (the local fakes); https anywhere

    def fetch(self, ref: ImageRef) -> bytes:
        """The image's bytes; BadImage("unavailable"/"too_big"/"undecryptable") when they cannot be had."""
        if ref.media_id:
            api = self.kf_api if ref.via == KF else self.api
            if api is None:
                raise BadImage("unavailable", "a 微信客服 image, and 微信客服 is not configured")
            return self._media(api, ref.media_id)
        if not ref.url.startswith("https://") and origin(ref.url) not in self.origins:
            raise BadImage("unavailable", "download URL outside WeCom's origins")
        data = self._download(ref.url, {})
        key = ref.aeskey or self.bot_aes_key
        return decrypt(data, key) if key else data

    def _media(self, api: WeComAPI, media_id: str) -> bytes:
        try:
            token = api.access_token()
        except (WeComError, OSError) as exc:
            raise BadImage("unavailable", f"no access token: {exc}") from None
        return self._download(f"{api.base}media/get", {"access_token": token, "media_id": media_id})

    def _download(self, url: str, params: dict[str, str]) -> bytes:
        try:
            with self.api.session.get(url, params=params, timeout=self.timeout, stream=True) as response:
                if response.status_code != 200:
                    raise BadImage("unavailable", f"HTTP {response.status_code}")
                if response.headers.get("Content-Type", "").startswith(("application/json", "text/")):
                    raise BadImage("unavailable", "WeCom answered with an error instead of the file")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes + 32:
                    raise BadImage("too_big", f"{declared} bytes")
                chunks, size = [], 0
                for chunk in response.iter_content(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes + 32:  # + the encryption's padding
                        raise BadImage("too_big", f"more than {self.max_bytes} bytes")
                    chunks.append(chunk)
        except requests.RequestException as exc:
            raise BadImage("unavailable", type(exc).__name__) from None
        return b"".join(chunks)


def decrypt(data: bytes, aes_key: str) -> bytes:
    """AES-256-CBC with IV = key[:16] and PKCS#7 padding of up to 32 bytes (WeCom's file encryption)."""
    try:
        key = base64.b64decode(aes_key + "=" * (-len(aes_key) % 4))
    except (binascii.Error, ValueError):
        raise BadImage("undecryptable", "the key is not base64") from None
    if len(key) != 32 or not data or len(data) % 16:
        raise BadImage("undecryptable", "not an encrypted file of this key")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        raise BadImage("undecryptable", "bad padding")
    return plain[:-pad]


def encrypt(data: bytes, aes_key: str) -> bytes:
    """The inverse of :func:`decrypt` (the fake WeCom and the tests)."""
    key = base64.b64decode(aes_key + "=" * (-len(aes_key) % 4))
    pad = 32 - len(data) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()
