"""A second floor for bench/callback_vs_floor.py: the shared floor plus the least state a bot needs.

Per message it adds what any stateful bot must do with Redis through redis-py: one round trip to
read the user's state and one MULTI to write it back with an event. The gap between this floor and
the bare one is the price of keeping state in Redis at all; the gap between it and the bot is ours.
"""

import json
import os
import sys
from pathlib import Path

import redis
from flask import request
from wechatpy.replies import TextReply
from wechatpy.work import parse_message

sys.path.insert(0, os.environ.get("PERF_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "perf")))
from floor_app import app, crypto  # the shared floor, reused as is

store = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/10"), decode_responses=True)


def stateful_callback(_any):
    a = request.args
    xml = crypto.decrypt_message(request.data, a["msg_signature"], a["timestamp"], a["nonce"])
    msg = parse_message(xml)
    state = json.loads(store.get(f"floor:user:{msg.source}") or "{}")
    state["n"] = state.get("n", 0) + 1
    pipe = store.pipeline(transaction=True)
    pipe.set(f"floor:user:{msg.source}", json.dumps(state))
    pipe.xadd("floor:events", {"event": msg.id}, maxlen=100000, approximate=True)
    pipe.execute()
    reply = TextReply(content="echo: " + (getattr(msg, "content", "") or ""), message=msg)
    return crypto.encrypt_message(reply.render(), a["nonce"], a["timestamp"])


app.view_functions["callback"] = stateful_callback
