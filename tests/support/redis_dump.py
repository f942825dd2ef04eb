"""What the test Redis holds, read back whole, for tests that look for text that must not be stored."""

from __future__ import annotations


def everything_in_redis(redis_client) -> str:
    """Every value of every key, as one text: a secret found nowhere in it was not stored in clear."""
    dump = []
    for key in redis_client.scan_iter("*"):
        kind = redis_client.type(key)
        if kind == "string":
            dump.append(redis_client.get(key))
        elif kind == "list":
            dump.extend(redis_client.lrange(key, 0, -1))
        elif kind == "hash":
            dump.extend(redis_client.hgetall(key).values())
        elif kind == "zset":
            dump.extend(redis_client.zrange(key, 0, -1))
        elif kind == "stream":
            dump.extend(str(fields) for _id, fields in redis_client.xrange(key))
    return "\n".join(dump)
