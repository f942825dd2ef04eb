"""Operator sessions kept in Redis, so logging out (or an operator's removal) ends them at once.

The signed cookie alone cannot be revoked: a copy saved before logout would work until it expires.
The cookie therefore carries only a random session id; Redis holds the session under a hash of that
id (a Redis dump does not hand out live cookies), and logout deletes it.
"""

from __future__ import annotations

import hashlib
import secrets

import redis

from bot.core.keys import ADMIN_SESSION_PREFIX


def _key(session_id: str) -> str:
    return ADMIN_SESSION_PREFIX + hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class AdminSessions:
    def __init__(self, client: redis.Redis, ttl_seconds: float) -> None:
        self.redis = client
        self.ttl = max(int(ttl_seconds), 1)

    def create(self, operator: str) -> str:
        session_id = secrets.token_urlsafe(32)
        self.redis.set(_key(session_id), operator, ex=self.ttl)
        return session_id

    def valid(self, session_id: object) -> bool:
        return isinstance(session_id, str) and bool(session_id) and self.redis.exists(_key(session_id)) == 1

    def revoke(self, session_id: object) -> None:
        if isinstance(session_id, str) and session_id:
            self.redis.delete(_key(session_id))
