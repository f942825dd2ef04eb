"""Operator authentication primitives: token checks, session binding, CSRF tokens, login throttling.

Why these choices:
- one shared ADMIN_TOKEN (support staff are few; an SSO is out of scope), always compared with
  ``hmac.compare_digest`` on bytes so timing says nothing about how much of a guess was right;
- the signed session cookie carries an HMAC *fingerprint* of the token, not the token: rotating
  ADMIN_TOKEN logs every browser out, and a leaked cookie never reveals the token;
- one random CSRF token per session, sent back in a hidden field of every form and compared in
  constant time (synchronizer-token pattern); bearer-token API calls are GET-only and need none;
- failed logins and wrong bearer tokens are counted together per client address in Redis, so
  guessing is slow across workers and across both ways in (429 once the limit is reached).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import redis

from bot.core.keys import LOGIN_FAILURES_PREFIX

LOGIN_WINDOW = 900  # seconds
LOGIN_MAX_FAILURES = 10


def token_matches(configured: str | None, presented: str | None) -> bool:
    """Constant-time comparison; no configured token never matches (admin disabled)."""
    if not configured or not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), configured.encode("utf-8"))


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def fingerprint(secret_key: str, token: str) -> str:
    """What the session stores to prove a login: bound to both the signing key and the token."""
    return hmac.new(secret_key.encode("utf-8"), b"weda-admin-session|" + token.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def fingerprint_matches(secret_key: str, token: str | None, stored: object) -> bool:
    if not token or not isinstance(stored, str):
        return False
    return hmac.compare_digest(stored.encode("utf-8"), fingerprint(secret_key, token).encode("utf-8"))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: object, presented: object) -> bool:
    if not isinstance(expected, str) or not isinstance(presented, str) or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def safe_next(target: str | None, default: str) -> str:
    """Only same-site admin paths after login: never an open redirect, never a header split (CR/LF)."""
    if (target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and " " not in target and len(target) <= 2000):
        return target
    return default


class LoginThrottle:
    """Counts failed logins per client address in Redis (shared by every worker)."""

    def __init__(self, client: redis.Redis, max_failures: int = LOGIN_MAX_FAILURES,
                 window: int = LOGIN_WINDOW) -> None:
        self.redis = client
        self.max_failures = max_failures
        self.window = window

    def blocked(self, address: str) -> bool:
        raw = self.redis.get(LOGIN_FAILURES_PREFIX + address)
        return raw is not None and int(raw) >= self.max_failures

    def failed(self, address: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(LOGIN_FAILURES_PREFIX + address, 0, ex=self.window, nx=True)  # the window starts at the first failure
        pipe.incr(LOGIN_FAILURES_PREFIX + address)
        pipe.execute()

    def succeeded(self, address: str) -> None:
        self.redis.delete(LOGIN_FAILURES_PREFIX + address)
